/**
 * Isolation of an assigned NIC (DESIGN.md §3 model 3: "a DMA outside the VM's mappings faults,
 * never lands"), as a property over random rogue DMA patterns issued by the NIC with its own
 * requester id while traffic runs: targets in the holes between guest RAM regions, past the end of
 * RAM, beyond the 48-bit IOVA space, across the end of a mapped region into a hole, and into a
 * region after QEMU unplugged it; reads and writes of 1 B to 3 pages. For every pattern: each rogue
 * DMA fails, raises the fault event (the DMAR handler logs it), the neighbour VM's memory, the
 * host's IRT and PI descriptors and the unplugged region are byte-identical before and after, and
 * the normal traffic still arrives intact. Spoofed MSIs from another requester are blocked.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { passthroughDefaults, runPassthrough, type PassthroughConfig, type RogueDma } from '../../lab-engine/scenarios/passthrough.ts';
import { GUEST_HPA_BASE, IRT_BASE, IRT_ENTRIES, PID_BASE, type GuestRamRegion } from '../../lab-engine/hv/assignment.ts';
import { PID_SIZE } from '../../lab-engine/hw/iommu/posted.ts';
import { IRTE_SIZE, requesterId } from '../../lab-engine/hw/iommu/irq-remap.ts';
import type { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { hashText } from '../../lab-engine/index.ts';

const MiB = 1024 * 1024;
const PAGE = 4096;
/** low RAM, a hole, RAM (the driver's), a hole, a hot-pluggable DIMM; the neighbour VM follows in host memory. */
const REGIONS: GuestRamRegion[] = [
  { name: 'low RAM', gpa: 0, size: 0xa_0000, hpa: GUEST_HPA_BASE, vaddr: 0x7f00_0000_0000, hugepages: false },
  { name: 'RAM', gpa: 1 * MiB, size: 47 * MiB, hpa: GUEST_HPA_BASE + 1 * MiB, vaddr: 0x7f00_0010_0000, hugepages: false },
  { name: 'DIMM', gpa: 64 * MiB, size: 16 * MiB, hpa: GUEST_HPA_BASE + 64 * MiB, vaddr: 0x7f00_0400_0000, hugepages: false },
];
const END = 80 * MiB;
/** The guest boots (config space, MSI-X, rings) in ≈ 0.25 ms; the hooks fire while traffic runs, after that. */
const UNPLUG_AT = 600_000;
const FRAMES = 200;

type Target = 'vga-hole' | 'mid-hole' | 'past-end' | 'beyond-48-bit' | 'crossing' | 'unplugged';
const targetArb = fc.constantFrom<Target>('vga-hole', 'mid-hole', 'past-end', 'beyond-48-bit', 'crossing', 'unplugged');
const rogueArb = fc.record({ target: targetArb, offset: fc.integer({ min: 0, max: 0xf_ffff }), len: fc.integer({ min: 1, max: 3 * PAGE }), write: fc.boolean(), at: fc.integer({ min: 400_000, max: 1_000_000 }) });

function place(r: { target: Target; offset: number; len: number; write: boolean; at: number }, i: number): RogueDma {
  const o = r.offset;
  const len = r.target === 'crossing' ? Math.max(2, r.len) : r.len; // at least one byte on each side
  const iova = {
    'vga-hole': 0xa_0000 + (o % (0x6_0000 - r.len)),
    'mid-hole': 48 * MiB + (o % (16 * MiB - r.len)),
    'past-end': END + o * 64,
    'beyond-48-bit': 2 ** 48 + o,
    'crossing': 48 * MiB - 1 - (o % (len - 1)), // starts in RAM, ends in the hole
    'unplugged': 64 * MiB + (o % (16 * MiB - r.len)),
  }[r.target];
  const atNs = r.target === 'unplugged' ? Math.max(r.at, UNPLUG_AT + 20_000) : r.at;
  return { atNs, iova, len, write: r.write, label: `rogue ${i} (${r.target})` };
}

/** Fill a few pages with a pattern and return a fingerprint reader over them. */
function seedPages(mem: GuestMemory, base: number, pages: number, salt: number): () => string {
  for (let p = 0; p < pages; p++) mem.write(base + p * PAGE, new Uint8Array(PAGE).map((_, i) => (i * 31 + p + salt) & 0xff));
  return () => hashText(Array.from(mem.read(base, pages * PAGE)).join(','));
}

describe('isolation: no rogue DMA of an assigned NIC lands (property)', () => {
  it('over random rogue patterns: every one faults, nothing outside guest RAM changes, traffic arrives intact', () => {
    fc.assert(
      fc.property(fc.array(rogueArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 1000 }), (specs, seed) => {
        const rogue = specs.map(place);
        const results: { rogue: boolean; ok: boolean; label?: string }[] = [];
        let neighbour: (() => string) | undefined;
        let dimm: (() => string) | undefined;
        let before = { neighbour: '', dimm: '', host: '' };
        let hostBytes: (() => string) | undefined;
        const made: Uint8Array[] = [];
        const got: Uint8Array[] = [];
        const cfg: PassthroughConfig = {
          ...passthroughDefaults(), scenario: 'isolation', seed, workload: 'rx', packets: FRAMES, size: 1518, offeredGbps: 2,
          irq: 'remapped', guestRam: REGIONS, rogue, unplug: { region: 'DIMM', atNs: UNPLUG_AT },
          spoofMsi: [{ atNs: 350_000, sourceId: requesterId(0x40, 0, 0), vector: 0 }],
          onStart: (h) => {
            const a = h.assigned!;
            neighbour = seedPages(a.neighbour.mem, 0, 64, seed);
            dimm = seedPages(h.guestMem, 64 * MiB, 16, seed + 1);
            hostBytes = () => hashText(Array.from(a.kernelMem.read(IRT_BASE, IRT_ENTRIES * IRTE_SIZE)).join(',') + '|' + Array.from(a.kernelMem.read(PID_BASE, PID_SIZE)).join(','));
            // Snapshot once the guest has booted (IRTEs programmed), before the first rogue DMA.
            h.env.sched.at(Math.min(...rogue.map((r) => r.atNs)) - 1, () => {
              before = { neighbour: neighbour!(), dimm: dimm!(), host: hostBytes!() };
            });
          },
          onDma: (e) => results.push({ rogue: e.rogue, ok: e.result.ok }),
          makeRxFrame: (pkt) => {
            const b = new Uint8Array(1514).map((_, i) => (i * 13 + pkt * 7 + seed) & 0xff);
            b[14] = 0; b[15] = 0; b[16] = pkt >> 8; b[17] = pkt & 0xff;
            made.push(b);
            return b;
          },
          onGuestFrameReceived: (b) => got.push(b),
        };
        const { result, host } = runPassthrough(cfg);
        const a = host.assigned!;
        const rogues = results.filter((r) => r.rogue);
        expect(rogues.length).toBe(rogue.length);
        expect(rogues.every((r) => !r.ok)).toBe(true);
        expect(result.metrics.counters.iommuFaults).toBeGreaterThanOrEqual(rogue.length);
        // The fault event ran: the DMAR handler logged the faults it read.
        expect(result.diagnostics.some((d) => d.code === 'iommu-fault' && d.message.startsWith('DMAR: IOMMU fault: device 03:00.0'))).toBe(true);
        // Nothing outside the VM's mapped RAM changed.
        expect(neighbour!()).toBe(before.neighbour);
        expect(dimm!()).toBe(before.dimm);
        expect(hostBytes!()).toBe(before.host);
        expect(a.neighbour.mem.pagesTouched).toBe(64);
        // The spoofed MSI was blocked by source-id validation.
        expect(result.diagnostics.some((d) => d.code === 'msi-spoof-blocked')).toBe(true);
        expect(result.metrics.counters.interruptFaults).toBeGreaterThanOrEqual(1);
        // The normal traffic arrived, byte for byte, in order.
        expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(result.metrics.counters.drops).toBe(0);
        expect(got.length).toBe(FRAMES);
        for (let i = 0; i < FRAMES; i++) expect(got[i]).toEqual(made[i]);
      }),
      { numRuns: 25, seed: 4242 },
    );
  });

  it('the unplugged region is really gone: a DMA that worked before the unplug faults after it', () => {
    const r = (atNs: number): RogueDma => ({ atNs, iova: 64 * MiB + 0x1000, len: 64, write: true, label: 'into the DIMM' });
    const seen: boolean[] = [];
    const { result } = runPassthrough({
      ...passthroughDefaults(), scenario: 'unplug', seed: 1, workload: 'tx', packets: 1200, size: 64, guestRam: REGIONS,
      rogue: [r(400_000), r(UNPLUG_AT + 50_000)], unplug: { region: 'DIMM', atNs: UNPLUG_AT },
      onDma: (e) => e.rogue && seen.push(e.result.ok),
    });
    expect(seen).toEqual([true, false]); // mapped guest RAM before (the guest's own memory), gone after
    expect(result.diagnostics.some((d) => d.code === 'region-unplugged')).toBe(true);
    expect(result.diagnostics.filter((d) => d.code === 'iommu-fault').length).toBe(1);
  });

  it('on bare metal without an IOMMU the same DMA lands: nothing checks it (the reason for VT-d)', () => {
    const seen: boolean[] = [];
    runPassthrough({
      ...passthroughDefaults(), scenario: 'bare', seed: 1, workload: 'tx', packets: 600, size: 64, setup: 'baremetal', guestRam: REGIONS,
      rogue: [{ atNs: 300_000, iova: 64 * MiB, len: 64, write: true, label: 'anywhere' }],
      onDma: (e) => e.rogue && seen.push(e.result.ok),
    });
    expect(seen).toEqual([true]);
  });
});
