/**
 * Calibration of the paravirtual (virtio) models as a test suite (DESIGN.md §7): one test per
 * CALIBRATION.md row the virtio-tx / virtio-rr / virtio-rx scenarios claim, each running the
 * scenario and asserting the metric lies in the row's range. Rows are named in the titles:
 * C13–C16 of §0, the §0 small-packet ranges and their ordering, §3.1 notification suppression,
 * §3.9 per-model event flow, §5 #15. Throughput and bottlenecks are never computed here: they
 * are read from the run, so these tests also prove that they emerge from the costed events.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type Metrics, type ScenarioOptions } from '../../lab-engine/index.ts';

const PACKETS = 4000;

/** Runs are shared between tests (same options ⇒ same metrics, see determinism-virtio). */
const cache = new Map<string, Metrics>();
function run(id: string, opts: ScenarioOptions): Metrics {
  const key = `${id} ${JSON.stringify(opts)}`;
  let m = cache.get(key);
  if (!m) {
    const r = runScenario(id, opts);
    expect(r.diagnostics.filter((d) => d.severity === 'error'), key).toEqual([]);
    m = r.metrics;
    cache.set(key, m);
  }
  return m;
}
const tx = (size: number, params: ScenarioOptions['params'] = {}, packets = PACKETS): Metrics => run('virtio-tx', { size, packets, params });
const rx = (size: number, params: ScenarioOptions['params'] = {}, packets = PACKETS): Metrics => run('virtio-rx', { size, packets, params });
const e1000 = (size: number): Metrics => run('emulation-tx', { size, packets: PACKETS });

/** Packets the run moved (both directions). */
const pkts = (m: Metrics): number => m.counters.packetsTx + m.counters.packetsRx;
/** Per-packet ratios from the raw counters (derived.exitsPerPacket is rounded to 3 decimals). */
const perPacket = (m: Metrics, n: number): number => n / pkts(m);
const exitsPP = (m: Metrics): number => perPacket(m, m.counters.exitsTotal);
const kicksPP = (m: Metrics): number => perPacket(m, m.counters.kicks);
const irqPP = (m: Metrics): number => perPacket(m, m.counters.interruptsInjected);
const syscallsPP = (m: Metrics): number => perPacket(m, m.counters.syscalls);

/** Every frame of the workload arrived and the run ended normally. */
function allDelivered(m: Metrics, packets = PACKETS, label = ''): void {
  expect(m.stop, label).toBe('done');
  expect(m.counters.drops, label).toBe(0);
  expect(pkts(m), label).toBe(packets);
}

/** 10 GbE line rate in frames/s for `frame` bytes (FCS included) + 20 B preamble/SFD/IFG (C15, C16). */
const lineRateFps = (frame: number, gbps = 10): number => (gbps * 1e9) / ((frame + 20) * 8);

describe('CALIBRATION §0 small-packet (64 B) ranges, per queue or core', () => {
  it('§0 QEMU e1000 emulation: ~0.05–0.3 Mpps', () => {
    const m = e1000(64);
    allDelivered(m, PACKETS, 'e1000');
    expect(m.derived.mpps).toBeGreaterThanOrEqual(0.05);
    expect(m.derived.mpps).toBeLessThanOrEqual(0.3);
  });

  it('§0 virtio-net with the QEMU user-space backend (ioeventfd on): ~0.2–0.6 Mpps', () => {
    const m = tx(64, { backend: 'qemu', ioeventfd: true });
    allDelivered(m);
    expect(m.derived.mpps).toBeGreaterThanOrEqual(0.2);
    expect(m.derived.mpps).toBeLessThanOrEqual(0.6);
  });

  it('§0 vhost-net: ~0.5–2 Mpps (the 0.5 Mpps anchor is C14)', () => {
    const m = tx(64, { backend: 'vhost-net' });
    allDelivered(m);
    expect(m.derived.mpps).toBeGreaterThanOrEqual(0.5);
    expect(m.derived.mpps).toBeLessThanOrEqual(2);
  });

  it('§0 vhost-user with DPDK PMDs in host and guest: ~5–15+ Mpps per core, at most 10 GbE line rate (C15: 14.88 Mpps)', () => {
    const m = tx(64, { backend: 'vhost-user', guestPmd: true });
    allDelivered(m);
    expect(m.derived.mpps).toBeGreaterThanOrEqual(5);
    expect(m.derived.mpps * 1e6).toBeLessThanOrEqual(lineRateFps(64));
    expect(lineRateFps(64) / 1e6).toBeCloseTo(14.88, 2); // C15 arithmetic
  });

  it('§0 ordering at 64 B: e1000 < virtio+QEMU < vhost-net < vhost-user (with a guest PMD, and even with the guest kernel driver)', () => {
    const order = [
      e1000(64).derived.mpps,
      tx(64, { backend: 'qemu' }).derived.mpps,
      tx(64, { backend: 'vhost-net' }).derived.mpps,
      tx(64, { backend: 'vhost-user', guestPmd: true }).derived.mpps,
    ];
    for (let i = 1; i < order.length; i++) expect(order[i]!, `step ${i}: ${order.join(' < ')}`).toBeGreaterThan(order[i - 1]!);
    const kernelGuest = tx(64, { backend: 'vhost-user', guestPmd: false }).derived.mpps;
    expect(kernelGuest).toBeGreaterThan(order[2]!);
    expect(kernelGuest).toBeLessThan(order[3]!);
  });
});

describe('CALIBRATION §0 bulk 1518 B: line rate for the fast backends, differences in exits and CPU', () => {
  // C16: 1,538 B on the wire per 1,518 B frame ⇒ 812,744 frames/s, i.e. 9.870 Gbit/s of frame bytes.
  const fps = lineRateFps(1518);
  const lineGbps = (fps * 1518 * 8) / 1e9;

  it('C16 arithmetic: 812,744 frames/s of 1518 B frames on 10 GbE', () => {
    expect(Math.round(fps)).toBe(812_744);
    expect(lineGbps).toBeCloseTo(9.87, 2);
  });

  for (const backend of ['vhost-net', 'vhost-user'] as const) {
    it(`§0 bulk + C16: ${backend} reaches ≥ 95 % of 10 GbE line rate at 1518 B (≥ ${Math.round(0.95 * fps)} frames/s)`, () => {
      const m = tx(1518, { backend });
      // An open-loop sender (no TCP here) faster than the wire overflows the wire's queue: every
      // frame is either delivered or counted as dropped, and what is delivered runs at line rate.
      expect(m.stop).toBe('done');
      expect(m.counters.packetsTx + m.counters.drops).toBe(PACKETS);
      expect(m.derived.mpps * 1e6).toBeGreaterThanOrEqual(0.95 * fps);
      expect(m.derived.mpps * 1e6).toBeLessThanOrEqual(fps * 1.0005);
      expect(m.derived.throughputGbps).toBeGreaterThanOrEqual(0.95 * lineGbps);
    });
  }

  it('§0 bulk: at line rate vhost-net and vhost-user differ in exits/s and CPU, not in Gbit/s', () => {
    const net = tx(1518, { backend: 'vhost-net' });
    const user = tx(1518, { backend: 'vhost-user' });
    expect(Math.abs(net.derived.throughputGbps - user.derived.throughputGbps)).toBeLessThan(0.02 * lineGbps);
    // vhost-user polls with kicks suppressed: ≈ 0 exits per packet; vhost-net's kicks are exits.
    expect(exitsPP(user)).toBeLessThan(0.01);
    expect(exitsPP(net)).toBeGreaterThan(0.1);
    expect(net.derived.exitsPerSec).toBeGreaterThan(50 * Math.max(1, user.derived.exitsPerSec));
    // … and vhost-user pays with a poll-mode core that burns 100 % whatever the load.
    expect(user.derived.cpu.poll).toBeGreaterThanOrEqual(0.99);
    expect(user.derived.cpu.vhost).toBe(0);
    expect(net.derived.cpu.poll).toBe(0);
    expect(net.derived.cpu.vhost).toBeGreaterThan(0.1);
    expect(net.derived.cpu.vhost).toBeLessThan(1);
  });

  it('§0 bulk: the QEMU backend (no TSO modelled) and e1000 stay below line rate at 1518 B, below vhost-net', () => {
    const qemu = tx(1518, { backend: 'qemu' });
    const emu = e1000(1518);
    allDelivered(qemu);
    expect(emu.derived.throughputGbps).toBeLessThan(qemu.derived.throughputGbps);
    expect(qemu.derived.throughputGbps).toBeLessThan(tx(1518, { backend: 'vhost-net' }).derived.throughputGbps);
  });
});

describe('C13: vhost-net takes QEMU (and its system calls) out of the data path', () => {
  it('C13: one packet per notification (request/response): the QEMU backend makes 2–4 syscalls per packet, vhost-net none', () => {
    const qemu = run('virtio-rr', { packets: 300, size: 64, params: { backend: 'qemu' } });
    const net = run('virtio-rr', { packets: 300, size: 64, params: { backend: 'vhost-net' } });
    expect(qemu.counters.transactions).toBe(300);
    expect(net.counters.transactions).toBe(300);
    // A transaction is two packets: the request out (ppoll + read(eventfd) + tap writev) and the
    // answer in (ppoll + tap read + irqfd write).
    const perPkt = qemu.counters.syscalls / (2 * qemu.counters.transactions);
    expect(perPkt).toBeGreaterThanOrEqual(2);
    expect(perPkt).toBeLessThanOrEqual(4);
    expect(net.counters.syscalls).toBe(0);
  });

  it('C13: receiving at a moderate rate, the QEMU backend makes 2–4 syscalls per packet, vhost-net none', () => {
    const qemu = rx(1518, { backend: 'qemu', offeredGbps: 1 }, 2000);
    const net = rx(1518, { backend: 'vhost-net', offeredGbps: 1 }, 2000);
    allDelivered(qemu, 2000, 'qemu');
    allDelivered(net, 2000, 'vhost-net');
    expect(syscallsPP(qemu)).toBeGreaterThanOrEqual(2);
    expect(syscallsPP(qemu)).toBeLessThanOrEqual(4);
    expect(net.counters.syscalls).toBe(0);
  });

  it('C13: in a saturated 64 B stream the QEMU backend still pays ≥ 1 syscall per packet (tap writev), at most 4; vhost-net none', () => {
    const qemu = tx(64, { backend: 'qemu' });
    const net = tx(64, { backend: 'vhost-net' });
    // The wake-up (ppoll + read) and the irqfd write are shared by a batch; the writev is not.
    expect(syscallsPP(qemu)).toBeGreaterThanOrEqual(1);
    expect(syscallsPP(qemu)).toBeLessThanOrEqual(4);
    expect(net.counters.syscalls).toBe(0);
    expect(qemu.derived.cpu.qemu).toBeGreaterThan(0.5);
    expect(net.derived.cpu.qemu).toBe(0);
  });
});

describe('C14: kernel vhost is a ~0.5 Mpps-class path per VM; beyond ~2 Mpps needs DPDK/vhost-user', () => {
  it('C14: vhost-net (one queue) ≈ 0.5 Mpps class (0.5–2), below 2 Mpps', () => {
    const m = tx(64, { backend: 'vhost-net' });
    expect(m.derived.mpps).toBeGreaterThanOrEqual(0.5);
    expect(m.derived.mpps).toBeLessThan(2);
  });
  it('C14: vhost-user + guest PMD goes beyond 2 Mpps', () => {
    expect(tx(64, { backend: 'vhost-user', guestPmd: true }).derived.mpps).toBeGreaterThan(2);
  });
});

describe('§5 #15: interrupts are not per packet', () => {
  for (const backend of ['qemu', 'vhost-net', 'vhost-user', 'xen-netback', 'vmxnet3'] as const) {
    it(`#15: ${backend}: under load, interrupts per packet < 1 (TX stream and RX at 1 Gbit/s of 64 B frames)`, () => {
      const t = tx(64, { backend });
      allDelivered(t, PACKETS, `${backend} tx`);
      expect(irqPP(t), `${backend} tx`).toBeLessThan(1);
      const r = rx(64, { backend, offeredGbps: 1 });
      expect(r.stop).toBe('done');
      expect(irqPP(r), `${backend} rx`).toBeLessThan(1);
    });
  }
});

describe('§3.1 notification suppression: VIRTIO_F_EVENT_IDX on vs off', () => {
  for (const backend of ['vhost-net', 'qemu'] as const) {
    it(`§3.1 EVENT_IDX (${backend}, 64 B TX stream): fewer kicks and exits with it; all frames delivered either way`, () => {
      const on = tx(64, { backend, eventIdx: true });
      const off = tx(64, { backend, eventIdx: false });
      allDelivered(on, PACKETS, 'on');
      allDelivered(off, PACKETS, 'off');
      expect(on.params.eventIdx).toBe(true);
      expect(off.params.eventIdx).toBe(false);
      // Without EVENT_IDX only the NO_NOTIFY flag suppresses kicks: in this model every frame kicks.
      expect(kicksPP(on)).toBeLessThan(kicksPP(off));
      expect(exitsPP(on)).toBeLessThan(exitsPP(off));
      expect(kicksPP(off)).toBeLessThanOrEqual(1.001);
      // A kick is an exit (ioeventfd fast MMIO): EPT_MISCONFIG counts follow the kicks.
      expect(on.counters.exits.EPT_MISCONFIG ?? 0).toBe(on.counters.kicks);
      expect(off.counters.exits.EPT_MISCONFIG ?? 0).toBe(off.counters.kicks);
    });

    it(`§3.1 EVENT_IDX (${backend}, 64 B RX at 0.2 Gbit/s): fewer interrupts, kicks and exits with it; all frames delivered either way`, () => {
      const on = rx(64, { backend, eventIdx: true, offeredGbps: 0.2 });
      const off = rx(64, { backend, eventIdx: false, offeredGbps: 0.2 });
      allDelivered(on, PACKETS, 'on');
      allDelivered(off, PACKETS, 'off');
      expect(irqPP(on)).toBeLessThan(irqPP(off));
      expect(kicksPP(on)).toBeLessThanOrEqual(kicksPP(off));
      expect(exitsPP(on)).toBeLessThan(exitsPP(off));
      expect(irqPP(on)).toBeLessThan(1);
    });
  }
});

describe('§3.9 QEMU backend: ioeventfd', () => {
  it('§3.9 without ioeventfd each kick is a synchronous exit to user space; with it, none reach QEMU', () => {
    const withFd = tx(64, { backend: 'qemu', ioeventfd: true });
    const without = tx(64, { backend: 'qemu', ioeventfd: false });
    allDelivered(withFd, PACKETS, 'ioeventfd on');
    allDelivered(without, PACKETS, 'ioeventfd off');
    expect(withFd.counters.exitsToUser).toBe(0);
    expect(without.counters.exitsToUser).toBeGreaterThan(0);
    expect(without.counters.exitsToUser).toBe(without.counters.kicks);
    expect(without.params.ioeventfd).toBe(false);
  });

  it('§3.9 ioeventfd only matters for the QEMU backend: vhost backends always use it', () => {
    const m = tx(64, { backend: 'vhost-net', ioeventfd: false }, 1000);
    expect(m.params.ioeventfd).toBe(true);
    expect(m.counters.exitsToUser).toBe(0);
  });
});

describe('§3.9 vhost-user: the backend polls; with a guest PMD, zero interrupts and ~zero exits', () => {
  it('§3.9 vhost-user + guest PMD, TX: ≈ 0 exits and no interrupts per packet; the poll core and the guest vCPU both spin', () => {
    const m = tx(64, { backend: 'vhost-user', guestPmd: true });
    expect(exitsPP(m)).toBeLessThan(0.01);
    expect(irqPP(m)).toBeLessThan(0.01);
    expect(m.derived.cpu.poll).toBeGreaterThanOrEqual(0.99);
    expect(m.derived.cpu.guest).toBeGreaterThan(0.9);
  });

  it('§3.9 vhost-user + guest PMD, RX: ≈ 0 exits and no interrupts per packet', () => {
    const m = rx(64, { backend: 'vhost-user', guestPmd: true, offeredGbps: 1 });
    allDelivered(m);
    expect(exitsPP(m)).toBeLessThan(0.01);
    expect(irqPP(m)).toBeLessThan(0.01);
  });

  it('§3.9 vhost-user with the guest kernel driver: kicks suppressed (≈ 0 exits) but completions still come through the callfd (a syscall)', () => {
    const m = run('virtio-rr', { packets: 300, size: 64, params: { backend: 'vhost-user' } });
    expect(m.counters.transactions).toBe(300);
    expect(m.counters.kicks / m.counters.transactions).toBeLessThan(0.05);
    expect(m.counters.interruptsInjected / m.counters.transactions).toBeGreaterThanOrEqual(0.9);
    expect(m.counters.syscalls).toBeGreaterThanOrEqual(m.counters.interruptsRaised);
  });
});

describe('DESIGN §3 multiqueue: one vhost worker per queue pair', () => {
  it('vhost-net with 2–4 queue pairs moves more aggregate Mpps than one, each worker a resource of its own', () => {
    const one = tx(64, { backend: 'vhost-net', queues: 1 });
    let prev = one.derived.mpps;
    for (const queues of [2, 3, 4]) {
      const m = tx(64, { backend: 'vhost-net', queues });
      allDelivered(m, PACKETS, `queues=${queues}`);
      expect(m.params.queues).toBe(queues);
      expect(m.derived.mpps, `queues=${queues}`).toBeGreaterThan(prev);
      prev = m.derived.mpps;
      for (let w = 0; w < queues; w++) {
        expect(m.derived.utilization[`vhost worker ${w}`], `queues=${queues} worker ${w}`).toBeGreaterThan(0.3);
      }
      expect(m.derived.utilization[`vhost worker ${queues}`]).toBeUndefined();
    }
    expect(prev).toBeGreaterThan(2 * one.derived.mpps);
  });
});

describe('§3.9 the other split drivers: Xen netfront/netback and VMXNET3', () => {
  it('§3.9 Xen: netfront kicks netback through an event channel, a VMCALL exit (not EPT_MISCONFIG); the run completes', () => {
    const m = tx(64, { backend: 'xen-netback' });
    allDelivered(m);
    expect(m.counters.kicks).toBeGreaterThan(0);
    expect(m.counters.exits.VMCALL).toBe(m.counters.kicks);
    expect(m.counters.exits.EPT_MISCONFIG ?? 0).toBe(0);
    expect(m.counters.exitsToUser).toBe(0);
    const r = rx(64, { backend: 'xen-netback', offeredGbps: 0.2 });
    allDelivered(r, PACKETS, 'xen rx');
    expect(r.counters.exits.EPT_MISCONFIG ?? 0).toBe(0);
  });

  it('§3.9 VMXNET3: doorbells are BAR MMIO writes handled without QEMU; TX, RX and request/response complete', () => {
    const t = tx(64, { backend: 'vmxnet3' });
    allDelivered(t, PACKETS, 'vmxnet3 tx');
    expect(t.counters.exits.EPT_MISCONFIG).toBe(t.counters.kicks);
    expect(t.counters.exitsToUser).toBe(0);
    allDelivered(rx(64, { backend: 'vmxnet3', offeredGbps: 0.2 }), PACKETS, 'vmxnet3 rx');
    const rr = run('virtio-rr', { packets: 200, size: 64, params: { backend: 'vmxnet3' } });
    expect(rr.stop).toBe('done');
    expect(rr.counters.transactions).toBe(200);
  });
});

describe('the bottleneck emerges from the busiest serial resource and moves with the configuration', () => {
  it('64 B: the QEMU main loop bounds the QEMU backend; the vCPU bounds vhost-net; netback bounds Xen', () => {
    const qemu = tx(64, { backend: 'qemu' });
    expect(qemu.derived.bottleneck).toBe('QEMU main loop');
    expect(qemu.derived.utilization['QEMU main loop']).toBeGreaterThan(0.9);
    const net = tx(64, { backend: 'vhost-net' });
    expect(net.derived.bottleneck).toBe('vCPU thread');
    expect(net.derived.utilization['vCPU thread']).toBeGreaterThan(0.9);
    expect(tx(64, { backend: 'xen-netback' }).derived.bottleneck).toBe('netback 0');
    expect(e1000(64).derived.bottleneck).toBe('vCPU thread');
  });

  it('64 B vhost-net: a cheaper guest (DPDK PMD) moves the bottleneck from the vCPU to the vhost worker', () => {
    const pmd = tx(64, { backend: 'vhost-net', guestPmd: true });
    allDelivered(pmd);
    expect(pmd.derived.bottleneck).toBe('vhost worker 0');
    expect(pmd.derived.mpps).toBeGreaterThan(tx(64, { backend: 'vhost-net' }).derived.mpps);
  });

  it('1518 B: the wire bounds vhost-net and vhost-user; a 25 GbE wire hands the bottleneck back to vhost-net\'s vCPU', () => {
    for (const backend of ['vhost-net', 'vhost-user'] as const) {
      const m = tx(1518, { backend });
      expect(m.derived.bottleneck, backend).toBe('wire →peer');
      expect(m.derived.utilization['wire →peer'], backend).toBeGreaterThan(0.95);
    }
    const fast = tx(1518, { backend: 'vhost-net', wireGbps: 25 });
    allDelivered(fast);
    expect(fast.derived.bottleneck).toBe('vCPU thread');
    expect(fast.derived.utilization['wire →peer']).toBeLessThan(0.9);
    // vhost-user + guest PMD keeps up with the faster wire: the wire stays its bottleneck.
    const pmd = tx(1518, { backend: 'vhost-user', guestPmd: true, wireGbps: 25 });
    expect(pmd.derived.bottleneck).toBe('wire →peer');
    expect(pmd.derived.throughputGbps).toBeGreaterThan(2 * fast.derived.throughputGbps);
  });

  it('1518 B: the QEMU backend stays bounded by its main loop, not by the wire', () => {
    const m = tx(1518, { backend: 'qemu' });
    expect(m.derived.bottleneck).toBe('QEMU main loop');
    expect(m.derived.utilization['wire →peer']).toBeLessThan(0.8);
  });
});

describe('CALIBRATION §0 bulk TCP at 1500 MTU with TSO/GSO: every paravirtual back-end reaches line rate', () => {
  const BACKENDS = ['qemu', 'vhost-net', 'vhost-user', 'xen-netback', 'vmxnet3'] as const;
  const bulk = (backend: string, tso: boolean): Metrics => tx(1518, { backend, tso }, 20_000);
  /** Cores doing work: every CPU context but the wire, counting a poll-mode core only while it served (not while it spun). */
  const working = (m: Metrics): number =>
    Object.entries(m.derived.cpu).filter(([k]) => k !== 'wire' && k !== 'poll').reduce((s, [, v]) => s + v, 0) + (m.derived.utilization['poll-mode core'] ?? 0);
  const cores = (m: Metrics): number => Object.entries(m.derived.cpu).filter(([k]) => k !== 'wire').reduce((s, [, v]) => s + v, 0);

  it('§0 with TSO, each back-end delivers ≥ 95 % of 10 GbE line rate (C16), the wire being the bottleneck', () => {
    for (const b of BACKENDS) {
      const m = bulk(b, true);
      allDelivered(m, 20_000, b);
      expect(m.params.tso, b).toBe(true);
      expect(m.derived.mpps * 1e6, b).toBeGreaterThanOrEqual(0.95 * lineRateFps(1518));
      expect(m.derived.bottleneck, b).toBe('wire →peer');
    }
  });

  it('§0 "the differences then show up in CPU and exits, not in Gbit/s": TSO cuts cores and exits, and QEMU reaches line rate only with it', () => {
    for (const b of BACKENDS) {
      const on = bulk(b, true);
      const off = bulk(b, false);
      // One guest send, one ring chain, one copy-to-tap per ~43 wire frames instead of one each.
      expect(working(on), b).toBeLessThan(working(off) / 2);
      expect(exitsPP(on), b).toBeLessThanOrEqual(exitsPP(off));
    }
    expect(bulk('qemu', false).derived.mpps * 1e6).toBeLessThan(0.8 * lineRateFps(1518));
    // vhost-user still burns its whole poll core: the most CPU at the same Gbit/s.
    const user = bulk('vhost-user', true);
    const net = bulk('vhost-net', true);
    expect(user.derived.cpu.poll).toBeGreaterThan(0.99);
    expect(cores(user)).toBeGreaterThan(cores(net));
  });
});
