/**
 * The virtio-backend lab both ways (STYLE.md §3.8): the reference scores full marks on every seed
 * tried, the starter fails with the expected checks, and wrong solutions — each one a classic
 * device-side virtio bug — fail with the expected domain messages. Also: a solution hard-coded
 * to the Check seeds fails Grade, and a chain that loops never hangs the grader.
 */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { getLabInfo, gradeSeeds, runLabSeed, formatGradeText } from '../../lab-engine/index.ts';
import { VIRTIO_BACKEND_API } from '../../lab-engine/labs/virtio-backend/api.ts';
import { EXITS_PER_FRAME_MAX, INTERRUPTS_PER_FRAME_MAX, seedConfig } from '../../lab-engine/labs/virtio-backend/lab.ts';

const LAB = 'virtio-backend';
const info = getLabInfo(LAB)!;
const reference = readFileSync(new URL('../../lab-engine/labs/virtio-backend/reference.ts', import.meta.url), 'utf8');

const failing = (r: ReturnType<typeof gradeSeeds>) => r.tests.filter((t) => t.status === 'failed').map((t) => Number(t.number));

function mutate(find: string, replace: string, src = reference): string {
  expect(src.includes(find), `reference contains: ${find}`).toBe(true);
  return src.replace(find, replace);
}

/** Seeds with a given property, from a deterministic scan. */
function seedsWhere(pred: (c: ReturnType<typeof seedConfig>) => boolean, n: number): number[] {
  const out: number[] = [];
  for (let s = 1; out.length < n && s < 10_000; s++) if (pred(seedConfig(s))) out.push(s);
  return out;
}

describe('virtio-backend: reference and starter', () => {
  it('the reference scores 100 on the public seeds and on 40 more', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 40 }, (_, i) => 1000 + i * 7919)];
    const r = gradeSeeds(LAB, reference, seeds, 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
  });

  it('the frozen interrupts- and exits-per-frame thresholds keep a ≥ 15 % margin over the reference on 200 seeds', () => {
    let worstIrq = 0;
    let worstExits = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const o = runLabSeed(LAB, reference, seed);
      if (o.kind !== 'ran') throw new Error('reference did not run');
      expect(o.findings, `seed ${seed}`).toEqual([]);
      const p = o.result.metrics.params as Record<string, number>;
      worstIrq = Math.max(worstIrq, p['gradedInterrupts']! / p['gradedFrames']!);
      worstExits = Math.max(worstExits, p['gradedExits']! / p['gradedFrames']!);
    }
    expect(worstIrq).toBeLessThan(INTERRUPTS_PER_FRAME_MAX * 0.85);
    expect(worstExits).toBeLessThan(EXITS_PER_FRAME_MAX * 0.85);
  });

  it('the starter compiles, runs, and fails every check', () => {
    const r = gradeSeeds(LAB, info.starter, info.publicSeeds, 'check');
    expect(r.score).toBe(0);
    expect(failing(r)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const t = formatGradeText(r);
    expect(t).toMatch(/frame 0 \(a chain of 2 descriptors, head 0\) never reached the wire/);
    expect(t).toMatch(/the guest received 0 of the \d+ frames sent to it/);
    expect(t).toMatch(/the driver waited forever/);
    expect(t).toMatch(/your device accepted it without reporting it — it must call host.needsReset\(\)/);
  });
});

describe('virtio-backend: wrong solutions get domain messages', () => {
  it('forgetting the 16-bit wrap of lastAvail fails the wrap check', () => {
    // Comparing the free-running indices without "mod 65536": once avail.idx wraps to a small
    // number, availIdx − lastAvail is negative and the device thinks the ring is empty.
    const src = mutate('const pending = (availIdx - q.lastAvail) & 0xffff;\n  if (pending === 0) return undefined;', 'const pending = availIdx - q.lastAvail;\n  if (pending <= 0) return undefined;');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toContain(3);
    expect(formatGradeText(r)).toMatch(/added after avail.idx wrapped past 65535/);
  });

  it('ignoring INDIRECT fails the chains check on seeds that negotiate it', () => {
    const src = mutate('if (flags & VIRTQ_DESC_F_INDIRECT) {', 'if (false) {');
    const seeds = seedsWhere((c) => c.indirect, 2);
    const r = gradeSeeds(LAB, src, seeds, 'check');
    expect(failing(r)).toContain(2);
    expect(formatGradeText(r)).toMatch(/an indirect table of \d+ descriptors/);
  });

  it('following only the head descriptor (no NEXT) sends a bare header, refused with the learner\'s line', () => {
    const src = mutate('if (!(flags & VIRTQ_DESC_F_NEXT)) break;', 'break;');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([1, 2]));
    expect(formatGradeText(r)).toMatch(/threw RangeError: host.transmit: a 0-byte frame cannot be an Ethernet frame \(14–16384 bytes\) at line \d+/);
  });

  it('never interrupting is a lost interrupt, reported with used_event and used.idx', () => {
    const src = mutate('if (wants) host.interrupt();', '');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toContain(5);
    expect(formatGradeText(r)).toMatch(/the driver waited forever from .*asked to be interrupted at used index \d+ \(used_event; EVENT_IDX (on|off)/);
  });

  it('interrupting after every frame fails only the performance check', () => {
    const src = mutate('if (wants) host.interrupt();', 'host.interrupt(); void wants;');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([8]);
    expect(formatGradeText(r)).toMatch(/interrupts for \d+ frames = [\d.]+ per frame; the target is at most 0.6/);
  });

  it('a used length without the header fails RX with a length message', () => {
    const src = mutate('addUsed(q, c.head, need);', 'addUsed(q, c.head, frame.length);');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toContain(4);
    expect(formatGradeText(r)).toMatch(/must count the 12-byte header plus the frame/);
  });

  it('no chain validation: a looping chain hits the access budget, never hangs, and is reported', () => {
    const src = mutate("if (++steps > tableLen) return { error: `the chain from head ${head} is longer than its table: a NEXT loop` };", '');
    const loops = seedsWhere((c) => c.fault === 'loop' || c.fault === 'indirect-loop', 2);
    const t0 = performance.now();
    const r = gradeSeeds(LAB, src, loops, 'check');
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(failing(r)).toEqual([6]);
    expect(formatGradeText(r)).toMatch(/kept walking descriptors until the access budget ran out/);
  });

  it('a stray write (the device touching the avail ring) fails the ring invariant with its address', () => {
    const src = mutate('host.transmit(all.subarray(NET_HDR_SIZE));', 'host.transmit(all.subarray(NET_HDR_SIZE)); q.mem.write16(q.avail, 0);');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toContain(7);
    expect(formatGradeText(r)).toMatch(/your device wrote 2 B at 0x[0-9a-f]+ while serving queue 1: a device writes only its used ring/);
  });

  it('returning the same chain twice is caught by the driver (each chain returned once)', () => {
    const src = mutate('addUsed(q, c.head, 0);', 'addUsed(q, c.head, 0); if (q.usedIdx % 50 === 0) addUsed(q, c.head, 0);');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(failing(r)).toContain(7);
    expect(formatGradeText(r)).toMatch(/not a buffer the driver made available/);
  });

  it('code that throws stops the run with the learner line', () => {
    const src = mutate('const parts = c.segs.map', 'if (q.usedIdx % 7 === 3) (c as any).nope.x = 1;\n    const parts = c.segs.map');
    const line = src.split('\n').findIndex((l) => l.includes('(c as any).nope.x')) + 1;
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind).toBe('ran');
    if (o.kind !== 'ran') return;
    const d = o.result.diagnostics.find((x) => x.code === 'learner-threw')!;
    expect(d.line).toBe(line);
    expect(d.message).toMatch(/Your serveTx\(\) threw TypeError: .* at line \d+, while handling a kick of the TX queue/);
  });

  it('syntax errors and a missing export are reported before any run', () => {
    const syn = runLabSeed(LAB, 'export function serveTx( {', 1);
    expect(syn.kind).toBe('compile-error');
    const missing = runLabSeed(LAB, 'export function serveTx() {}', 1);
    expect(missing.kind).toBe('compile-error');
    if (missing.kind === 'compile-error') expect(missing.diagnostics[0]!.message).toMatch(/serveTx\(q, host\) and receive\(q, frame, host\)/);
  });
});

describe('virtio-backend: seeds and integrity', () => {
  it('seeds vary queue size, start index, EVENT_IDX, INDIRECT, frame counts, addresses and the fault', () => {
    const cfgs = Array.from({ length: 40 }, (_, i) => seedConfig(i + 1));
    for (const key of ['queueSize', 'startIdx', 'eventIdx', 'indirect', 'txFrames', 'rxFrames', 'bufferBase', 'faultAt', 'fault'] as const) {
      expect(new Set(cfgs.map((c) => c[key])).size, key).toBeGreaterThan(1);
    }
    for (const c of cfgs) expect(c.startIdx).toBeGreaterThan(65536 - 128);
  });

  it('a solution that recognises the Check seeds\' bad chains by frame number fails Grade', () => {
    // It never validates chains: it resets when it reaches the frame the public seeds corrupt.
    const known = info.publicSeeds.map((s) => seedConfig(s).faultAt);
    const cheat = mutate('export function serveTx(q: Queue, host: Host): void {', `const KNOWN = ${JSON.stringify(known)};
let served = 0;
export function serveTx(q: Queue, host: Host): void {
  if (KNOWN.includes(served) && (q.mem.read16(q.avail + 2) - q.lastAvail & 0xffff) > 0 && q.scratch.fault === undefined) { q.scratch.fault = 1; return host.needsReset('known bad frame'); }`)
      .replace(/if \(\+\+steps > tableLen\)[^\n]*\n/, '')
      .replace(/if \(head >= q\.size\)[^\n]*\n/, '')
      .replace(/if \(next >= tableLen\)[^\n]*\n/, '')
      .replace('host.transmit(all.subarray(NET_HDR_SIZE));', 'host.transmit(all.subarray(NET_HDR_SIZE)); served++;');
    const check = gradeSeeds(LAB, cheat, info.publicSeeds, 'check');
    const fresh = [987654321, 123456789, 555555555];
    const grade = gradeSeeds(LAB, cheat, [...info.publicSeeds, ...fresh], 'grade');
    expect(grade.tests.find((t) => t.number === '6')!.status).toBe('failed');
    expect(grade.score).toBeLessThanOrEqual(check.score);
  });

  it('the same source and seed give the same result (determinism)', () => {
    const a = runLabSeed(LAB, reference, 5);
    const b = runLabSeed(LAB, reference, 5);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('the API declarations agree with the runtime values, and reference + starter type-check against them', () => {
    for (const [name, value] of Object.entries(VIRTIO_BACKEND_API)) {
      if (typeof value === 'function') {
        expect(info.apiDts, name).toMatch(new RegExp(`export function ${name}\\(`));
        continue;
      }
      const m = new RegExp(`export const ${name}: (0x[0-9a-f]+|\\d+);`).exec(info.apiDts);
      expect(m, name).not.toBeNull();
      expect(Number(m![1]), name).toBe(value);
    }
    expect(typecheck(info.apiDts, { reference, starter: info.starter })).toBe('');
  });
});
