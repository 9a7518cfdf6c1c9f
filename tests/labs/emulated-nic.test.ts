/**
 * The emulated-nic lab both ways (STYLE.md §3.8): the reference scores full marks on every seed
 * tried, the starter fails with the expected checks, and wrong solutions fail with the expected
 * domain messages. Also: a solution hard-coded to the Check seeds fails Grade.
 */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { getLabInfo, gradeSeeds, runLabSeed, formatGradeText } from '../../lab-engine/index.ts';
import { EMULATED_NIC_API } from '../../lab-engine/labs/emulated-nic/api.ts';
import { EXITS_PER_PACKET_MAX, seedConfig } from '../../lab-engine/labs/emulated-nic/lab.ts';

const LAB = 'emulated-nic';
const info = getLabInfo(LAB)!;
const reference = readFileSync(new URL('../../lab-engine/labs/emulated-nic/reference.ts', import.meta.url), 'utf8');
const part1 = readFileSync(new URL('./fixtures/part1-no-moderation.ts', import.meta.url), 'utf8');

const status = (r: ReturnType<typeof gradeSeeds>) => Object.fromEntries(r.tests.map((t) => [t.number, t.status]));
const failing = (r: ReturnType<typeof gradeSeeds>) => r.tests.filter((t) => t.status === 'failed').map((t) => Number(t.number));

/** Replace the body of the reference's transmitRing with something else. */
function mutateReference(find: string, replace: string): string {
  expect(reference.includes(find), `reference contains: ${find}`).toBe(true);
  return reference.replace(find, replace);
}

describe('emulated-nic: reference and starter', () => {
  it('the reference scores 100 on the public seeds and on 40 more', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 40 }, (_, i) => 1000 + i * 7919)];
    const r = gradeSeeds(LAB, reference, seeds, 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
    expect(r.score).toBe(100);
  });

  it('the frozen exits/packet threshold keeps a margin over the reference on every seed', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const o = runLabSeed(LAB, reference, seed);
      if (o.kind !== 'ran') throw new Error('reference did not run');
      const perPacket = o.result.metrics.counters.exitsTotal / Number(o.result.metrics.params['frames']);
      expect(perPacket, `seed ${seed}`).toBeLessThan(EXITS_PER_PACKET_MAX * 0.85);
    }
  });

  it('the starter compiles, runs, and fails every check', () => {
    const r = gradeSeeds(LAB, info.starter, info.publicSeeds, 'check');
    expect(r.score).toBe(0);
    expect(failing(r)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const t = formatGradeText(r);
    expect(t).toMatch(/frame 0 \(descriptors \d+–\d+\) never reached the wire/);
    expect(t).toMatch(/descriptor \d+ \(frame 0, RS set\): DD never set/);
    expect(t).toMatch(/no interrupt was ever raised/);
    expect(t).toMatch(/not run: check 1 .* failed first/);
  });

  it('Part 1 alone passes correctness and fails exactly the two performance checks', () => {
    const r = gradeSeeds(LAB, part1, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([8, 9]);
    expect(r.score).toBe(75);
    expect(formatGradeText(r)).toMatch(/7\.\d\d VM exits per packet; the target is at most 2\.5/);
    expect(formatGradeText(r)).toMatch(/two interrupts came .* apart; ITR=\d+ asks for at least/);
  });
});

describe('emulated-nic: wrong solutions get domain messages', () => {
  it('forgetting the ring wrap-around fails check 3 only among the frame checks', () => {
    // The classic bug: walking while TDH < TDT never processes a tail that has wrapped past 0.
    const src = mutateReference('while (dev.reg(E1000_TDH) !== dev.reg(E1000_TDT)) {', 'while (dev.reg(E1000_TDH) < dev.reg(E1000_TDT)) {');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(status(r)['3']).toBe('failed');
    expect(status(r)['1']).toBe('passed');
    expect(r.tests[2]!.output).toMatch(/frame \d+ \(descriptors \d+–\d+\) never reached the wire/);
  });

  it('sending each descriptor as its own frame (ignoring EOP) fails check 2 with a length message', () => {
    const src = mutateReference('if (lower & E1000_TXD_CMD_EOP) {', 'if (true) {');
    const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
    expect(status(r)['2']).toBe('failed');
    expect(r.tests[1]!.output).toMatch(/frame \d+ is \d+ bytes on the wire, but the guest sent \d+/);
  });

  it('an off-by-one in the buffer read reports the first differing byte', () => {
    const src = mutateReference('pending.push(dev.dmaRead(addr, length));', 'pending.push(dev.dmaRead(addr + 1, length));');
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(r.tests[0]!.output).toMatch(/seed 1: frame 0 payload differs at byte 0 \(expected 0x2, got 0x0\)/);
  });

  it('not writing DD fails check 4 and stalls the guest (check 6)', () => {
    const src = mutateReference('dev.dmaWrite32(at + 12, desc.getUint32(12, true) | E1000_TXD_STAT_DD);', '');
    const r = gradeSeeds(LAB, src, [2], 'check');
    expect(r.tests[3]!.output).toMatch(/seed 2: descriptor \d+ \(frame 0, RS set\): DD never set/);
    expect(r.tests[5]!.status).toBe('failed');
  });

  it('writing the whole descriptor back with a wrong length is caught as corruption', () => {
    const src = mutateReference('dev.dmaWrite32(at + 12, desc.getUint32(12, true) | E1000_TXD_STAT_DD);', 'dev.dmaWrite32(at + 8, 0); dev.dmaWrite32(at + 12, E1000_TXD_STAT_DD);');
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(r.tests[6]!.output).toMatch(/descriptor \d+: the device overwrote its length/);
  });

  it('a stray DMA write and a read outside guest RAM are reported with addresses', () => {
    const src = mutateReference('dev.transmit(frame);', 'dev.transmit(frame); dev.dmaWrite32(0x10, 1); dev.dmaRead(0x7fffffff, 4);');
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(r.tests[6]!.output).toMatch(/DMA read of 4 B at 0x7fffffff is outside guest RAM/);
    expect(r.tests[6]!.output).toMatch(/DMA write of 4 B at 0x10 is outside the TX descriptor ring/);
  });

  it('code that throws stops the run with the learner line and fails every check', () => {
    const src = mutateReference('const lower = desc.getUint32(8, true);', 'const lower = (desc as any).nope.x;');
    const line = src.split('\n').findIndex((l) => l.includes('(desc as any).nope.x')) + 1;
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind).toBe('ran');
    if (o.kind !== 'ran') return;
    const d = o.result.diagnostics.find((x) => x.code === 'learner-threw')!;
    expect(d.line).toBe(line);
    expect(d.message).toMatch(new RegExp(`Your onRegisterWrite\\(\\) threw TypeError: .* at line ${line}, while handling the guest's write of TDT`));
    expect(gradeSeeds(LAB, src, [1], 'check').score).toBe(0);
  });

  it('syntax errors and a missing export are reported before any run', () => {
    const o = runLabSeed(LAB, 'export function onRegisterWrite(dev {\n}', 1);
    expect(o.kind).toBe('compile-error');
    if (o.kind === 'compile-error') expect(o.diagnostics[0]!.message).toMatch(/Syntax error: .*line 1/);
    const m = runLabSeed(LAB, 'export const x = 1;', 1);
    expect(m.kind === 'compile-error' && m.diagnostics[0]!.message).toMatch(/must export a function onRegisterWrite/);
    const imp = runLabSeed(LAB, "import fs from 'fs';\nexport function onRegisterWrite() { fs.x(); }", 1);
    expect(imp.kind === 'compile-error' && imp.diagnostics[0]!.message).toMatch(/Cannot import 'fs'/);
  });

  it('a Device kept past its call is refused with a clear message', () => {
    const src = `let saved: any;\nexport function onRegisterWrite(dev: any, off: number) {\n  if (saved) saved.setCause(1);\n  saved = dev;\n}`;
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind === 'ran' && o.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/called after the handler it was passed to returned/);
  });
});

describe('emulated-nic: seeds and integrity', () => {
  it('seeds vary ring size, start, frame count, ITR and addresses', () => {
    const cfgs = Array.from({ length: 12 }, (_, i) => seedConfig(i + 1));
    for (const k of ['txCount', 'txStart', 'frames', 'itr', 'txBase', 'bufferBase'] as const) {
      expect(new Set(cfgs.map((c) => c[k])).size, k).toBeGreaterThan(1);
    }
  });

  it('a solution hard-coded to the Check seeds passes Check but fails Grade', () => {
    // Record what the reference put on the wire for each public seed, then replay it blindly.
    const recorded: Record<number, number[][]> = {};
    for (const seed of info.publicSeeds) {
      const frames: number[][] = [];
      const spy = reference.replace('dev.transmit(frame);', 'dev.transmit(frame); (globalThis as any).__frames.push(Array.from(frame));');
      (globalThis as any).__frames = frames;
      runLabSeed(LAB, spy, seed);
      recorded[seed] = frames;
    }
    // The cheat identifies the seed from the ring size + start it sees, and replays frames.
    const fingerprints: Record<string, number> = {};
    for (const seed of info.publicSeeds) {
      const c = seedConfig(seed);
      fingerprints[`${c.txCount * 16}:${c.txStart}`] = seed;
    }
    const cheat = `
      import { type Device, E1000_TDT, E1000_TDH, E1000_TDLEN, E1000_TDBAL, E1000_IMS, E1000_ITR, E1000_ICR_TXDW, E1000_ICR_TXQE, E1000_TXD_STAT_DD } from 'iovlab/emulated-nic';
      const FRAMES: Record<number, number[][]> = ${JSON.stringify(recorded)};
      const FP: Record<string, number> = ${JSON.stringify(fingerprints)};
      let seed = -1, sent = 0, start = -1, hold = false;
      export function onRegisterWrite(dev: Device, off: number) {
        if (start < 0 && off === E1000_TDT) { start = dev.reg(E1000_TDH); seed = FP[dev.reg(E1000_TDLEN) + ':' + start] ?? -1; }
        if (off === E1000_TDT) {
          const n = dev.reg(E1000_TDLEN) / 16;
          while (dev.reg(E1000_TDH) !== dev.reg(E1000_TDT)) {
            const i = dev.reg(E1000_TDH);
            dev.dmaWrite32(dev.reg(E1000_TDBAL) + i * 16 + 12, E1000_TXD_STAT_DD);
            dev.setReg(E1000_TDH, (i + 1) % n);
          }
          const list = FRAMES[seed] ?? [];
          while (sent < list.length && sent < 1e9) { dev.transmit(new Uint8Array(list[sent++]!)); break; }
          dev.setCause(E1000_ICR_TXDW | E1000_ICR_TXQE);
        }
        if (!hold && dev.raiseInterrupt()) { hold = true; dev.startTimer(dev.reg(E1000_ITR) * 256); }
      }
      export function onTimer(dev: Device) { hold = false; if (dev.raiseInterrupt()) { hold = true; dev.startTimer(dev.reg(E1000_ITR) * 256); } }
    `;
    const check = gradeSeeds(LAB, cheat, info.publicSeeds, 'check');
    const fresh = [987654321, 123456789, 555555555];
    const grade = gradeSeeds(LAB, cheat, [...info.publicSeeds, ...fresh], 'grade');
    expect(grade.score).toBeLessThan(check.score);
    expect(grade.score).toBeLessThan(50);
    expect(formatGradeText(grade)).toMatch(/seed 987654321/);
  });

  it('the API declarations agree with the runtime values, and reference + starter type-check against them', () => {
    for (const [name, value] of Object.entries(EMULATED_NIC_API)) {
      const m = new RegExp(`export const ${name}: (0x[0-9a-f]+|\\d+);`).exec(info.apiDts);
      expect(m, name).not.toBeNull();
      expect(Number(m![1]), name).toBe(value);
    }
    expect(typecheck(info.apiDts, { reference, starter: info.starter, part1 })).toBe('');
  });
});
