import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { unzipSync } from 'fflate';

const GOOD = 'tests/site/fixtures/offline-good';
const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;

describe('src/build/package.mjs', () => {
  it('zips a site folder with index.html at the root and prints the zip path last', () => {
    const out = mkdtempSync(join(tmpdir(), 'iovlab-release-'));
    const r = spawnSync(process.execPath, ['src/build/package.mjs', '--dist', GOOD, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const last = r.stdout.trim().split('\n').at(-1)!;
    expect(last).toBe(join(out, `iov-lab-${version}.zip`));
    const files = unzipSync(new Uint8Array(readFileSync(last)));
    const names = Object.keys(files);
    expect(names[0]).toBe('index.html');
    expect(names).toContain('lessons/a/index.html');
    expect(names).toContain('nav.js');
    expect(new TextDecoder().decode(files['index.html'])).toBe(readFileSync(join(GOOD, 'index.html'), 'utf8'));
  });

  it('is reproducible with SOURCE_DATE_EPOCH', () => {
    const run = () => {
      const out = mkdtempSync(join(tmpdir(), 'iovlab-release-'));
      const r = spawnSync(process.execPath, ['src/build/package.mjs', '--dist', GOOD, '--out', out], {
        encoding: 'utf8',
        env: { ...process.env, SOURCE_DATE_EPOCH: '1767225600' },
      });
      return readFileSync(r.stdout.trim().split('\n').at(-1)!);
    };
    expect(run().equals(run())).toBe(true);
  });

  it('fails clearly (exit 2) without a built site', () => {
    const r = spawnSync(process.execPath, ['src/build/package.mjs', '--dist', join(tmpdir(), 'no-dist-here'), '--out', tmpdir()], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/npm run build/);
  });
});
