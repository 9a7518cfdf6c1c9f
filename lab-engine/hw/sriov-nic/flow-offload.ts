/**
 * OVS hardware offload in the NIC's embedded switch (switchdev mode, as mlx5 and ice offer it
 * through TC flower): an exact-match flow table keyed on the frame's real bytes — destination
 * MAC, EtherType, IPv4 source and destination, protocol and L4 ports. A frame that hits a rule
 * goes straight to the rule's VF; a miss goes to the PF (the uplink representor) for the host's
 * OVS, which decides, installs a rule and re-injects the frame through the VF's representor.
 * Rules carry the time they take effect (the install's end), so frames of a flow that arrive
 * while its rule is being installed still miss.
 */
import type { Ns } from '../../sim/time.ts';

/** The exact-match key of a frame (untagged Ethernet II + IPv4), as a string. */
export function flowKey(f: Uint8Array): string {
  const b = (i: number): number => f[i] ?? 0;
  const ihl = (b(14) & 0x0f) * 4;
  const l4 = 14 + ihl;
  return [
    b(0), b(1), b(2), b(3), b(4), b(5), (b(12) << 8) | b(13),
    b(26), b(27), b(28), b(29), b(30), b(31), b(32), b(33), b(23),
    (b(l4) << 8) | b(l4 + 1), (b(l4 + 2) << 8) | b(l4 + 3),
  ].join('.');
}

export interface FlowRule {
  /** The VF (pool) the flow goes to. */
  vf: number;
  /** When the rule starts to match. */
  activeAt: Ns;
  hits: number;
}

export class FlowTable {
  readonly rules = new Map<string, FlowRule>();
  readonly capacity: number;
  readonly stats = { lookups: 0, hits: 0, misses: 0, installs: 0, full: 0 };

  constructor(capacity = 65536) {
    this.capacity = capacity;
  }

  /** The rule that matches `frame` at `t`, if any. */
  lookup(frame: Uint8Array, t: Ns): FlowRule | undefined {
    this.stats.lookups++;
    const r = this.rules.get(flowKey(frame));
    if (r && r.activeAt <= t) {
      this.stats.hits++;
      r.hits++;
      return r;
    }
    this.stats.misses++;
    return undefined;
  }

  /** Install an exact-match rule for `frame`'s flow to `vf`, effective at `at`. False when the table is full or the rule exists. */
  install(frame: Uint8Array, vf: number, at: Ns): boolean {
    const k = flowKey(frame);
    if (this.rules.has(k)) return false;
    if (this.rules.size >= this.capacity) {
      this.stats.full++;
      return false;
    }
    this.rules.set(k, { vf, activeAt: at, hits: 0 });
    this.stats.installs++;
    return true;
  }
}
