/**
 * sriov-tx with path=bridge (./sriov.ts): the same VM-to-VM traffic as the hairpin (VM i sends to
 * VM i+1's MAC), but each VM is a virtio-net VM served by vhost-net and the frames go through the
 * host's Linux bridge instead of the NIC's embedded switch. Nothing reaches the NIC: no wire, no
 * PCIe; the host's CPUs move every byte, twice. Per frame:
 *   - VM i's vCPU: guest stack + virtio-net start_xmit (guestXmitPerPacket + guestVirtioAdd); a
 *     kick — an ioeventfd write on KVM's fast-MMIO bus (EPT_MISCONFIG exit handled in the kernel,
 *     eventfd signal) — only when VM i's vhost worker is idle (it suppresses notifications while
 *     it works: VRING_USED_F_NO_NOTIFY);
 *   - vhost-i (VM i's vhost worker): handle_tx — vhost_get_vq_desc, tun_sendmsg, the copy out of
 *     guest memory into an skb (copyCost), vhost_add_used; the Linux bridge forwards the skb to
 *     VM i+1's tap in the same thread (host-kernel, bridgeForward) and wakes vhost-(i+1) if idle;
 *   - vhost-(i+1): handle_rx — tun_recvmsg, the copy into VM i+1's RX buffer, used ring, and an
 *     irqfd signal when VM i+1 has callbacks enabled (it is not polling);
 *   - VM i+1's vCPU: woken by the irqfd (KVM wakes the halted vCPU and injects: with APICv a
 *     running vCPU would take it posted, but a vCPU that enabled callbacks has gone idle), NAPI.
 * One vhost worker per VM serves both its TX and RX queue (vhost-net: one worker per device), so
 * throughput emerges from the busiest serial thread: a vhost worker or a vCPU ("VM i pCPU").
 * The cost model is sriov-rx's vhost-net mode's (lean: counted, not emulated rings).
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import { ENGINE_VERSION } from '../version.ts';
import { newHostEnv, RunControl } from './run-common.ts';
import { ms, type Ns } from '../sim/time.ts';
import type { RunResult } from '../sim/types.ts';
import type { HostEnv, Meter } from '../hv/host.ts';
import { Veb } from '../hw/sriov-nic/switch.ts';
import { PvGuest } from './sriov-vm.ts';
import { BatchWorker } from './sriov-workers.ts';
import type { SriovConfig, SriovHost } from './sriov.ts';
import { MODEL_82599, MODEL_XL710 } from '../hw/sriov-nic/models.ts';

/** Frames the guest's start_xmit queues before it looks at its other work again. */
const BATCH = 64;

interface Item {
  rx: boolean;
  bytes: number;
}

/** A virtio-net VM that both sends (to the next VM) and receives (from the previous one). */
class BridgeGuest extends PvGuest {
  toSend = 0;
  /** TX chains in the avail ring not yet reclaimed (used or not). */
  inFlight = 0;
  /** TX chains the worker marked used, not yet reclaimed by the guest. */
  used = 0;
  txBytes = 0;
  worker!: BatchWorker<Item>;

  get txBlocked(): boolean {
    return this.toSend > 0 && this.inFlight >= this.ringSize;
  }

  get hasWork(): boolean {
    return this.pending > 0 || this.used > 0 || (this.toSend > 0 && this.inFlight < this.ringSize);
  }

  /** Callbacks enabled (not polling) and something to do: RX frames, or TX room while blocked. */
  override get wantsInterrupt(): boolean {
    return !this.polling && (this.pending > 0 || (this.used > 0 && this.toSend > 0));
  }

  /** The application starts sending at `t` (the vCPU is woken as by its own timer). */
  start(t: Ns): void {
    this.polling = true;
    this.cpu.submit(t, (m) => {
      this.wake(m);
      this.#loop(m);
    });
  }

  override interrupt(t: Ns): void {
    if (this.polling) return;
    this.polling = true;
    this.cpu.submit(t, (m) => {
      if (this.halted) this.wake(m);
      m.charge('kvm', COSTS.injectInterrupt.ns, 'inject', () => `KVM: inject virtio-net interrupt into VM ${this.index}`);
      this.env.metrics.count(m.t, 'interruptsInjected');
      this.env.metrics.count(m.t, 'irqDeliveryNs', m.t - t);
      m.charge('guest', COSTS.guestIsr.ns, 'isr', () => `VM ${this.index}: virtio-net interrupt`);
      this.#loop(m);
    });
  }

  #loop(m: Meter): void {
    if (this.pending > 0) this.poll(m, this.frameBytes, COSTS.guestVirtioAdd.ns);
    if (this.used > 0) {
      m.charge('guest', COSTS.guestTxCleanPerDesc.ns * this.used, 'tx-clean', () => `VM ${this.index}: free ${this.used} sent skb(s)`);
      this.inFlight -= this.used;
      this.used = 0;
    }
    const n = Math.min(this.toSend, this.ringSize - this.inFlight, BATCH);
    if (n > 0) {
      for (let i = 0; i < n; i++) m.charge('guest', COSTS.guestXmitPerPacket.ns + COSTS.guestVirtioAdd.ns, 'xmit', 'guest stack + virtio-net start_xmit');
      this.toSend -= n;
      this.inFlight += n;
      const w = this.worker;
      if (!w.running) {
        // The kick: a write to the notify BAR that KVM matches to an ioeventfd (fast MMIO, no decode, no exit to QEMU).
        this.env.metrics.exit(m.t, 'EPT_MISCONFIG', false);
        m.charge('kvm', COSTS.exitHardware.ns + COSTS.exitKvmHandler.ns, 'exit', () => `VM ${this.index}: TX kick (ioeventfd, fast MMIO)`);
        m.charge('kvm', COSTS.eventfdSignal.ns, 'eventfd', () => `signal vhost-${this.index}'s kick eventfd`);
        this.env.metrics.count(m.t, 'kicks');
      }
      for (let i = 0; i < n; i++) w.push(m.t, { rx: false, bytes: this.txBytes });
    }
    this.cpu.submit(m.t, (m2) => {
      if (this.hasWork) return this.#loop(m2);
      this.polling = false;
      this.halt(m2);
      if (this.wantsInterrupt) this.interrupt(m2.t);
    });
  }
}

export function runSriovBridge(cfg: SriovConfig): { result: RunResult; host: SriovHost } {
  const env: HostEnv = newHostEnv(cfg.seed, cfg.traceLimit);
  const run = new RunControl(env);
  const model = cfg.nic === 'xl710' ? MODEL_XL710 : MODEL_82599;
  // The NIC is there (its port and PCIe link are resources) but nothing in this path uses it.
  const veb = new Veb(env, { portGbps: cfg.wireGbps, pcieGBps: model.pcieGBps });
  const frameLen = Math.min(1514, Math.max(60, cfg.size - 4));
  const n = cfg.vms;
  const guests = Array.from({ length: n }, (_, i) => new BridgeGuest(env, i, cfg.ringSize));
  let received = 0;
  let drops = 0;
  const done = (): boolean => received + drops >= cfg.packets;
  const dropped = (): void => {
    drops++;
    if (done()) run.finish();
  };
  for (const g of guests) {
    g.onReceived = (bytes, t) => {
      env.metrics.delivered(t, bytes + 4, 'rx');
      received++;
      if (done()) run.finish();
    };
  }
  for (const g of guests) {
    const peer = (): BridgeGuest => guests[(g.index + 1) % n]!;
    g.worker = new BatchWorker<Item>(env, `vhost-${g.index}`, COSTS.kthreadWakeLatency.ns, () => {},
      (m, it) => {
        if (!it.rx) {
          // handle_tx: the frame leaves VM i's memory as an skb, the bridge sends it to VM i+1's tap.
          m.charge('vhost', COSTS.vhostGetDesc.ns + COSTS.vhostPerDescriptor.ns + COSTS.vhostTunMsg.ns + copyCost(it.bytes) + COSTS.vhostAddUsed.ns, 'vhost-tx',
            () => `vhost-${g.index}: tun_sendmsg, copy ${it.bytes} B out of VM ${g.index}`);
          env.metrics.count(m.t, 'bytesCopied', it.bytes);
          g.used++;
          const p = peer();
          m.charge('host-kernel', COSTS.bridgeForward.ns, 'bridge', () => `bridge: VM ${g.index}'s tap → VM ${p.index}'s tap`);
          if (!p.worker.running) m.charge('host-kernel', COSTS.eventfdSignal.ns, 'wake', () => `wake vhost-${p.index}`);
          p.worker.push(m.t, { rx: true, bytes: it.bytes });
          return;
        }
        // handle_rx: tun_recvmsg and the copy into VM i's RX buffer.
        m.charge('vhost', COSTS.vhostTunMsg.ns + COSTS.vhostPerDescriptor.ns, 'vhost', () => `vhost-${g.index}: tun_recvmsg for VM ${g.index}`);
        m.charge('vhost', copyCost(it.bytes) + COSTS.vhostGetDesc.ns + COSTS.vhostAddUsed.ns, 'copy', () => `copy ${it.bytes} B into VM ${g.index}'s RX ring`);
        env.metrics.count(m.t, 'bytesCopied', it.bytes);
        if (!g.deliver(it.bytes, m.t)) dropped();
      },
      (m) => {
        if (!g.wantsInterrupt) return;
        m.charge('vhost', COSTS.eventfdSignal.ns, 'irqfd', () => `signal VM ${g.index}'s irqfd`);
        g.interrupt(m.t);
      });
  }

  env.metrics.beginWindow(0);
  for (const [i, g] of guests.entries()) {
    g.startTick(0, () => run.done);
    g.toSend = Math.floor(cfg.packets / n) + (i < cfg.packets % n ? 1 : 0);
    g.txBytes = frameLen;
    g.start(0);
  }

  const stop = env.sched.run({ until: cfg.untilNs ?? ms(2_000), maxEvents: cfg.maxEvents ?? 20_000_000 });
  const final = run.outcome(stop, () => `the VMs received ${received} of ${cfg.packets} frames through the bridge (${drops} dropped)`);
  const metrics = env.metrics.finish({
    engineVersion: ENGINE_VERSION, scenario: cfg.scenario, seed: cfg.seed,
    params: { packets: cfg.packets, size: cfg.size, vms: cfg.vms, mode: 'vhost-net', workload: 'tx', path: 'bridge', nic: cfg.nic, wireGbps: cfg.wireGbps, ringSize: cfg.ringSize },
    events: env.sched.events,
    stop: final,
  });
  const host: SriovHost = { env, platform: undefined, veb, guests, pagesTouched: guests.map(() => 0) };
  return { result: { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics }, host };
}
