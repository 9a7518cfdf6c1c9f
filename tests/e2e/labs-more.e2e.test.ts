/**
 * The labs after L1 (virtio-backend in L2, vhost-poll in L3, iommu-assign in L4, sriov-pf in L5, choose-io-model in L6) in a real browser,
 * on the unzipped release opened from file://: Run draws the charts with the same trace as Node, the
 * reference scores full marks on Check, and a partial solution gets exactly the score and check
 * statuses that `npm run grade` gives it. The shipped files carry neither lab's reference.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLabInfo, runLabSeed } from '../../lab-engine/index.ts';
import { ROOT, fileUrl, launchBrowser } from './harness.ts';
import { openLab, pageWith, setPlainCode, siteDir, waitPainted } from '../lab-runtime/browser.ts';
import { tmpdir } from 'node:os';

interface LabCase {
  id: string;
  reference: string;
  /** A plausible, partly wrong solution, so the browser/CLI comparison is not trivial. */
  partial: (reference: string) => string;
}

const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

const LABS: LabCase[] = [
  {
    id: 'virtio-backend',
    reference: read('lab-engine/labs/virtio-backend/reference.ts'),
    // Interrupting after every frame: correct, but the performance check fails.
    partial: (ref) => ref.replace('if (wants) host.interrupt();', 'host.interrupt(); void wants;'),
  },
  {
    id: 'vhost-poll',
    reference: read('lab-engine/labs/vhost-poll/reference.ts'),
    // The starter: it compiles and runs, and passes some checks but not all.
    partial: () => getLabInfo('vhost-poll')!.starter,
  },
  {
    id: 'iommu-assign',
    reference: read('lab-engine/labs/iommu-assign/reference.ts'),
    // Unmapping without invalidating: the hot-unplugged region stays reachable through the IOTLB.
    partial: (ref) => ref.replace('iommu.invalidate(region.gpa, region.size);', '// no invalidation'),
  },
  {
    id: 'sriov-pf',
    reference: read('lab-engine/labs/sriov-pf/reference.ts'),
    // Anti-spoofing left off: the spoofing and cross-VLAN checks fail, the rest pass.
    partial: (ref) => ref.replace('sw.setSpoofCheck(t.vf, true);', 'sw.setSpoofCheck(t.vf, false);'),
  },
  {
    id: 'choose-io-model',
    reference: read('lab-engine/labs/choose-io-model/reference.ts'),
    // The trading VM on virtio with QEMU's backend: everything fits and migrates, its p99 does not.
    partial: (ref) => ref.replace("else place(t, 'vhost-user', byRoom(alive), { guestPmd: true, pollingCores: 1 });", "else place(t, 'virtio-qemu', byRoom(alive));"),
  },
];

let dir = '';
let browser: Browser;

beforeAll(async () => {
  dir = await siteDir();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const open = (url: string) => openLab(browser, url);

const setCode = setPlainCode;

async function check(page: Page): Promise<{ score: string; statuses: string[] }> {
  const lab = page.locator('iov-lab');
  await lab.locator('button[data-action="check"]').click();
  await lab.locator('.iov-report').waitFor();
  const score = (await lab.locator('.iov-score strong').textContent())!;
  const statuses = await lab.locator('table.iov-checks tbody tr:not(.iov-msg-row)').evaluateAll((rows) => rows.map((r) => ((r.textContent ?? '').includes('passed') ? 'passed' : 'failed')));
  return { score, statuses };
}

function cliGrade(lab: string, code: string): { score: number; max_score: number; tests: { status: string }[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'iovlab-e2e-')), `${lab}.ts`);
  writeFileSync(file, code);
  const cli = spawnSync(process.execPath, [join(ROOT, 'lab-engine/node/cli.ts'), 'grade', '--lab', lab, file, '--json', '-'], { encoding: 'utf8' });
  expect(cli.status, cli.stderr).toBe(0);
  return JSON.parse(cli.stdout);
}

describe.each(LABS)('lab $id from file://', (c) => {
  const info = getLabInfo(c.id)!;

  it('lives on its lesson page, with its own data and no other lab', () => {
    const page = pageWith(dir, `data-lab="${c.id}"`);
    const html = readFileSync(join(dir, page), 'utf8');
    expect(html.match(/<iov-lab /g)).toHaveLength(1);
  });

  it('Run draws the charts with the same trace as Node; Check gives the reference full marks', async () => {
    const { page, log } = await open(fileUrl(dir, pageWith(dir, `data-lab="${c.id}"`)) + '?editor=plain');
    const lab = page.locator('iov-lab');
    await setCode(page, c.reference);
    await lab.locator('button[data-action="run"]').click();
    for (const fig of ['.iov-fig-exits', '.iov-fig-throughput', '.iov-fig-cpu']) {
      await waitPainted(page, lab.locator(`${fig} canvas`));
      await expect(lab.locator(`${fig} .iov-summary`).textContent()).resolves.toMatch(/\w/);
    }
    const direct = runLabSeed(c.id, c.reference, info.publicSeeds[0]!);
    expect(direct.kind).toBe('ran');
    await expect(lab.getAttribute('data-trace-hash')).resolves.toBe(direct.kind === 'ran' ? direct.result.traceHash : '');
    const r = await check(page);
    expect(r.score).toBe(`Score: ${info.maxScore}/${info.maxScore}`);
    expect(r.statuses).toEqual(info.checks.map(() => 'passed'));
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('a partial solution gets the same score and check statuses in the browser as from npm run grade', async () => {
    const code = c.partial(c.reference);
    const cli = cliGrade(c.id, code);
    expect(cli.score).toBeGreaterThan(0);
    expect(cli.score).toBeLessThan(cli.max_score);
    const { page, log } = await open(fileUrl(dir, pageWith(dir, `data-lab="${c.id}"`)) + '?editor=plain');
    await setCode(page, code);
    const r = await check(page);
    expect(r.score).toBe(`Score: ${cli.score}/${cli.max_score}`);
    expect(r.statuses).toEqual(cli.tests.map((t) => t.status));
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('ships without its reference solution', () => {
    expect(c.reference).toContain('IOVLAB-' + 'REFERENCE-SOLUTION');
    const body = c.reference.split('\n').filter((l) => l.trim().length > 40 && !l.includes('IOVLAB-'))[5]!;
    expect(body).toBeTruthy();
    const html = readFileSync(join(dir, pageWith(dir, `data-lab="${c.id}"`)), 'utf8');
    expect(html.includes(body.trim())).toBe(false);
  });
});
