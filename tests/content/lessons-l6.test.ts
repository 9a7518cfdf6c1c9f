/**
 * L6 (choosing and migrating) covers what the syllabus asks, cites C18/C19, embeds its cells and
 * lab, and every <ReferenceRun> in it resolves against the engine — with the figures its prose
 * quotes.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { runScenario } from '../../lab-engine/index.ts';
import { pickMetric, toEngineOptions } from '../../src/lib/reference-run.ts';

const L6_URL = new URL('../../content/lessons/06-migration/l6-choosing-migrating.mdx', import.meta.url);
const l6 = readFileSync(L6_URL, 'utf8');
const glossary: { id: string }[] = JSON.parse(readFileSync(new URL('../../content/glossary/terms.json', import.meta.url), 'utf8'));

interface RunSpec {
  label: string;
  /** A run may name its own scenario (one table across models); the tag's is the default. */
  scenario?: string;
  options?: Record<string, unknown>;
}
interface ParsedRun {
  scenario: string;
  runs: RunSpec[];
  rows: [string, string, string?][];
}

/** The value of a JSX attribute written as {…}, balanced on braces and brackets. */
function attrExpr(tag: string, name: string): string | undefined {
  const at = tag.indexOf(`${name}={`);
  if (at < 0) return undefined;
  let depth = 0;
  const start = at + name.length + 1;
  for (let i = start; i < tag.length; i++) {
    const c = tag[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    if (depth === 0) return tag.slice(start + 1, i);
  }
  throw new Error(`unbalanced ${name}={…} in ${tag.slice(0, 80)}`);
}

/** Every <ReferenceRun …/> of the lesson, its props evaluated as the JS literals MDX sees. */
function referenceRuns(text: string): ParsedRun[] {
  return [...text.matchAll(/<ReferenceRun\b([\s\S]*?)\/>/g)].flatMap((m) => {
    const tag = m[1]!;
    const scenario = /scenario="([^"]+)"/.exec(tag)?.[1];
    if (!scenario) throw new Error(`a ReferenceRun without scenario: ${tag.slice(0, 80)}`);
    const literal = (s: string | undefined): unknown => (s === undefined ? undefined : new Function(`return (${s});`)());
    const runs = (literal(attrExpr(tag, 'runs')) as RunSpec[] | undefined) ?? [{ label: 'value', options: literal(attrExpr(tag, 'options')) as Record<string, unknown> }];
    const rows = literal(attrExpr(tag, 'rows')) as [string, string, string?][];
    // One entry per run, under the run's own scenario, so lookups by scenario see every run.
    return runs.map((r) => ({ scenario: r.scenario ?? scenario, runs: [r], rows }));
  });
}

const parsed = referenceRuns(l6);
const cache = new Map<string, unknown>();
function metricsOf(scenario: string, options: Record<string, unknown> = {}): unknown {
  const key = scenario + JSON.stringify(options);
  if (!cache.has(key)) cache.set(key, runScenario(scenario, toEngineOptions(options)).metrics);
  return cache.get(key);
}
/** The figure a ReferenceRun of the lesson shows: scenario, run label, row (and the frame size, where tables differ by it). */
function figure(scenario: string, label: string, row: string, size?: number): number {
  const match = (x: RunSpec): boolean => x.label === label && (size === undefined || x.options?.size === size);
  const run = parsed.filter((p) => p.scenario === scenario).flatMap((p) => p.runs).find(match);
  if (!run) throw new Error(`no ReferenceRun of ${scenario} with a run '${label}'${size ? ` at ${size} B` : ''}`);
  const v = pickMetric(metricsOf(scenario, run.options), row);
  if (typeof v !== 'number') throw new Error(`${scenario} / ${label} / ${row} is not a number: ${String(v)}`);
  return v;
}
const HOST = 'derived.cpu.kvm+derived.cpu.qemu+derived.cpu.vhost+derived.cpu.host-kernel+derived.cpu.poll';

describe('L6 — front-matter and structure', () => {
  it('is module 6 with slug l6-choosing-migrating, covers seed 000 and corrects #12', () => {
    expect(l6).toMatch(/^module: 6$/m);
    expect(l6).toMatch(/^slug: l6-choosing-migrating$/m);
    const corrects = /^corrects: \[([^\]]*)\]$/m.exec(l6)![1]!.split(',').map((x) => Number(x.trim()));
    expect(corrects).toContain(12);
    expect(/^seeds: \[([^\]]*)\]$/m.exec(l6)![1]).toContain('"000"');
  });
  it('has no leftover placeholders or TODOs, and two to four quizzes', () => {
    expect(l6).not.toMatch(/TODO|MIGRATE-RUNS|\{\/\* LAB \*\/\}/);
    const n = l6.match(/<Quiz\b/g)?.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
  it('every <Term id> it uses is in the glossary, including the migration terms it introduces', () => {
    const ids = new Set(glossary.map((t) => t.id));
    const used = [...l6.matchAll(/<Term id="([^"]+)"/g)].map((m) => m[1]!);
    for (const id of used) expect(ids.has(id), id).toBe(true);
    for (const id of ['live-migration', 'pre-copy', 'post-copy', 'dirty-logging', 'migration-downtime', 'stop-and-copy', 'net-failover', 'vfio-migration', 'vdpa']) {
      expect(used, id).toContain(id);
    }
  });
});

describe('L6 — covers the syllabus and the calibration rows', () => {
  it('the four models under seed 000\'s four headings', () => {
    for (const s of ['| **Principle** |', '| **Strengths** |', '| **Weaknesses** |', '| **Migration** |', '| Emulation | Paravirtualization | Passthrough | SR-IOV |']) {
      expect(l6).toContain(s);
    }
  });
  it('pre-copy in full: rounds, dirty logging per writer, convergence, stop-and-copy, device state, announce', () => {
    for (const s of [
      'KVM_MEM_LOG_DIRTY_PAGES', 'PML', 'KVM_GET_DIRTY_LOG', 'VHOST_F_LOG_ALL', 'VHOST_SET_LOG_BASE', 'VHOST_USER_SET_LOG_BASE',
      'LOG_SHMFD', 'writable working set', 'converge', 'stop-and-copy', 'vmstate_e1000', 'last_avail_idx', 'VHOST_GET_VRING_BASE',
      'VHOST_USER_GET_VRING_BASE', 'RARP', 'VIRTIO_NET_F_GUEST_ANNOUNCE', 'gratuitous ARP', 'auto-converge', 'postcopy-ram', 'userfaultfd',
    ]) {
      expect(l6.toLowerCase(), s).toContain(s.toLowerCase());
    }
  });
  it('cites C18 (300 ms, DEFAULT_MIGRATE_SET_DOWNTIME) and C19 (60 ms, Clark et al.)', () => {
    expect(l6).toMatch(/300 ms by default/);
    expect(l6).toContain('DEFAULT_MIGRATE_SET_DOWNTIME');
    expect(l6).toMatch(/C18/);
    expect(l6).toMatch(/60 ms/);
    expect(l6).toMatch(/C19/);
    expect(l6).toMatch(/Clark et al\./);
  });
  it('refusal with the four reasons, and the three answers with their mechanisms', () => {
    for (const s of [
      'migration blocker', 'Device DMA bypasses dirty tracking', 'Device state is opaque', 'Pinned memory and an identical device', 'Interrupt routing is per host',
      'VIRTIO_NET_F_STANDBY', 'failover=on', 'failover_pair_id', 'wait-unplug', 'net_failover',
      'ERROR | 0', 'STOP | 1', 'RUNNING | 2', 'STOP_COPY | 3', 'RESUMING | 4', 'RUNNING_P2P | 5', 'PRE_COPY | 6', 'PRE_COPY_P2P | 7',
      'vfio_mig_get_next_state', 'VFIO_MIG_GET_PRECOPY_INFO', 'DMA_LOGGING', 'iommufd', 'mlx5_vfio_pci', 'hisi_acc_vfio_pci', 'pds_vfio_pci',
      'vhost-vdpa', 'shadow virtqueue',
    ]) {
      expect(l6, s).toContain(s);
    }
  });
  it('corrects the seeds\' migration claims explicitly (#12 and the dated or wrong remarks of 000, 001, 003)', () => {
    const aside = /<Aside kind="correction" title="What the seeds say about migration[^"]*">([\s\S]*?)<\/Aside>/.exec(l6)?.[1] ?? '';
    for (const s of ['Seed 000', 'Seed 003', "seed 001", 'identical NICs', 'guest-*physical*', 'dated']) expect(aside, s).toContain(s);
  });
  it('a decision guide by need, and the capstone lab explained (tenants, SLOs, checks, hints)', () => {
    expect(l6).toMatch(/## Choosing/);
    for (const s of ['trading', 'web tier', 'storage gateway', 'migratable', 'outage budget', 'p99', 'Hints, not answers', '`plan(cloud)`']) {
      expect(l6, s).toContain(s);
    }
  });
});

describe('L6 — cells and lab', () => {
  for (const [id, name] of [['l6-downtime', 'downtime'], ['l6-failover', 'failover']] as const) {
    it(`embeds the ${id} cell from content/cells/${id}.ts`, () => {
      expect(existsSync(new URL(`../../content/cells/${id}.ts`, import.meta.url)), `content/cells/${id}.ts`).toBe(true);
      expect(l6).toContain(`cells/${id}.ts?raw`);
      expect(l6).toMatch(new RegExp(`<Cell id="${id}" [^>]*code=\\{${name}\\}`));
    });
  }
  it('embeds the choose-io-model lab, which the engine registers', async () => {
    const { getLabInfo } = await import('../../lab-engine/index.ts');
    expect(getLabInfo('choose-io-model')).toBeDefined();
    expect(l6).toMatch(/<Lab id="choose-io-model" \/>/);
  });
});

describe('L6 — every ReferenceRun resolves, and the prose matches its figures', () => {
  it('parses the runs it embeds (several scenarios, migrate included)', () => {
    const scenarios = new Set(parsed.map((p) => p.scenario));
    for (const s of ['emulation-tx', 'virtio-tx', 'passthrough-tx', 'sriov-rx', 'emulation-rr', 'virtio-rr', 'passthrough-rr', 'migrate']) expect(scenarios, s).toContain(s);
  });
  it('every row of every ReferenceRun has a value in every run', () => {
    for (const p of parsed) {
      for (const r of p.runs) {
        const m = metricsOf(p.scenario, r.options);
        for (const [key] of p.rows) expect(pickMetric(m, key), `${p.scenario} / ${r.label} / ${key}`).not.toBeUndefined();
      }
    }
  }, 120_000);
  it('small frames: emulation ≈ 0.2 Mpps with > 1 exit per packet; QEMU back-end ≈ 0.5, vhost-net ≈ 0.8, vhost-user + guest PMD > 12 Mpps with no exits', () => {
    expect(figure('emulation-tx', 'e1000', 'mpps')).toBeGreaterThan(0.15);
    expect(figure('emulation-tx', 'e1000', 'mpps')).toBeLessThan(0.25);
    expect(figure('emulation-tx', 'e1000', 'exitsPerPacket')).toBeGreaterThan(1);
    expect(figure('virtio-tx', 'QEMU back-end', 'mpps')).toBeGreaterThan(0.4);
    expect(figure('virtio-tx', 'QEMU back-end', 'mpps')).toBeLessThan(0.6);
    expect(figure('virtio-tx', 'vhost-net', 'mpps')).toBeGreaterThan(0.7);
    expect(figure('virtio-tx', 'vhost-net', 'mpps')).toBeLessThan(0.9);
    expect(figure('virtio-tx', 'vhost-user + PMD', 'mpps')).toBeGreaterThan(12);
    expect(figure('virtio-tx', 'vhost-user + PMD', 'exitsPerPacket')).toBe(0);
    expect(figure('passthrough-tx', 'VFIO, posted', HOST, 64)).toBeLessThan(0.001);
    // a poll-mode driver on 2 MiB pages fills the wire (C15: 14.88 Mpps at 64 B), without exits
    expect(figure('passthrough-tx', 'VFIO + PMD', 'mpps')).toBeGreaterThan(13.5);
    expect(figure('passthrough-tx', 'VFIO + PMD', 'exitsPerPacket')).toBe(0);
    expect(figure('virtio-tx', 'vhost-net', 'mpps', 64) / figure('virtio-tx', 'QEMU back-end', 'mpps', 64)).toBeGreaterThan(1.5);
  });
  it('full-size frames: vhost-net, vhost-user and passthrough reach the wire; vhost-net spends more than a core, passthrough almost none', () => {
    for (const [s, label] of [['virtio-tx', 'vhost-net'], ['virtio-tx', 'vhost-user + PMD'], ['passthrough-tx', 'VFIO, posted']] as const) {
      expect(figure(s, label, 'throughputGbps', 1518), label).toBeGreaterThan(9.5);
    }
    expect(figure('emulation-tx', 'e1000', 'throughputGbps', 1518)).toBeLessThan(5);
    expect(figure('virtio-tx', 'vhost-net', HOST, 1518)).toBeGreaterThan(1);
    expect(figure('passthrough-tx', 'VFIO, posted', HOST, 1518)).toBeLessThan(0.05);
  });
  it('density: SR-IOV serves 32 VMs at line rate under one host core, vhost-net needs several', () => {
    expect(figure('sriov-rx', 'SR-IOV, 32 VMs', 'throughputGbps')).toBeGreaterThan(9.4);
    expect(figure('sriov-rx', 'SR-IOV, 32 VMs', HOST)).toBeLessThan(1);
    expect(figure('sriov-rx', 'vhost-net, 32 VMs', HOST)).toBeGreaterThan(3);
  });
  it('latency: e1000 ≈ 128 µs (C17 floor); interrupt-driven ≈ 21–26 µs with the VF fastest; polled ≈ 12–15 µs', () => {
    expect(figure('emulation-rr', 'e1000', 'latency.p50Ns')).toBeGreaterThan(120_000);
    for (const [s, label] of [['virtio-rr', 'QEMU back-end'], ['virtio-rr', 'vhost-net'], ['passthrough-rr', 'VFIO, posted']] as const) {
      expect(figure(s, label, 'latency.p50Ns'), label).toBeGreaterThan(20_000);
      expect(figure(s, label, 'latency.p50Ns'), label).toBeLessThan(27_000);
    }
    expect(figure('passthrough-rr', 'VFIO, posted', 'latency.p50Ns')).toBeLessThan(figure('virtio-rr', 'vhost-net', 'latency.p50Ns'));
    for (const [s, label] of [['virtio-rr', 'vhost-user + PMD'], ['passthrough-rr', 'VFIO + PMD']] as const) {
      expect(figure(s, label, 'latency.p50Ns'), label).toBeGreaterThan(11_000);
      expect(figure(s, label, 'latency.p50Ns'), label).toBeLessThan(16_000);
    }
  });
  it('migration: the software NICs complete inside the limit, the e1000 sends the most device state', () => {
    for (const label of ['e1000', 'virtio, QEMU', 'vhost-net', 'vhost-user']) {
      const m = (row: string): unknown => pickMetric(metricsOf('migrate', parsed.filter((p) => p.scenario === 'migrate').flatMap((p) => p.runs).find((r) => r.label === label)!.options), row);
      expect(m('migration.outcome'), label).toBe('completed');
      expect(m('migration.downtimeMs') as number, label).toBeLessThanOrEqual(300);
      expect(m('migration.pagesMismatched'), label).toBe(0);
    }
    // The prose: about 130 KB for the e1000 (the full register array), under 2 KB for virtio.
    expect(figure('migrate', 'e1000', 'migration.deviceStateBytes')).toBeGreaterThan(120_000);
    expect(figure('migrate', 'e1000', 'migration.deviceStateBytes')).toBeLessThan(140_000);
    expect(figure('migrate', 'virtio, QEMU', 'migration.deviceStateBytes')).toBeLessThan(2048);
  });
  it('migration: passthrough and a plain VF are refused with four reasons; failover completes with an outage longer than its pause and than virtio\'s', () => {
    const run = (label: string) => parsed.filter((p) => p.scenario === 'migrate').flatMap((p) => p.runs).find((r) => r.label === label)!;
    for (const label of ['passthrough NIC', 'plain VF']) {
      const m = metricsOf('migrate', run(label).options) as { migration: { outcome: string; reasons: string[] } };
      expect(m.migration.outcome, label).toBe('refused');
      expect(m.migration.reasons, label).toHaveLength(4);
    }
    expect(pickMetric(metricsOf('migrate', run('VF + virtio (failover)').options), 'migration.outcome')).toBe('completed');
    expect(figure('migrate', 'VF + virtio (failover)', 'migration.outageMs')).toBeGreaterThan(figure('migrate', 'VF + virtio (failover)', 'migration.downtimeMs'));
    expect(figure('migrate', 'VF + virtio (failover)', 'migration.outageMs')).toBeGreaterThan(figure('migrate', 'virtio, QEMU', 'migration.outageMs'));
    expect(pickMetric(metricsOf('migrate', run('VFIO migration').options), 'migration.outcome')).toBe('completed');
    expect(figure('migrate', 'VFIO migration', 'migration.deviceStateBytes')).toBeGreaterThan(1 << 20);
  });
  it('convergence: the pause is not monotonic in the dirty rate, 2,000 MB/s does not converge, a 60 ms limit costs rounds', () => {
    expect(figure('migrate', '100 MB/s', 'migration.downtimeMs')).toBeGreaterThan(figure('migrate', '400 MB/s', 'migration.downtimeMs'));
    expect(figure('migrate', '100 MB/s', 'migration.rounds.length')).toBeLessThan(figure('migrate', '400 MB/s', 'migration.rounds.length'));
    const stuck = parsed.filter((p) => p.scenario === 'migrate').flatMap((p) => p.runs).find((r) => r.label === '2,000 MB/s')!;
    expect(pickMetric(metricsOf('migrate', stuck.options), 'migration.outcome')).toBe('not-converged');
    expect(figure('migrate', '2,000 MB/s', 'migration.transferredMiB')).toBeGreaterThan(3 * 4096);
    const l300 = 'limit 300 ms (QEMU default, C18)';
    const l60 = "limit 60 ms (Clark et al.'s best, C19)";
    expect(figure('migrate', l60, 'migration.downtimeMs')).toBeLessThanOrEqual(60);
    expect(figure('migrate', l60, 'migration.rounds.length')).toBeGreaterThan(figure('migrate', l300, 'migration.rounds.length'));
  });
  it('auto-converge and post-copy (both simulated) rescue the 2,000 MB/s VM, each at the guest\'s expense', () => {
    const run = (label: string) => parsed.filter((p) => p.scenario === 'migrate').flatMap((p) => p.runs).find((r) => r.label === label)!;
    expect(pickMetric(metricsOf('migrate', run('plain pre-copy').options), 'migration.outcome')).toBe('not-converged');
    for (const label of ['auto-converge', 'post-copy']) {
      expect(pickMetric(metricsOf('migrate', run(label).options), 'migration.outcome'), label).toBe('completed');
      expect(figure('migrate', label, 'migration.downtimeMs'), label).toBeLessThanOrEqual(300);
    }
    expect(figure('migrate', 'auto-converge', 'migration.cpuThrottlePct')).toBeGreaterThan(0);
    expect(figure('migrate', 'post-copy', 'migration.postcopyFaults')).toBeGreaterThan(0);
    expect(figure('migrate', 'post-copy', 'migration.postcopyStallMs')).toBeGreaterThan(0);
    expect(figure('migrate', 'post-copy', 'migration.downtimeMs')).toBeLessThan(figure('migrate', 'auto-converge', 'migration.downtimeMs'));
    // The prose: a VFIO device stays on pre-copy even when post-copy is asked for.
    const vfioPostcopy = runScenario('migrate', toEngineOptions({ model: 'vfio-migration', dirtyMBps: 2000, postcopy: true })).metrics as { migration?: { outcome: string; postcopyFaults: number } };
    expect(vfioPostcopy.migration?.outcome).toBe('not-converged');
    expect(vfioPostcopy.migration?.postcopyFaults).toBe(0);
  });
  it('a forced passthrough migration leaves pages that differ on the destination', () => {
    expect(figure('migrate', 'passthrough, forced', 'migration.pagesMismatched')).toBeGreaterThan(0);
  });
});
