/**
 * The virtio-backend lab: the learner writes the device side of a virtio-net TX and RX queue —
 * what vhost-net's worker does in handle_tx/handle_rx — against rings in guest memory.
 * Each seed runs three short scenarios on a vhost-net host whose data plane is the learner's:
 *   tx     the guest streams frames (some in long NEXT chains or indirect tables; the 16-bit
 *          indices start just below 65536 so they wrap);
 *   rx     a peer streams frames into the guest (NAPI driver, interrupts needed);
 *   fault  the guest posts one malformed chain among good ones: the device must refuse it
 *          (DEVICE_NEEDS_RESET) instead of transmitting or looping.
 * A seed varies what matters (DESIGN.md §4): queue size, start index, EVENT_IDX and INDIRECT
 * negotiation, frame count, sizes, contents and fragmentation, buffer addresses, the fault.
 */
import { Rng } from '../../sim/rng.ts';
import { hashText } from '../../sim/hash.ts';
import { formatNs } from '../../sim/time.ts';
import type { Diagnostic, RunResult } from '../../sim/types.ts';
import * as S from '../../hw/virtio/spec.ts';
import { runParavirt, paravirtDefaults, type ParavirtConfig, type ParavirtHost } from '../../scenarios/paravirt.ts';
import { PLANE_COSTS } from '../../hv/virtio-backends.ts';
import { pairLayout, RX_BUFFER_SIZE, type VirtioPair } from '../../guest/virtio-net-driver.ts';
import { FrameMaker } from '../../guest/frames.ts';
import type { GuestFrame } from '../../guest/e1000-driver.ts';
import { compileModule } from '../../sandbox/compile.ts';
import type { CheckInfo, Finding, LabInfo, SeedOutcome } from '../types.ts';
import { VIRTIO_BACKEND_API } from './api.ts';
import { VIRTIO_BACKEND_DTS } from './api-dts.ts';
import { VIRTIO_BACKEND_STARTER } from './starter.ts';
import { LearnerPlane, type LearnerPlaneExports } from './adapter.ts';
import { VirtioLabObserver } from './observe.ts';

export const LAB_ID = 'virtio-backend';
const API_MODULE = 'iovlab/virtio-backend';
const MiB = 1024 * 1024;

/**
 * Frozen performance thresholds over a seed's tx and rx runs. The reference raises 0.19–0.49
 * interrupts and causes 0.78–1.45 VM exits per frame over 150 seeds (tests/labs/virtio-backend
 * holds a ≥ 15 % margin on more); a device that interrupts after every batch raises 0.64–0.83
 * and causes up to 2.1. Exits are mostly the guest's kicks, which the engine suppresses for
 * everyone; the learner's share is the EOIs and wake-ups its interrupts cost.
 */
export const INTERRUPTS_PER_FRAME_MAX = 0.6;
export const EXITS_PER_FRAME_MAX = 1.8;

export const CHECKS: CheckInfo[] = [
  { number: 1, id: 'tx', name: 'TX: every frame reaches the wire intact and in order', points: 20, parents: [], kind: 'correctness' },
  { number: 2, id: 'chains', name: 'TX: long NEXT chains and indirect tables are gathered whole', points: 10, parents: [], kind: 'correctness' },
  { number: 3, id: 'wrap', name: 'The 16-bit ring indices wrap past 65535', points: 10, parents: [], kind: 'correctness' },
  { number: 4, id: 'rx', name: 'RX: frames land in the guest\'s buffers intact, with the right used length', points: 15, parents: [], kind: 'correctness' },
  { number: 5, id: 'irq', name: 'No lost interrupt: the driver never waits forever (TX and RX)', points: 15, parents: [], kind: 'correctness' },
  { number: 6, id: 'bad-chain', name: 'A malformed chain puts the device in NEEDS_RESET (not sent, no hang)', points: 10, parents: [], kind: 'correctness' },
  { number: 7, id: 'ring', name: 'Ring invariants: writes only to the used ring and RX buffers, used.idx never goes back, each chain returned once', points: 10, parents: [1], kind: 'invariant' },
  { number: 8, id: 'perf', name: `Performance: at most ${INTERRUPTS_PER_FRAME_MAX} interrupts and ${EXITS_PER_FRAME_MAX} VM exits per frame (the driver's event index honoured)`, points: 10, parents: [1, 5], kind: 'performance' },
];

const PUBLIC_SEEDS = [1, 2, 3];

export type FaultKind = 'loop' | 'next-range' | 'head-range' | 'write-then-read' | 'indirect-next' | 'indirect-len' | 'indirect-loop';

/** What a seed decides. Exported for tests and for the lesson's "what varies" table. */
export function seedConfig(seed: number) {
  const rng = new Rng((seed ^ 0x5117_1010) >>> 0);
  const queueSize = rng.pick([64, 128, 256]);
  const eventIdx = rng.chance(3, 4);
  const indirect = rng.chance(1, 2);
  return {
    queueSize,
    startIdx: 65536 - rng.int(8, 120),
    eventIdx,
    indirect,
    txFrames: rng.int(150, 300),
    rxFrames: rng.int(60, 160),
    multiPercent: 35,
    bufferBase: 64 * MiB + rng.int(0, 63) * 65536,
    faultAt: rng.int(4, 40),
    fault: rng.pick<FaultKind>(indirect ? ['indirect-next', 'indirect-len', 'indirect-loop', 'head-range'] : ['loop', 'next-range', 'head-range', 'write-then-read']),
    frameRng: rng.fork('frames'),
  };
}

export const LAB_INFO: LabInfo = {
  id: LAB_ID,
  title: 'A virtio-net backend: rings, chains and the event index',
  version: hashText(['virtio-backend/1', VIRTIO_BACKEND_DTS, VIRTIO_BACKEND_STARTER, JSON.stringify(CHECKS), String(INTERRUPTS_PER_FRAME_MAX), String(EXITS_PER_FRAME_MAX)].join('\n')),
  apiModule: API_MODULE,
  apiDts: VIRTIO_BACKEND_DTS,
  starter: VIRTIO_BACKEND_STARTER,
  publicSeeds: PUBLIC_SEEDS,
  freshSeeds: 3,
  timeLimitMs: 5_000,
  checks: CHECKS,
  maxScore: CHECKS.reduce((s, c) => s + c.points, 0),
};

type Run = 'tx' | 'rx' | 'fault';
interface RunOutcome {
  run: Run;
  result: RunResult;
  host: ParavirtHost;
  obs: VirtioLabObserver;
  logs: string[];
}

export function runSeed(source: string, seed: number): SeedOutcome {
  const compiled = compileModule(source, { [API_MODULE]: VIRTIO_BACKEND_API });
  if (!compiled.ok) return { seed, kind: 'compile-error', diagnostics: compiled.diagnostics };
  const runs: RunOutcome[] = [];
  for (const run of ['tx', 'rx', 'fault'] as Run[]) {
    // A fresh module instance per run: module-level state cannot leak between runs.
    const inst = compiled.instantiate();
    if (!inst.ok) return { seed, kind: 'compile-error', diagnostics: inst.diagnostics };
    const exp = inst.exports;
    for (const fn of ['serveTx', 'receive']) {
      if (typeof exp[fn] !== 'function') {
        return { seed, kind: 'compile-error', diagnostics: [{ severity: 'error', code: 'missing-export', message: 'Your module must export two functions: serveTx(q, host) and receive(q, frame, host).' }] };
      }
    }
    runs.push(runOne(run, seed, exp as unknown as LearnerPlaneExports));
  }
  const findings = evaluate(seed, runs);
  // What check 8 measured, over the tx and rx runs, next to the charted run's own figures.
  const perf = perfFigures(runs);
  Object.assign(runs[0]!.result.metrics.params, { gradedFrames: perf.frames, gradedInterrupts: perf.interrupts, gradedExits: perf.exits });
  // The tx run is the one the page charts; the others add their diagnostics (labelled).
  const main = runs[0]!;
  const result = main.result;
  for (const r of runs) {
    for (const line of r.logs) result.diagnostics.push({ severity: 'info', code: 'log', message: `(${r.run} run) ${line}` });
    if (r === main) continue;
    for (const d of r.result.diagnostics) {
      // In the fault run a reset is the right answer: say so instead of showing it as an error.
      const expected = r.run === 'fault' && d.code === 'virtio-needs-reset';
      result.diagnostics.push(expected
        ? { ...d, severity: 'info', message: `(fault run) The guest posted ${FAULT_WORDS[seedConfig(seed).fault]}; as a device must, yours refused it: ${d.message}` }
        : { ...d, message: `(${r.run} run) ${d.message}` });
    }
  }
  return { seed, kind: 'ran', result, findings };
}

function runOne(run: Run, seed: number, exp: LearnerPlaneExports): RunOutcome {
  const cfg = seedConfig(seed);
  const maker = new FrameMaker(cfg.frameRng.fork(run), cfg.bufferBase, 4096, cfg.multiPercent);
  const sizes = cfg.frameRng.fork(`${run}-sizes`);
  const size = (): number => {
    const k = sizes.int(0, 9);
    return k < 3 ? sizes.int(60, 128) : k < 6 ? sizes.int(129, 1000) : sizes.int(1001, 1514);
  };
  const obs = new VirtioLabObserver(cfg.startIdx);
  const logs: string[] = [];
  let host!: ParavirtHost;
  const fail = (d: Diagnostic): void => host.fail(d);
  const plane = new LearnerPlane(exp, PLANE_COSTS['vhost-net'], obs, logs, fail);
  const packets = run === 'rx' ? cfg.rxFrames : run === 'fault' ? cfg.faultAt + 20 : cfg.txFrames;
  const faultFrame = (pkt: number): GuestFrame => {
    // The fault frame always spans several descriptors, so every fault kind applies.
    let f = maker.make(pkt, size(), 'random');
    while (f.fragments.length < 2) f = maker.make(pkt, Math.max(200, f.bytes.length), 'random');
    return f;
  };
  const pc: ParavirtConfig = {
    ...paravirtDefaults(),
    scenario: `lab:${LAB_ID}`,
    seed,
    workload: run === 'rx' ? 'rx' : 'tx',
    backend: 'vhost-net',
    packets,
    size: 1518,
    eventIdx: cfg.eventIdx,
    indirect: cfg.indirect,
    queueSize: cfg.queueSize,
    startIdx: cfg.startIdx,
    offeredGbps: 2,
    ramBytes: 128 * MiB,
    plane,
    makeFrame: (pkt) => (run === 'fault' && pkt === cfg.faultAt ? faultFrame(pkt) : maker.make(pkt, size(), 'random')),
    makeRxFrame: (pkt) => {
      const bytes = maker.make(pkt, size(), 'random').bytes;
      obs.rxFrameSent(bytes);
      return bytes;
    },
    onGuestFrameSent: (f) => obs.frameSent(f),
    onTxAdded: (pair, f, head, availIdx, indirect) => {
      obs.txAdded(f, head, availIdx, indirect);
      if (run === 'fault' && f.pkt === cfg.faultAt) tamper(pair, head, availIdx, indirect, cfg.fault);
    },
    onFrameToPeer: (bytes) => obs.frameAtPeer(bytes),
    onGuestFrameReceived: (bytes) => obs.rxAtGuest(bytes),
    onStart: (h) => {
      host = h;
    },
    untilNs: 100_000_000,
    maxEvents: 2_000_000,
    extraParams: { lab: LAB_ID, run, queueSize: cfg.queueSize, startIdx: cfg.startIdx, eventIdx: cfg.eventIdx, indirect: cfg.indirect },
  };
  // Declare where the device may write once the queues exist (before the first frame).
  const declare = (): void => {
    const L = pairLayout({ ringBase: 1 * MiB, rxBufferBase: 16 * MiB, queueSize: cfg.queueSize }, 0);
    obs.queue(S.txQueueIndex(0), L.tx);
    obs.queue(S.rxQueueIndex(0), L.rx, [[L.rxBuffers, L.rxBuffers + cfg.queueSize * RX_BUFFER_SIZE]]);
  };
  declare();
  const out = runParavirt(pc);
  return { run, result: out.result, host: out.host, obs, logs };
}

/** Corrupt the chain the guest just made available, the way a buggy or hostile driver could. */
function tamper(pair: VirtioPair, head: number, availIdx: number, indirect: boolean, kind: FaultKind): void {
  const mem = pair.drv.mem;
  const L = pair.layout.tx;
  const size = L.size;
  const desc = (table: number, i: number): number => table + S.DESC_SIZE * i;
  const last = (table: number, first: number): number => {
    let i = first;
    for (let n = 0; n < size; n++) {
      const flags = mem.read16(desc(table, i) + S.DESC_FLAGS);
      if (!(flags & S.VIRTQ_DESC_F_NEXT)) return i;
      i = mem.read16(desc(table, i) + S.DESC_NEXT);
    }
    return i;
  };
  const orFlags = (at: number, f: number): void => mem.write16(at + S.DESC_FLAGS, mem.read16(at + S.DESC_FLAGS) | f);
  switch (kind) {
    case 'loop': {
      const tail = last(L.desc, head);
      orFlags(desc(L.desc, tail), S.VIRTQ_DESC_F_NEXT);
      mem.write16(desc(L.desc, tail) + S.DESC_NEXT, head);
      return;
    }
    case 'next-range': {
      const tail = last(L.desc, head);
      orFlags(desc(L.desc, tail), S.VIRTQ_DESC_F_NEXT);
      mem.write16(desc(L.desc, tail) + S.DESC_NEXT, size + 3);
      return;
    }
    case 'head-range':
      mem.write16(L.avail + S.AVAIL_RING + S.AVAIL_ELEM_SIZE * (availIdx % size), size + 1);
      return;
    case 'write-then-read':
      orFlags(desc(L.desc, head), S.VIRTQ_DESC_F_WRITE);
      return;
    case 'indirect-next':
      if (indirect) orFlags(desc(L.desc, head), S.VIRTQ_DESC_F_NEXT);
      return;
    case 'indirect-len':
      if (indirect) mem.write32(desc(L.desc, head) + S.DESC_LEN, S.DESC_SIZE * 2 + 8);
      return;
    case 'indirect-loop': {
      if (!indirect) return;
      const table = mem.read64(desc(L.desc, head) + S.DESC_ADDR);
      const tail = last(table, 0);
      orFlags(desc(table, tail), S.VIRTQ_DESC_F_NEXT);
      mem.write16(desc(table, tail) + S.DESC_NEXT, 0);
      return;
    }
  }
}

const FAULT_WORDS: Record<FaultKind, string> = {
  loop: 'a NEXT chain that loops back to its head',
  'next-range': 'a NEXT field pointing past the end of the descriptor table',
  'head-range': 'an avail ring entry naming a descriptor past the end of the table',
  'write-then-read': 'a device-writable buffer followed by a device-readable one',
  'indirect-next': 'a descriptor with both INDIRECT and NEXT set',
  'indirect-len': 'an indirect table whose length is not a multiple of 16',
  'indirect-loop': 'a NEXT loop inside an indirect table',
};

function evaluate(seed: number, runs: RunOutcome[]): Finding[] {
  const cfg = seedConfig(seed);
  const out: Finding[] = [];
  const f = (check: string, code: string, data: Record<string, number | string>): void => {
    out.push({ check, code, data: { seed, ...data } });
  };
  const byRun = (r: Run): RunOutcome => runs.find((x) => x.run === r)!;
  const tx = byRun('tx');
  const rx = byRun('rx');
  const fault = byRun('fault');

  // A thrown exception or a runaway loop in a normal run fails everything that run touches.
  for (const r of [tx, rx]) {
    const bad = r.result.diagnostics.find((d) => d.code === 'learner-threw' || d.code === 'runaway-loop' || d.code === 'dma-outside-ram');
    if (bad) {
      const checks = r.run === 'tx' ? ['tx', 'chains', 'wrap', 'irq', 'ring'] : ['rx', 'irq', 'ring'];
      for (const c of checks) f(c, 'run-stopped', { run: r.run, message: bad.message });
    }
  }

  // 1–3: TX frames by class.
  const o = tx.obs;
  const classOf = (s: (typeof o.sent)[number]): string => (s.afterWrap ? 'wrap' : s.cls === 'short' ? 'tx' : 'chains');
  const reported = new Set<string>();
  const report = (check: string, code: string, data: Record<string, number | string>): void => {
    if (reported.has(check)) return;
    reported.add(check);
    f(check, code, data);
  };
  for (const m of o.mismatches) {
    const check = classOf(m.sent);
    const shape = shapeWords(m.sent);
    if (m.code === 'frame-length') report(check, 'tx-length', { pkt: m.pkt, got: m.got!, expected: m.expected!, shape, head: m.sent.head });
    else report(check, 'tx-differs', { pkt: m.pkt, byte: m.byte!, expected: hex(m.expected!), got: hex(m.got!), shape, head: m.sent.head });
  }
  for (let k = o.delivered; k < o.sent.length; k++) {
    const s = o.sent[k]!;
    report(classOf(s), 'tx-missing', { pkt: s.pkt, shape: shapeWords(s), head: s.head, delivered: o.delivered, sent: o.sent.length });
  }
  if (o.extra > 0) report('tx', 'tx-extra', { extra: o.extra, sent: o.sent.length });
  if (o.sent.length < cfg.txFrames) report('tx', 'tx-not-queued', { queued: o.sent.length, frames: cfg.txFrames });
  const txReset = tx.obs.resets[0];
  if (txReset) report('tx', 'false-reset', { run: 'tx', reason: txReset.reason });

  // 4: RX.
  const r = rx.obs;
  if (r.rxMismatches.length > 0) {
    const m = r.rxMismatches[0]!;
    if (m.code === 'frame-length') f('rx', 'rx-length', { pkt: m.pkt, got: m.got!, expected: m.expected! });
    else f('rx', 'rx-differs', { pkt: m.pkt, byte: m.byte!, expected: hex(m.expected!), got: hex(m.got!) });
  } else if (r.rxDelivered < r.rxSent.length) {
    f('rx', 'rx-missing', { delivered: r.rxDelivered, sent: r.rxSent.length, drops: rx.result.metrics.counters.drops });
  }
  const rxReset = rx.obs.resets[0];
  if (rxReset) f('rx', 'false-reset', { run: 'rx', reason: rxReset.reason });

  // 5: lost interrupts (the driver waited forever).
  for (const run of [tx, rx]) {
    const stalled = run.result.diagnostics.find((d) => d.code === 'guest-stalled');
    if (!stalled) continue;
    const q = run.run === 'tx' ? S.txQueueIndex(0) : S.rxQueueIndex(0);
    const L = run.host.dev.queueLayout(q);
    const mem = run.host.mem;
    f('irq', 'lost-interrupt', {
      run: run.run,
      usedEvent: mem.read16(L.avail + S.usedEventOffset(L.size)),
      usedIdx: mem.read16(L.used + S.USED_IDX),
      noInterruptFlag: mem.read16(L.avail + S.AVAIL_FLAGS) & S.VIRTQ_AVAIL_F_NO_INTERRUPT,
      eventIdx: cfg.eventIdx ? 'on' : 'off',
      interrupts: run.obs.interrupts,
      t: formatNs(stalled.t ?? 0),
    });
    break;
  }

  // 6: the fault run.
  const fo = fault.obs;
  const faulty = fo.sent.find((s) => s.pkt === cfg.faultAt);
  const runaway = fault.result.diagnostics.find((d) => d.code === 'runaway-loop');
  const threw = fault.result.diagnostics.find((d) => d.code === 'learner-threw' || d.code === 'dma-outside-ram');
  const faultIndex = faulty ? fo.sent.indexOf(faulty) : -1;
  const sentFaulty = faultIndex >= 0 && fo.delivered > faultIndex;
  if (runaway) f('bad-chain', 'bad-chain-runaway', { fault: FAULT_WORDS[cfg.fault] });
  else if (threw) f('bad-chain', 'bad-chain-threw', { fault: FAULT_WORDS[cfg.fault], message: threw.message });
  else if (fo.resets.length === 0) f('bad-chain', 'bad-chain-accepted', { fault: FAULT_WORDS[cfg.fault], pkt: cfg.faultAt, sent: sentFaulty ? 'and transmitted it' : 'without reporting it' });
  else if (sentFaulty) f('bad-chain', 'bad-chain-sent', { fault: FAULT_WORDS[cfg.fault], pkt: cfg.faultAt });

  // 7: ring invariants (over the tx and rx runs).
  for (const run of [tx, rx]) {
    const w = run.obs.strayWrites[0];
    if (w) {
      f('ring', 'stray-write', { run: run.run, gpa: hex(w.gpa), len: w.len, queue: w.q });
      break;
    }
    const g = run.obs.usedRegressions[0];
    if (g) {
      f('ring', 'used-regressed', { run: run.run, from: g.from, to: g.to });
      break;
    }
    const bad = run.result.diagnostics.find((d) => d.code === 'virtio-driver-error');
    if (bad) {
      f('ring', 'bad-used-entry', { run: run.run, message: bad.message });
      break;
    }
  }

  // 8: interrupts and VM exits per frame (over the tx and rx runs).
  const { frames, interrupts, exits } = perfFigures(runs);
  const perFrame = frames ? interrupts / frames : 0;
  const exitsPerFrame = frames ? exits / frames : 0;
  if (perFrame > INTERRUPTS_PER_FRAME_MAX) f('perf', 'interrupts-per-frame', { value: perFrame.toFixed(2), limit: String(INTERRUPTS_PER_FRAME_MAX), interrupts, frames });
  else if (exitsPerFrame > EXITS_PER_FRAME_MAX) f('perf', 'exits-per-frame', { value: exitsPerFrame.toFixed(2), limit: String(EXITS_PER_FRAME_MAX), exits, frames });
  return out;
}

/** Frames, interrupts the device raised and VM exits over a seed's tx and rx runs (check 8). */
export function perfFigures(runs: { run: string; obs: VirtioLabObserver; result: RunResult }[]): { frames: number; interrupts: number; exits: number } {
  let frames = 0;
  let interrupts = 0;
  let exits = 0;
  for (const r of runs) {
    if (r.run === 'fault') continue;
    frames += r.run === 'tx' ? r.obs.sent.length : r.obs.rxSent.length;
    interrupts += r.obs.interrupts;
    exits += r.result.metrics.counters.exitsTotal;
  }
  return { frames, interrupts, exits };
}

function shapeWords(s: { cls: string; descriptors: number; afterWrap: boolean }): string {
  const shape = s.cls === 'indirect' ? `an indirect table of ${s.descriptors} descriptors` : `a chain of ${s.descriptors} descriptors`;
  return s.afterWrap ? `${shape}, added after avail.idx wrapped past 65535` : shape;
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
