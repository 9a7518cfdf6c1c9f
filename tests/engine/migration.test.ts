/** Live migration (lab-engine/migration/): per-model outcomes, the scenario's metrics block, bad options. */
import { describe, expect, it } from 'vitest';
import { runMigration, runScenario, MIGRATION_DEFAULTS, MigrationOptionError, type MigrationModel } from '../../lab-engine/index.ts';

const SMALL = { memMiB: 1024, wssMiB: 128 } as const;
const MIGRATING: MigrationModel[] = ['emulation', 'virtio-qemu', 'vhost-net', 'vhost-user', 'failover', 'vfio-migration'];

describe('runMigration per model', () => {
  for (const model of MIGRATING) {
    it(`${model}: completes with every destination page equal to the source's and the dirty logs it needs`, () => {
      const r = runMigration({ model, ...SMALL });
      expect(r.outcome).toBe('completed');
      expect(r.pagesMismatched).toBe(0);
      expect(r.rounds.length).toBeGreaterThanOrEqual(1);
      expect(r.rounds[0]!.pagesSent).toBe((SMALL.memMiB * 1024) / 4); // round 1 sends every page
      expect(r.downtimeMs).toBeGreaterThan(0);
      expect(r.downtimeMs).toBeLessThanOrEqual(r.totalMs);
      expect(r.outageMs).toBeGreaterThanOrEqual(r.downtimeMs);
      expect(r.transferredMiB).toBeGreaterThan(SMALL.memMiB);
      expect(r.deviceStateBytes).toBeGreaterThan(0);
      expect(r.dirtyLoggers[0]).toBe('KVM dirty log');
      expect(r.dirtyLoggers.length).toBe(2);
      expect(r.events).toBeGreaterThan(r.rounds[0]!.pagesSent / 128);
    });
  }

  it('the emulated e1000 carries its whole register file (full_mac_state) and virtio only its rings and config', () => {
    const e = runMigration({ model: 'emulation', ...SMALL });
    const v = runMigration({ model: 'virtio-qemu', ...SMALL });
    expect(e.deviceStateBytes).toBeGreaterThan(128 * 1024);
    expect(v.deviceStateBytes).toBeLessThan(4096);
    expect(v.deviceStateParts.some((p) => /last_avail_idx/.test(p.name))).toBe(true);
    expect(e.deviceStateParts.some((p) => /hw\/e1000\/regs\.ts/.test(p.name))).toBe(true);
  });

  it('dirty logging costs the guest PML_FULL exits: one per 512 pages KVM newly logs, none without writes', () => {
    const r = runScenario('migrate', { params: { model: 'vhost-net', memMiB: 1024, wssMiB: 128 } });
    const m = r.metrics.migration!;
    expect(m.dirtyLogExits).toBeGreaterThan(0);
    expect(r.metrics.counters.exits.PML_FULL).toBe(m.dirtyLogExits);
    expect(r.metrics.counters.exitsInKernel).toBe(m.dirtyLogExits);
    // Every page re-dirtied after a sync is logged again: at least the pages the rounds found dirty.
    const logged = m.rounds.reduce((s, x) => s + x.dirtiedDuring, 0);
    expect(m.dirtyLogExits).toBeGreaterThanOrEqual(Math.floor(logged / 512) - m.rounds.length);
    expect(r.metrics.busyNs.kvm).toBeGreaterThan(0);
    expect(runMigration({ model: 'vhost-net', memMiB: 1024, wssMiB: 128, dirtyMBps: 0 }).dirtyLogExits).toBe(0);
  });

  it('the device state carries the RX queue indices the received frames advanced', () => {
    const e = runMigration({ model: 'emulation', ...SMALL });
    const k = runMigration({ model: 'vhost-net', ...SMALL });
    const rdh = e.rxQueueIndices.find((x) => x.name === 'RDH')!.value;
    expect(rdh).toBeGreaterThanOrEqual(0);
    expect(rdh).toBeLessThan(256);
    const used = k.rxQueueIndices.find((x) => x.name === 'rx used_idx')!.value;
    expect(k.rxQueueIndices[0]!.name).toMatch(/VHOST_GET_VRING_BASE/);
    // 1 Gbit/s of 1538-byte frames for the time the VM ran on the source, modulo 2^16.
    const frames = Math.floor((k.totalMs - k.downtimeMs) * 1e6 / (1538 * 8));
    expect(Math.abs(used - (frames & 0xffff))).toBeLessThan(300);
    expect(runMigration({ model: 'passthrough', force: true, ...SMALL }).rxQueueIndices).toEqual([]);
  });

  it('vhost backends pay for VHOST_GET_VRING_BASE while stopped; vhost-user more than vhost-net', () => {
    const q = runMigration({ model: 'virtio-qemu', ...SMALL, dirtyMBps: 0, trafficGbps: 0 });
    const k = runMigration({ model: 'vhost-net', ...SMALL, dirtyMBps: 0, trafficGbps: 0 });
    const u = runMigration({ model: 'vhost-user', ...SMALL, dirtyMBps: 0, trafficGbps: 0 });
    expect(k.downtimeMs).toBeGreaterThan(q.downtimeMs);
    expect(u.downtimeMs).toBeGreaterThan(k.downtimeMs);
    expect(k.phases.some((p) => /VHOST_GET_VRING_BASE/.test(p.name))).toBe(true);
  });

  it('the migrate scenario carries the migration block and shows the traffic stalling (drops) during the outage', () => {
    const r = runScenario('migrate', { params: { model: 'vhost-net', memMiB: 1024, wssMiB: 128 } });
    const m = r.metrics.migration!;
    expect(m.outcome).toBe('completed');
    expect(m.downtimeMs).toBeGreaterThan(0);
    expect(m.rounds.length).toBeGreaterThan(0);
    expect('diagnostics' in m).toBe(false);
    expect(r.metrics.counters.drops).toBe(m.framesLost);
    expect(r.metrics.counters.drops).toBeGreaterThan(0);
    expect(r.metrics.counters.packetsRx).toBeGreaterThan(0);
    expect(r.metrics.derived.bottleneck).toBe('migration link');
    expect(r.diagnostics.some((d) => d.code === 'migration-completed')).toBe(true);
    expect(r.metrics.params['model']).toBe('vhost-net');
  });

  it('the scenario defaults are the contract defaults', () => {
    const r = runScenario('migrate', { params: { memMiB: 1024, wssMiB: 128 } });
    expect(r.metrics.migration!.model).toBe('virtio-qemu');
    expect(MIGRATION_DEFAULTS).toMatchObject({ memMiB: 4096, dirtyMBps: 200, wssMiB: 512, linkGbps: 10, downtimeLimitMs: 300, maxRounds: 30, trafficGbps: 1 });
  });
});

describe('scale and edge cases', () => {
  it('a 64 GiB guest migrates with a bounded number of events (one per 128-page chunk and per 1 ms step)', () => {
    const r = runMigration({ model: 'vhost-net', memMiB: 65536 });
    expect(r.outcome).toBe('completed');
    expect(r.rounds[0]!.pagesSent).toBe(16 * 1024 * 1024);
    expect(r.pagesMismatched).toBe(0);
    // 16 Mi pages / 128 per chunk = 131072 chunk events in round 1, about one step per ms of ~60 s, a few more rounds.
    expect(r.events).toBeGreaterThan(131072);
    expect(r.events).toBeLessThan(300_000);
  });

  it('a failover migration that does not converge gives the VF back on the source, and the guest keeps its memory', () => {
    const r = runMigration({ model: 'failover', memMiB: 512, wssMiB: 256, dirtyMBps: 500, linkGbps: 1, maxRounds: 3 });
    expect(r.outcome).toBe('not-converged');
    expect(r.downtimeMs).toBe(0);
    expect(r.phases.map((p) => p.name).join('\n')).toMatch(/cancelled[\s\S]*hot-plugged on the source[\s\S]*active primary/);
    expect(r.outageMs).toBeGreaterThan(30); // the VF's removal and the switches still cost the traffic
  });

  it('a link faster than the migration thread can copy leaves the thread as the bottleneck', () => {
    const r = runScenario('migrate', { params: { model: 'vhost-net', memMiB: 1024, wssMiB: 128, linkGbps: 400 } });
    expect(r.metrics.derived.bottleneck).toBe('migration thread');
    expect(r.metrics.migration!.bandwidthMBps).toBeLessThan(400e3 / 8);
  });

  it('the trace shows the rounds on the link, the syncs and the phases of the migration thread', () => {
    const r = runScenario('migrate', { params: { model: 'vhost-net', memMiB: 256, wssMiB: 64 } });
    expect(r.trace.some((e) => e.kind === 'precopy-round' && e.lane === 'wire' && e.dur > 0 && /^round 1: 65536 pages/.test(e.label))).toBe(true);
    expect(r.trace.some((e) => e.kind === 'dirty-sync' && e.lane === 'kvm')).toBe(true);
    expect(r.trace.some((e) => e.kind === 'migration-phase' && /stop-and-copy/.test(e.label))).toBe(true); // the whole run fits the kept trace
    expect(r.trace.some((e) => e.kind === 'migration-phase' && /setup/.test(e.label))).toBe(true);
  });

  it('a run too big to simulate stops at the work budget with the numbers, instead of hanging the caller', () => {
    const r = runMigration({ model: 'vhost-net', memMiB: 4096, wssMiB: 256, linkGbps: 0.1, dirtyMBps: 20000, trafficGbps: 0 });
    expect(r.outcome).toBe('not-converged');
    expect(r.reasons[0]).toMatch(/The simulation stopped after \d+(\.\d+)? ms of virtual time .*4096 MiB over 0\.1 Gbit\/s, 20000 MB\/s dirtied/);
    expect(r.diagnostics.some((d) => d.code === 'migration-sim-budget' && d.severity === 'error')).toBe(true);
    expect(r.downtimeMs).toBe(0);
  });

  it('no traffic and no dirtying: one round, a stop-and-copy of nothing but the device state', () => {
    const r = runMigration({ model: 'virtio-qemu', memMiB: 256, wssMiB: 0, dirtyMBps: 0, trafficGbps: 0 });
    expect(r.rounds.length).toBe(1);
    expect(r.stopCopyPages).toBe(0);
    expect(r.framesLost).toBe(0);
    expect(r.pagesMismatched).toBe(0);
  });
});

describe('golden', () => {
  it('the timeline of a small vhost-net migration (any change to the model shows up here as a readable diff)', () => {
    const r = runMigration({ model: 'vhost-net', memMiB: 256, wssMiB: 32, seed: 1 });
    const lines = r.phases.map((p) => `${p.startMs} +${p.durationMs} ${p.name}`);
    lines.push(...r.rounds.map((x) => `round ${x.round}: sent ${x.pagesSent}, dirtied ${x.dirtiedDuring}, left ${x.remainingDirty}, ${x.durationMs} ms`));
    lines.push(`downtime ${r.downtimeMs} ms, outage ${r.outageMs} ms, total ${r.totalMs} ms, ${r.transferredMiB} MiB, ${r.dirtyLogExits} PML_FULL exits`);
    expect(lines).toMatchInlineSnapshot(`
      [
        "0 +0.05 setup: dirty logging on (KVM + vhost log), migration bitmap all set",
        "228.617 +0.5 stop: vm_stop() pauses the vCPUs",
        "229.117 +0.04 VHOST_GET_VRING_BASE × 2",
        "229.157 +0.025 final dirty-log sync",
        "229.182 +21.37 stop-and-copy: 6128 pages",
        "250.552 +0.001 device state: 1411 bytes",
        "250.553 +2 destination loads the state and resumes the vCPUs",
        "252.553 +0.3 VIRTIO_NET_F_GUEST_ANNOUNCE: the guest sends a gratuitous ARP",
        "round 1: sent 65536, dirtied 6128, left 6128, 228.542 ms",
        "downtime 23.936 ms, outage 24.236 ms, total 252.553 ms, 280.486 MiB, 11 PML_FULL exits",
      ]
    `);
  });
});

describe('bad options', () => {
  it('names the option and its range, and runs nothing', () => {
    expect(() => runMigration({ model: 'vhost-net', memMiB: 8 })).toThrow(/memMiB must be an integer in \[16, 65536\], got 8/);
    expect(() => runMigration({ model: 'vhost-net', linkGbps: 0 })).toThrow(MigrationOptionError);
    expect(() => runMigration({ model: 'vhost-net', memMiB: 256, wssMiB: 512 })).toThrow(/wssMiB \(512\) cannot exceed memMiB \(256\)/);
    expect(runMigration({ model: 'vhost-net', memMiB: 256 }).outcome).toBe('completed'); // the default working set shrinks to the RAM
    expect(runScenario('migrate', { params: { memMiB: 256 } }).metrics.params['wssMiB']).toBe(256);
    expect(() => runScenario('migrate', { params: { memMiB: 256, wssMiB: 300 } })).toThrow(/wssMiB \(300\) cannot exceed memMiB \(256\)/);
    expect(() => runMigration({ model: 'nope' as MigrationModel })).toThrow(/model must be one of/);
    expect(() => runMigration({ model: 'vhost-net', dirtyMbps: 3 } as never)).toThrow(/unknown migration option 'dirtyMbps'/);
    expect(() => runMigration({ model: 'vhost-net', seed: -1 })).toThrow(/seed/);
    expect(() => runScenario('migrate', { params: { model: 'vhost-net', trafficGbps: -1 } })).toThrow(/trafficGbps must be a number in \[0, 100\]/);
    expect(() => runScenario('migrate', { params: { linkgbps: 1 } })).toThrow(/has no parameter 'linkgbps'/);
    expect(() => runScenario('migrate', { packets: 0, params: { memMiB: 256, wssMiB: 64 } })).toThrow(/packets must be an integer/);
  });

  it('packets and size mean nothing to migrate: the run notes them as ignored and is otherwise the same', () => {
    const base = { seed: 2, params: { memMiB: 256, wssMiB: 64 } };
    const a = runScenario('migrate', base);
    const b = runScenario('migrate', { ...base, packets: 300 });
    expect(JSON.stringify(b.metrics)).toBe(JSON.stringify(a.metrics));
    expect(b.diagnostics.find((d) => d.code === 'migrate-option-ignored')!.message).toMatch(/packets=300 ignored/);
    expect(a.diagnostics.some((d) => d.code === 'migrate-option-ignored')).toBe(false);
  });
});
