/**
 * Hidden seeds (DESIGN.md §4, §8): a submission made with Grade replays exactly its recorded
 * seeds (the browser's score); a salt adds seeds no learner has seen, different for every
 * learner. A solution hard-coded to the recorded seeds passes the replay and fails the salt.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLabInfo, gradeSeeds, listLabs } from '../../lab-engine/index.ts';
import { seedConfig } from '../../lab-engine/labs/emulated-nic/lab.ts';
import { MIN_HIDDEN_SEEDS, saltedSeeds } from '../../lab-engine/node/hidden-seeds.ts';
import { browserSubmission, cli, referenceOf, tmp } from './kit.ts';

const LAB = 'emulated-nic';
const info = getLabInfo(LAB)!;

describe('saltedSeeds', () => {
  it('is deterministic, differs per learner, per lab and per salt, and avoids the given seeds', () => {
    const a = saltedSeeds('s3cret', LAB, 'alice', 3);
    expect(saltedSeeds('s3cret', LAB, 'alice', 3)).toEqual(a);
    expect(a).toHaveLength(3);
    expect(new Set(a).size).toBe(3);
    for (const other of [saltedSeeds('s3cret', LAB, 'bob', 3), saltedSeeds('s3cret', 'virtio-backend', 'alice', 3), saltedSeeds('other', LAB, 'alice', 3)]) {
      expect(other.some((s) => a.includes(s))).toBe(false);
    }
    expect(saltedSeeds('s3cret', LAB, 'alice', 3, [a[0]!])).not.toContain(a[0]);
    for (const s of a) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
  });

  it('gives at least MIN_HIDDEN_SEEDS, or the lab\'s freshSeeds when more', () => {
    expect(saltedSeeds('x', LAB, 'a', 1)).toHaveLength(MIN_HIDDEN_SEEDS);
    expect(saltedSeeds('x', LAB, 'a', 5)).toHaveLength(5);
    for (const l of listLabs()) expect(l.freshSeeds, l.id).toBeGreaterThanOrEqual(1);
  });
});

describe('grade with a salt', () => {
  const reference = referenceOf(LAB);
  // The seeds the learner's browser ran on Grade: the public ones plus three fresh ones, chosen
  // so that each has its own (ring size, start) fingerprint.
  const recorded: number[] = [...info.publicSeeds];
  const fingerprints: Record<string, number> = {};
  for (const s of info.publicSeeds) fingerprints[`${seedConfig(s).txCount * 16}:${seedConfig(s).txStart}`] = s;
  for (let s = 5000; recorded.length < info.publicSeeds.length + 3; s++) {
    const fp = `${seedConfig(s).txCount * 16}:${seedConfig(s).txStart}`;
    if (fingerprints[fp] === undefined) (fingerprints[fp] = s), recorded.push(s);
  }
  // The cheat: the reference, but it only works when the ring it sees (size, start) is one of
  // the recorded seeds' — a solution tuned to the seeds it has seen, which does nothing elsewhere.
  const cheat = reference.replace('export function onRegisterWrite(', 'function realOnRegisterWrite(') + `
const KNOWN = new Set(${JSON.stringify(Object.keys(fingerprints))});
let known: boolean | undefined;
export function onRegisterWrite(dev: Device, offset: number, value: number): void {
  if (known === undefined && offset === E1000_TDT) known = KNOWN.has(dev.reg(E1000_TDLEN) + ':' + dev.reg(E1000_TDH));
  if (known !== false) realOnRegisterWrite(dev, offset, value);
}
`;

  it('a solution hard-coded to the recorded seeds passes the replay and fails the hidden seeds', () => {
    const d = tmp();
    const sub = browserSubmission(LAB, cheat, recorded, { name: 'Chris Cheat', id: 'cheat-7' });
    const f = join(d, 'cheat.json');
    writeFileSync(f, JSON.stringify(sub));
    const replay = JSON.parse(cli('grade', f, '--json', '-').out);
    expect(replay.iovlab.seeds).toEqual(recorded);
    expect(replay.score).toBe(sub.results!.score);
    expect(replay.review.tampered).toBe(false);
    const salted = JSON.parse(cli('grade', f, '--seed-salt', 'course-2026', '--json', '-').out);
    const hidden = saltedSeeds('course-2026', LAB, 'cheat-7', info.freshSeeds, recorded);
    expect(salted.iovlab.seeds).toEqual([...recorded, ...hidden]);
    expect(salted.iovlab.mode).toBe('grade');
    expect(salted.score).toBeLessThan(replay.score);
    expect(salted.tests.map((t: { output: string }) => t.output).join('\n')).toMatch(new RegExp(`seed (${hidden.join('|')})`));
    // The replay is what the tampering check compares: the honest stored results are not "tampered" under a salt.
    expect(salted.review.tampered).toBe(false);
    // The engine agrees with the CLI on the hidden seeds.
    expect(salted.score).toBe(gradeSeeds(LAB, cheat, [...recorded, ...hidden], 'grade').score);
  });

  it('the cheat scores full marks on its recorded seeds, and the reference keeps full marks with the salt', () => {
    expect(gradeSeeds(LAB, cheat, recorded, 'grade').score).toBe(100);
    const d = tmp();
    writeFileSync(join(d, 'ref.ts'), reference);
    const r = JSON.parse(cli('grade', '--lab', LAB, join(d, 'ref.ts'), '--json', '-', '--seed-salt', 'course-2026').out);
    expect(r.iovlab.seeds).toEqual([...info.publicSeeds, ...saltedSeeds('course-2026', LAB, 'ref', info.freshSeeds, info.publicSeeds)]);
    expect(r.score).toBe(100);
  });

  it('IOVLAB_SEED_SALT in the environment does the same as --seed-salt; two learners get different hidden seeds', () => {
    const d = tmp();
    const code = info.starter;
    writeFileSync(join(d, 'a.json'), JSON.stringify(browserSubmission(LAB, code, info.publicSeeds, { name: '', id: 'stu-a' })));
    writeFileSync(join(d, 'b.json'), JSON.stringify(browserSubmission(LAB, code, info.publicSeeds, { name: '', id: 'stu-b' })));
    const viaFlag = JSON.parse(cli('grade', join(d, 'a.json'), '--seed-salt', 'pepper', '--json', '-').out);
    const r = spawnEnv(['grade', join(d, 'a.json'), '--json', '-'], { IOVLAB_SEED_SALT: 'pepper' });
    expect(JSON.parse(r).iovlab.seeds).toEqual(viaFlag.iovlab.seeds);
    const b = JSON.parse(cli('grade', join(d, 'b.json'), '--seed-salt', 'pepper', '--json', '-').out);
    expect(b.iovlab.seeds.slice(0, 3)).toEqual(viaFlag.iovlab.seeds.slice(0, 3));
    expect(b.iovlab.seeds.slice(3)).not.toEqual(viaFlag.iovlab.seeds.slice(3));
  });
});

import { spawnSync } from 'node:child_process';
import { CLI } from './kit.ts';
function spawnEnv(args: string[], env: Record<string, string>): string {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
}
