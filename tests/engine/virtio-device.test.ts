/**
 * The virtio-net device model end to end (virtio 1.2 §2.1, §3.1.1, §2.7.5): feature negotiation
 * as the driver sees it through MMIO, and what every back-end does with a ring the guest
 * corrupted — DEVICE_NEEDS_RESET with a reason, never a hang, never an exception.
 */
import { describe, expect, it } from 'vitest';
import { runParavirt, paravirtDefaults } from '../../lab-engine/scenarios/paravirt.ts';
import { VirtioNetDevice, BAR, COMMON } from '../../lab-engine/hw/virtio/net-device.ts';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { Meter, type HostEnv } from '../../lab-engine/hv/host.ts';
import { Scheduler } from '../../lab-engine/sim/scheduler.ts';
import { MetricsRecorder } from '../../lab-engine/sim/metrics.ts';
import { Trace } from '../../lab-engine/sim/trace.ts';
import { Rng } from '../../lab-engine/sim/rng.ts';
import * as S from '../../lab-engine/hw/virtio/spec.ts';
import type { VirtioPair } from '../../lab-engine/guest/virtio-net-driver.ts';
import type { BackendKind } from '../../lab-engine/hv/virtio-backends.ts';

function env(): HostEnv {
  return { sched: new Scheduler(), metrics: new MetricsRecorder(), trace: new Trace(100), rng: new Rng(1), diagnostics: [] };
}

describe('virtio-net: status and feature negotiation (§3.1.1)', () => {
  const offered = S.features(S.VIRTIO_F_VERSION_1, S.VIRTIO_F_EVENT_IDX, S.VIRTIO_NET_F_MAC);
  const make = () => {
    const e = env();
    const dev = new VirtioNetDevice(e, new GuestMemory(1 << 20), { mac: [2, 0, 0, 0, 0, 1], maxPairs: 1, queueMaxSize: 256, offered, ioeventfd: true });
    const m = new Meter(e, e.metrics.resource('t'), 0);
    const w = (off: number, v: number) => dev.mmioWrite(BAR.common + off, v, m);
    const r = (off: number) => dev.mmioRead(BAR.common + off);
    return { dev, w, r };
  };

  it('offers its features in two 32-bit halves, accepts a subset with VERSION_1, and FEATURES_OK sticks', () => {
    const { dev, w, r } = make();
    w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
    w(COMMON.deviceFeatureSelect, 0);
    expect(r(COMMON.deviceFeature)).toBe(offered.lo);
    w(COMMON.deviceFeatureSelect, 1);
    expect(r(COMMON.deviceFeature)).toBe(offered.hi);
    w(COMMON.driverFeatureSelect, 1);
    w(COMMON.driverFeature, 1); // VERSION_1 (bit 32)
    w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK);
    expect(r(COMMON.deviceStatus) & S.STATUS_FEATURES_OK).toBe(S.STATUS_FEATURES_OK);
    expect(dev.has(S.VIRTIO_F_VERSION_1)).toBe(true);
    expect(dev.has(S.VIRTIO_F_EVENT_IDX)).toBe(false);
  });

  it('refuses a subset without VERSION_1 or with a feature it never offered: FEATURES_OK does not stick', () => {
    for (const [lo, hi] of [[1 << S.VIRTIO_NET_F_MAC, 0], [(1 << S.VIRTIO_NET_F_MQ) >>> 0, 1]] as const) {
      const { w, r } = make();
      w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
      w(COMMON.driverFeatureSelect, 0);
      w(COMMON.driverFeature, lo);
      w(COMMON.driverFeatureSelect, 1);
      w(COMMON.driverFeature, hi);
      w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK);
      expect(r(COMMON.deviceStatus) & S.STATUS_FEATURES_OK).toBe(0);
    }
  });

  it('writing 0 resets the device: status, features and queues', () => {
    const { dev, w, r } = make();
    w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE);
    w(COMMON.driverFeatureSelect, 1);
    w(COMMON.driverFeature, 1);
    w(COMMON.deviceStatus, 0);
    expect(r(COMMON.deviceStatus)).toBe(0);
    expect(dev.driverFeatures).toEqual({ lo: 0, hi: 0 });
  });

  it('a queue size that is not a power of 2, or larger than offered, is ignored (§4.1.4.3.2)', () => {
    const { w, r } = make();
    w(COMMON.queueSelect, 1);
    w(COMMON.queueSize, 100);
    expect(r(COMMON.queueSize)).toBe(256);
    w(COMMON.queueSize, 512);
    expect(r(COMMON.queueSize)).toBe(256);
    w(COMMON.queueSize, 64);
    expect(r(COMMON.queueSize)).toBe(64);
  });

  it('the guest driver negotiates through MMIO exits before traffic: VERSION_1, EVENT_IDX, INDIRECT', () => {
    const { result, host } = runParavirt({ ...paravirtDefaults(), scenario: 't', seed: 1, workload: 'tx', packets: 10, size: 64 });
    expect(result.metrics.stop).toBe('done');
    expect(host.dev.status).toBe(S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER | S.STATUS_FEATURES_OK | S.STATUS_DRIVER_OK);
    for (const bit of [S.VIRTIO_F_VERSION_1, S.VIRTIO_F_EVENT_IDX, S.VIRTIO_F_INDIRECT_DESC]) expect(host.dev.has(bit)).toBe(true);
    expect(host.dev.has(S.VIRTIO_NET_F_MQ)).toBe(false);
  });
});

type Corruption = 'loop' | 'next-range' | 'head-range' | 'write-then-read' | 'indirect-next' | 'indirect-len' | 'avail-jump';

/** Corrupt the TX chain just added, as a buggy or hostile driver could. */
function corrupt(pair: VirtioPair, head: number, availIdx: number, kind: Corruption): void {
  const mem = pair.drv.mem;
  const L = pair.layout.tx;
  const d = (i: number) => L.desc + S.DESC_SIZE * i;
  const flags = mem.read16(d(head) + S.DESC_FLAGS);
  const second = mem.read16(d(head) + S.DESC_NEXT);
  switch (kind) {
    case 'loop':
      mem.write16(d(second) + S.DESC_FLAGS, mem.read16(d(second) + S.DESC_FLAGS) | S.VIRTQ_DESC_F_NEXT);
      mem.write16(d(second) + S.DESC_NEXT, head);
      return;
    case 'next-range':
      mem.write16(d(head) + S.DESC_NEXT, L.size + 7);
      return;
    case 'head-range':
      mem.write16(L.avail + S.AVAIL_RING + 2 * (availIdx % L.size), L.size);
      return;
    case 'write-then-read':
      mem.write16(d(head) + S.DESC_FLAGS, flags | S.VIRTQ_DESC_F_WRITE);
      return;
    case 'indirect-next':
      mem.write16(d(head) + S.DESC_FLAGS, S.VIRTQ_DESC_F_INDIRECT | S.VIRTQ_DESC_F_NEXT);
      mem.write32(d(head) + S.DESC_LEN, 32);
      return;
    case 'indirect-len':
      mem.write16(d(head) + S.DESC_FLAGS, S.VIRTQ_DESC_F_INDIRECT);
      mem.write32(d(head) + S.DESC_LEN, 20);
      return;
    case 'avail-jump':
      mem.write16(L.avail + S.AVAIL_IDX, (availIdx + L.size + 5) & 0xffff);
      return;
  }
}

describe('a corrupted ring puts the device in NEEDS_RESET, on every back-end', () => {
  const kinds: Corruption[] = ['loop', 'next-range', 'head-range', 'write-then-read', 'indirect-next', 'indirect-len', 'avail-jump'];
  const backends: BackendKind[] = ['qemu', 'vhost-net', 'vhost-user', 'xen-netback', 'vmxnet3'];
  for (const backend of backends) {
    it(`${backend}: each corruption stops the run with a reason, before the bad frame reaches the wire`, () => {
      for (const kind of kinds) {
        let atPeer = 0;
        const { result, host } = runParavirt({
          ...paravirtDefaults(), scenario: 't', seed: 3, workload: 'tx', packets: 60, size: 256, backend,
          // Frames of two fragments: chains of three descriptors (header + 2).
          makeFrame: (pkt) => {
            const bytes = new Uint8Array(256 - 4);
            bytes[17] = pkt & 0xff;
            return { pkt, bytes, fragments: [{ gpa: 0x400000 + pkt * 4096, len: 100 }, { gpa: 0x400000 + pkt * 4096 + 2048, len: 152 }] };
          },
          indirect: false,
          onTxAdded: (pair, frame, head, availIdx) => {
            // avail.idx is rewritten by the driver's next add: jump it on the last frame.
            if (frame.pkt === (kind === 'avail-jump' ? 59 : 20)) corrupt(pair, head, availIdx, kind);
          },
          onFrameToPeer: () => atPeer++,
          untilNs: 50_000_000,
        });
        const label = `${backend} / ${kind}`;
        expect(result.metrics.stop, label).toBe('error');
        expect(host.dev.status & S.STATUS_NEEDS_RESET, label).toBe(S.STATUS_NEEDS_RESET);
        const d = result.diagnostics.find((x) => x.code === 'virtio-needs-reset');
        expect(d?.message, label).toMatch(/DEVICE_NEEDS_RESET: queue 1 \(TX\): /);
        expect(atPeer, label).toBeLessThanOrEqual(kind === 'avail-jump' ? 59 : 20);
      }
    });
  }

  it('the reasons name what is wrong, in the spec\'s terms', () => {
    const reasons = new Map<Corruption, RegExp>([
      ['loop', /longer than the queue size .*NEXT loop/],
      ['next-range', /continues to \d+, out of range for queue size/],
      ['head-range', /names descriptor \d+, out of range for queue size/],
      ['write-then-read', /device-readable after a device-writable one/],
      ['indirect-next', /both INDIRECT and NEXT/],
      ['indirect-len', /length 20, not a non-zero multiple of 16/],
      ['avail-jump', /avail.idx is \d+ but the device has only taken \d+/],
    ]);
    for (const [kind, re] of reasons) {
      const { result } = runParavirt({
        ...paravirtDefaults(), scenario: 't', seed: 3, workload: 'tx', packets: 40, size: 256, backend: 'vhost-net', indirect: true,
        makeFrame: (pkt) => ({ pkt, bytes: new Uint8Array(252), fragments: [{ gpa: 0x400000 + pkt * 4096, len: 252 }] }),
        onTxAdded: (pair, frame, head, availIdx) => {
          if (frame.pkt === (kind === 'avail-jump' ? 39 : 10)) corrupt(pair, head, availIdx, kind);
        },
      });
      expect(result.diagnostics.find((x) => x.code === 'virtio-needs-reset')?.message, kind).toMatch(re);
    }
  });
});
