/**
 * What a seed of the sriov-pf lab decides (DESIGN.md §4: vary what matters): the NIC model
 * (82599-like at 10 GbE or XL710-like at 40 GbE: First VF Offset / Stride, TotalVFs, the driver's
 * limit), where the SR-IOV capability sits in the extended list (four layouts, a model variant
 * built from the model's own data — the engine's models are not edited), the PF's bus and devfn
 * (so VFs may spill onto the next bus), how many VFs are asked for, the tenants (count, MACs,
 * VLANs — some shared by two VMs of one customer —, rates), the frame sizes, the spoofing and
 * cross-VLAN attempts, and the benign and malicious mailbox requests.
 */
import { Rng } from '../../sim/rng.ts';
import { MODEL_82599, MODEL_XL710, type SriovNicModel } from '../../hw/sriov-nic/models.ts';
import type { ExtCapSpec, SriovCapSpec } from '../../hw/pci/ext-caps.ts';
import type { VfRequest } from '../../hw/sriov-nic/mailbox.ts';

export interface Tenant {
  vf: number;
  mac: string;
  vlan: number;
  rateGbps: number;
}

/** The four extended-capability layouts (offsets of AER, DSN, ARI, SR-IOV; list order by offset). */
export const LAYOUTS: readonly { aer: number; dsn: number; ari: number; sriov: number }[] = [
  { aer: 0x100, dsn: 0x140, ari: 0x150, sriov: 0x160 }, // the 82599's
  { aer: 0x100, ari: 0x148, sriov: 0x150, dsn: 0x190 },
  { aer: 0x100, sriov: 0x148, ari: 0x188, dsn: 0x190 },
  { aer: 0x100, dsn: 0x140, sriov: 0x180, ari: 0x1c0 },
];

/** `base` with its extended capabilities at layout `k` (SR-IOV registers unchanged). */
export function modelVariant(base: SriovNicModel, k: number): SriovNicModel {
  const l = LAYOUTS[k]!;
  const old = base.pf.extended ?? [];
  const dsn = old.find((c) => c.kind === 'dsn');
  const sriov: SriovCapSpec = { ...base.sriov, offset: l.sriov };
  const caps: ExtCapSpec[] = [
    { kind: 'aer', offset: l.aer },
    { kind: 'dsn', offset: l.dsn, serial: dsn && dsn.kind === 'dsn' ? dsn.serial : 1n },
    { kind: 'ari', offset: l.ari, nextFunction: 1 },
    sriov,
  ];
  caps.sort((a, b) => a.offset - b.offset);
  return { ...base, name: `${base.name} (layout ${k})`, sriov, pf: { ...base.pf, extended: caps } };
}

export interface MailboxPlan {
  vf: number;
  req: VfRequest;
  /** Whether a safe PF driver accepts it, and in words why (for messages). */
  benign: boolean;
  what: string;
}

export type FrameKind = 'out' | 'hairpin' | 'rx' | 'bcast' | 'spoof-src' | 'cross-vlan' | 'rx-untagged' | 'rx-wrong-vlan';

export interface FramePlan {
  kind: FrameKind;
  /** The sending tenant's VF, or 'wire'. */
  from: number | 'wire';
  dst: string;
  src: string;
  /** 802.1Q VID, or undefined (untagged). */
  vlan: number | undefined;
  bytes: number;
  /** Where it must arrive (VF indices, 'wire'), for benign frames. */
  to: (number | 'wire')[];
  what: string;
}

export interface SeedConfig {
  seed: number;
  model: SriovNicModel;
  layout: number;
  pfBus: number;
  pfDevfn: number;
  want: number;
  /** A second enable on a fresh PF of the same model asking for more than it can give. */
  wantOver: number;
  tenants: Tenant[];
  mailbox: MailboxPlan[];
  frames: FramePlan[];
  /** Frame sizes the isolation and rate runs draw from. */
  sizes: number[];
  /** Bulk frame sizes (1024–1514 B) of the throughput runs. */
  bulkSizes: number[];
  /** The throughput runs: tenant count, model, rates (Gbit/s). */
  throughput: { n: number; model: SriovNicModel; tenants: Tenant[] }[];
  /** An outside MAC the tenants send to. */
  peerMac: string;
  pfMac: string;
  /** The tenants whose VMs misbehave (spoofing, cross-VLAN frames, malicious mailbox requests). */
  attackers: number[];
}

const DEVFNS = [0x00, 0x01, 0x08, 0x10, 0x40, 0x80, 0x81, 0xa0, 0xc0, 0xc1, 0xe0, 0xf8];
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

function macFrom(rng: Rng, used: Set<string>): string {
  for (;;) {
    const m = ['02', ...Array.from({ length: 5 }, () => hex2(rng.int(0, 255)))].join(':');
    if (!used.has(m)) {
      used.add(m);
      return m;
    }
  }
}

/** Tenants for `n` VFs on a port of `portGbps`, rates summing to `sumFraction` of line rate. */
export function makeTenants(rng: Rng, n: number, portGbps: number, sumFraction: number, sharedVlans: boolean, used: Set<string>): Tenant[] {
  const groups = sharedVlans ? Math.max(2, Math.ceil(n * 0.7)) : n;
  const vids = new Set<number>();
  while (vids.size < groups) vids.add(rng.int(2, 4094));
  const vlanList = [...vids];
  const weights = Array.from({ length: n }, () => rng.int(1, 4));
  const wsum = weights.reduce((a, b) => a + b, 0);
  const total = portGbps * sumFraction;
  const min = Math.min(portGbps * 0.03, total / n / 2);
  return weights.map((w, vf) => ({
    vf,
    mac: macFrom(rng, used),
    vlan: vlanList[vf % groups]!,
    rateGbps: Math.round((min + ((total - n * min) * w) / wsum) * 100) / 100,
  }));
}

export function seedConfig(seed: number): SeedConfig {
  const rng = new Rng(seed ^ 0x5a10f);
  const base = rng.chance(1, 2) ? MODEL_82599 : MODEL_XL710;
  const layout = rng.int(0, LAYOUTS.length - 1);
  const model = modelVariant(base, layout);
  const pfBus = rng.int(1, 0xfd);
  const pfDevfn = rng.pick(DEVFNS);
  const limit = Math.min(model.sriov.totalVfs, model.driverMaxVfs);
  const n = rng.int(4, 12);
  const want = rng.pick([n, rng.int(n, limit), 16, 32, limit, 64, limit + rng.int(1, 40)]);
  const wantOver = model.sriov.totalVfs + rng.int(0, 64);
  const used = new Set<string>();
  const pfMac = macFrom(rng, used);
  const peerMac = macFrom(rng, used);
  const tenants = makeTenants(rng, n, model.portGbps, 0.6 + rng.int(0, 25) / 100, true, used);
  const sizes = Array.from({ length: 4 }, () => rng.int(128, 1514));
  const bulkSizes = [rng.int(1024, 1514), rng.int(1024, 1514)];
  const size = (): number => rng.pick(sizes);
  const stranger = (): string => macFrom(rng, used);

  // Mailbox: every tenant's VF driver comes up (reset, its own MAC, its VLAN, multicast); one to
  // three of them are malicious.
  const mailbox: MailboxPlan[] = [];
  for (const t of tenants) {
    mailbox.push({ vf: t.vf, req: { type: 'reset' }, benign: true, what: 'a reset (VF driver start)' });
    mailbox.push({ vf: t.vf, req: { type: 'set-mac', mac: t.mac }, benign: true, what: `its own MAC ${t.mac}` });
    if (rng.chance(1, 2)) mailbox.push({ vf: t.vf, req: { type: 'set-vlan', vid: t.vlan, add: true }, benign: true, what: `its own VLAN ${t.vlan}` });
    if (rng.chance(1, 2)) mailbox.push({ vf: t.vf, req: { type: 'set-multicast', hashes: [rng.int(0, 4095), rng.int(0, 4095)] }, benign: true, what: 'two multicast filters' });
  }
  const attackers = new Set<number>();
  const nAtt = rng.int(1, Math.min(3, n - 1));
  while (attackers.size < nAtt) attackers.add(rng.int(0, n - 1));
  const other = (a: Tenant): Tenant => {
    for (;;) {
      const o = rng.pick(tenants);
      if (o.vf !== a.vf && o.vlan !== a.vlan) return o;
    }
  };
  const foreignVid = (): number => {
    for (;;) {
      const v = rng.int(2, 4094);
      if (!tenants.some((t) => t.vlan === v)) return v;
    }
  };
  for (const vf of attackers) {
    const a = tenants[vf]!;
    const victim = other(a);
    const evil: MailboxPlan[] = [
      { vf, req: { type: 'set-mac', mac: victim.mac }, benign: false, what: `the MAC ${victim.mac} of VF ${victim.vf}'s tenant` },
      { vf, req: { type: 'set-vlan', vid: victim.vlan, add: true }, benign: false, what: `VLAN ${victim.vlan} of VF ${victim.vf}'s tenant` },
      { vf, req: { type: 'set-vlan', vid: foreignVid(), add: true }, benign: false, what: 'a VLAN no tenant of it has' },
      { vf, req: { type: 'set-mac', mac: pfMac }, benign: false, what: `the PF's MAC ${pfMac}` },
      { vf, req: { type: 'set-mac', mac: '01:00:5e:00:00:01' }, benign: false, what: 'a multicast MAC' },
      { vf, req: { type: 'set-mac', mac: stranger() }, benign: false, what: 'a MAC other than the one the administrator gave it' },
    ];
    const k = rng.int(2, 4);
    for (let i = 0; i < k; i++) mailbox.push(evil.splice(rng.int(0, evil.length - 1), 1)[0]!);
  }
  // Shuffle the mailbox order a little (requests from different VFs interleave).
  for (let i = mailbox.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    if (mailbox[i]!.vf !== mailbox[j]!.vf) [mailbox[i], mailbox[j]] = [mailbox[j]!, mailbox[i]!];
  }

  // Frames.
  const frames: FramePlan[] = [];
  for (const t of tenants) {
    for (let k = rng.int(2, 4); k > 0; k--) frames.push({ kind: 'out', from: t.vf, dst: peerMac, src: t.mac, vlan: t.vlan, bytes: size(), to: ['wire'], what: `VF ${t.vf} → the outside peer` });
    for (let k = rng.int(1, 3); k > 0; k--) frames.push({ kind: 'rx', from: 'wire', dst: t.mac, src: peerMac, vlan: t.vlan, bytes: size(), to: [t.vf], what: `the wire → VF ${t.vf} on VLAN ${t.vlan}` });
    const mate = tenants.find((o) => o.vf !== t.vf && o.vlan === t.vlan);
    if (mate) frames.push({ kind: 'hairpin', from: t.vf, dst: mate.mac, src: t.mac, vlan: t.vlan, bytes: size(), to: [mate.vf], what: `VF ${t.vf} → VF ${mate.vf} (both on VLAN ${t.vlan})` });
    frames.push({ kind: 'rx-untagged', from: 'wire', dst: t.mac, src: peerMac, vlan: undefined, bytes: size(), to: [], what: `an untagged frame from the wire to VF ${t.vf} (VLAN ${t.vlan})` });
    const o = other(t);
    frames.push({ kind: 'rx-wrong-vlan', from: 'wire', dst: t.mac, src: peerMac, vlan: o.vlan, bytes: size(), to: [], what: `a frame from the wire on VLAN ${o.vlan} to VF ${t.vf} (VLAN ${t.vlan})` });
  }
  for (const vid of new Set(tenants.map((t) => t.vlan))) {
    frames.push({ kind: 'bcast', from: 'wire', dst: 'ff:ff:ff:ff:ff:ff', src: peerMac, vlan: vid, bytes: size(), to: tenants.filter((t) => t.vlan === vid).map((t) => t.vf), what: `a broadcast from the wire on VLAN ${vid}` });
  }
  for (const vf of attackers) {
    const a = tenants[vf]!;
    const v = other(a);
    frames.push({ kind: 'spoof-src', from: vf, dst: peerMac, src: v.mac, vlan: a.vlan, bytes: size(), to: [], what: `VF ${vf} sending as VF ${v.vf}'s MAC ${v.mac}` });
    frames.push({ kind: 'spoof-src', from: vf, dst: v.mac, src: stranger(), vlan: a.vlan, bytes: size(), to: [], what: `VF ${vf} sending from a made-up MAC` });
    frames.push({ kind: 'cross-vlan', from: vf, dst: v.mac, src: a.mac, vlan: v.vlan, bytes: size(), to: [], what: `VF ${vf} (VLAN ${a.vlan}) sending on VLAN ${v.vlan} to VF ${v.vf}` });
    frames.push({ kind: 'cross-vlan', from: vf, dst: 'ff:ff:ff:ff:ff:ff', src: a.mac, vlan: foreignVid(), bytes: size(), to: [], what: `VF ${vf} broadcasting on a VLAN not its own` });
  }
  for (let i = frames.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [frames[i], frames[j]] = [frames[j]!, frames[i]!];
  }

  const xl = modelVariant(MODEL_XL710, layout);
  const throughput = [8, 32, 64].map((tn) => {
    const m = tn === 64 ? xl : model;
    return { n: tn, model: m, tenants: makeTenants(rng, tn, m.portGbps, 1.15 + rng.int(0, 20) / 100, false, new Set(used)) };
  });
  return { seed, model, layout, pfBus, pfDevfn, want, wantOver, tenants, mailbox, frames, sizes, bulkSizes, throughput, peerMac, pfMac, attackers: [...attackers].sort((a, b) => a - b) };
}

/** The VF count a correct PF driver enables for `want`. */
export const expectedVfs = (m: SriovNicModel, want: number): number => Math.max(0, Math.min(want, m.sriov.totalVfs, m.driverMaxVfs));

export function describeSeed(c: SeedConfig): string[] {
  return [
    `NIC ${c.model.name}: ${c.model.portGbps} GbE, TotalVFs ${c.model.sriov.totalVfs}, driver limit ${c.model.driverMaxVfs}; PF at ${hex2(c.pfBus)}:${hex2(c.pfDevfn >> 3)}.${c.pfDevfn & 7}; enableVfs(pf, ${c.want}) and, on a second PF, enableVfs(pf, ${c.wantOver})`,
    `${c.tenants.length} tenants: ${c.tenants.map((t) => `VF ${t.vf} ${t.mac} VLAN ${t.vlan} ${t.rateGbps} Gbit/s`).join('; ')}`,
    `${c.mailbox.length} mailbox requests (${c.mailbox.filter((m) => !m.benign).length} malicious), ${c.frames.length} isolation frames; throughput runs with ${c.throughput.map((t) => `${t.n} tenants (${t.model.name.split(' ')[0]})`).join(', ')}`,
  ];
}
