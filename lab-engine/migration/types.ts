/**
 * The live-migration contract (GitHub issue 7): the models, the options a run takes, and the
 * report it returns. Shared with the capstone lab and lesson L6; names here are a contract.
 * Units: MiB = 2^20 bytes (guest RAM, working set, transferred), MB/s = 10^6 bytes/s (dirty
 * rate), Gbit/s = 10^9 bit/s (links, traffic), ms = milliseconds of virtual time.
 */

export type MigrationModel =
  | 'emulation' // e1000 in QEMU: device state = the NIC's registers (vmstate); QEMU's own writes are in its dirty bitmap
  | 'virtio-qemu' // virtio-net, QEMU backend: + virtqueue indices (last_avail_idx, used_idx)
  | 'vhost-net' // in-kernel worker writes guest memory: vhost dirty log (VHOST_F_LOG_ALL), VHOST_GET_VRING_BASE on stop
  | 'vhost-user' // dirty log shared through a memfd (VHOST_USER_SET_LOG_BASE / LOG_SHMFD)
  | 'passthrough' // VFIO-assigned NIC without migration support: refused (migration blocker)
  | 'sriov-vf' // a plain VF: refused, same four reasons
  | 'failover' // VF primary + virtio standby (net_failover): unplug VF, fail over, migrate as virtio, re-plug a VF on the destination
  | 'vfio-migration'; // a VFIO migration v2 capable device: device-state FSM + device DMA dirty tracking

/** Every model, in the order lessons list them. */
export const MIGRATION_MODELS: readonly MigrationModel[] = [
  'emulation', 'virtio-qemu', 'vhost-net', 'vhost-user', 'passthrough', 'sriov-vf', 'failover', 'vfio-migration',
];

export interface MigrationOptions {
  model: MigrationModel;
  seed: number;
  /** Guest RAM, MiB (default 4096). */
  memMiB: number;
  /** How fast the guest workload writes memory, MB/s (default 200). */
  dirtyMBps: number;
  /** The writable working set those writes fall in, MiB (default 512, or all of a smaller guest's RAM; hot pages re-dirty). */
  wssMiB: number;
  /** Migration link, Gbit/s (default 10). */
  linkGbps: number;
  /** QEMU's downtime limit, ms (default 300 = DEFAULT_MIGRATE_SET_DOWNTIME, CALIBRATION C18). */
  downtimeLimitMs: number;
  /** Give up after this many pre-copy rounds (default 30) → 'not-converged'. */
  maxRounds: number;
  /** Network traffic the VM receives during migration, Gbit/s (backend or device DMA into guest memory; default 1). */
  trafficGbps: number;
  /** Migrate a passthrough/VF anyway (teaching: device DMA is not logged → pages silently differ). */
  force?: boolean;
  /**
   * QEMU's auto-converge capability (default false): when the guest dirties more than half of
   * what a round sent, twice, its vCPUs are throttled (20 %, then +10 % each time, up to 99 %).
   */
  autoConverge?: boolean;
  /**
   * QEMU's postcopy-ram (default false): when a round's downtime estimate does not fit the limit,
   * switch to post-copy instead (migrate-start-postcopy, as libvirt's --postcopy-after-precopy):
   * the VM resumes on the destination at once and faults its missing pages in over the link
   * while the source pushes the rest.
   */
  postcopy?: boolean;
}

export interface MigrationRound {
  round: number;
  startMs: number;
  durationMs: number;
  /** Pages sent in this round. */
  pagesSent: number;
  /** Pages that became dirty during the round and were not already queued (found at the round's bitmap sync). */
  dirtiedDuring: number;
  /** Pages left to send after the round's bitmap sync. */
  remainingDirty: number;
}

/** One step of the run's timeline, for lessons and swimlanes. */
export interface MigrationPhase {
  name: string;
  startMs: number;
  durationMs: number;
}

export interface MigrationReport {
  model: MigrationModel;
  outcome: 'completed' | 'refused' | 'not-converged';
  /** Refusal: the four reasons as sentences; not-converged: the diagnosis with the numbers. */
  reasons: string[];
  rounds: MigrationRound[];
  /** Start of migration → VM running on the destination. */
  totalMs: number;
  /** vCPUs paused (stop-and-copy + device state + resume). */
  downtimeMs: number;
  /** The guest's network outage as its traffic sees it (downtime + announce; for failover also the unplug/failover gaps). */
  outageMs: number;
  transferredMiB: number;
  deviceStateBytes: number;
  /** Destination pages that differ from the source at switch-over (0 unless something was not logged). */
  pagesMismatched: number;
  /** Scheduler events the run took. */
  events: number;
  /** What happened, in domain words; `code` is stable ('migration-refused', 'migration-not-converged', 'migration-pages-mismatched', …). */
  diagnostics: { severity: 'info' | 'warning' | 'error'; message: string; code: string }[];
  // ── Beyond the contract's minimum (additive): what lessons and labs may also read ──────────
  /** The downtime the last switch-over decision expected (ms): remaining bytes / measured bandwidth + fixed stop costs. */
  expectedDowntimeMs: number;
  /** Bandwidth the migration thread measured on the link, MB/s (10^6 B/s) of payload + page headers. */
  bandwidthMBps: number;
  /** Pages sent during stop-and-copy (vCPUs paused). */
  stopCopyPages: number;
  /** The RX queue's indices the device state carried at the stop (e1000 RDH/RDT, virtio last_avail_idx/used_idx), from the frames received. */
  rxQueueIndices: { name: string; value: number }[];
  /** Which dirty logs were on, e.g. ['KVM', 'vhost']. */
  dirtyLoggers: string[];
  /** Device-state parts and their sizes (bytes). */
  deviceStateParts: { name: string; bytes: number }[];
  /** Timeline: setup, rounds, stop-and-copy, device state, resume, announce, failover steps. */
  phases: MigrationPhase[];
  /** vfio-migration: every FSM arc the source and destination devices took, e.g. 'src RUNNING → PRE_COPY'. */
  vfioArcs: string[];
  /** Post-copy: pages the guest faulted in from the source after it resumed on the destination (0 without post-copy). */
  postcopyFaults: number;
  /** Post-copy: time the guest's vCPUs waited for those pages (userfaultfd, request, the page over the link), ms. */
  postcopyStallMs: number;
  /** auto-converge: how far QEMU throttled the vCPUs in the end (percent of their time taken away; 0 = never). */
  cpuThrottlePct: number;
  /** PML_FULL exits the guest took while KVM logged its writes (one per 512 newly dirtied pages): dirty logging is not free. */
  dirtyLogExits: number;
  /** Frames the VM did not receive: sent to it while it was paused or unreachable. */
  framesLost: number;
}

export const MIGRATION_DEFAULTS: Omit<MigrationOptions, 'model' | 'seed'> = Object.freeze({
  memMiB: 4096,
  dirtyMBps: 200,
  wssMiB: 512,
  linkGbps: 10,
  downtimeLimitMs: 300,
  maxRounds: 30,
  trafficGbps: 1,
  force: false,
  autoConverge: false,
  postcopy: false,
});

/** Accepted ranges: wide enough to teach with, small enough that a run stays well under a second. */
export const MIGRATION_LIMITS = {
  memMiB: { lo: 16, hi: 65536, int: true },
  dirtyMBps: { lo: 0, hi: 20000, int: false },
  wssMiB: { lo: 0, hi: 65536, int: false },
  linkGbps: { lo: 0.1, hi: 400, int: false },
  downtimeLimitMs: { lo: 1, hi: 60000, int: false },
  maxRounds: { lo: 1, hi: 1000, int: true },
  trafficGbps: { lo: 0, hi: 100, int: false },
} as const satisfies Record<string, { lo: number; hi: number; int: boolean }>;

/** A bad migration option: the message names it, its value and what is accepted. */
export class MigrationOptionError extends Error {
  override name = 'MigrationOptionError';
}

/** Defaults filled in and every field checked; a bad value throws MigrationOptionError naming it. */
export function resolveOptions(opts: Partial<MigrationOptions> & { model: MigrationModel; seed?: number }): MigrationOptions {
  if (!opts || typeof opts !== 'object') throw new MigrationOptionError('runMigration needs an options object with a model');
  if (!(MIGRATION_MODELS as readonly string[]).includes(opts.model)) {
    throw new MigrationOptionError(`model must be one of ${MIGRATION_MODELS.join(', ')}, got ${JSON.stringify(opts.model)}`);
  }
  const known = new Set(['model', 'seed', 'force', 'autoConverge', 'postcopy', ...Object.keys(MIGRATION_LIMITS)]);
  for (const k of Object.keys(opts)) if (!known.has(k)) throw new MigrationOptionError(`unknown migration option '${k}' (known: ${[...known].join(', ')})`);
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new MigrationOptionError(`seed must be an integer in [0, 4294967295], got ${JSON.stringify(seed)}`);
  const out: MigrationOptions = { ...MIGRATION_DEFAULTS, model: opts.model, seed };
  for (const [k, lim] of Object.entries(MIGRATION_LIMITS) as [keyof typeof MIGRATION_LIMITS, { lo: number; hi: number; int: boolean }][]) {
    const v = opts[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lim.lo || v > lim.hi || (lim.int && !Number.isInteger(v))) {
      throw new MigrationOptionError(`${k} must be ${lim.int ? 'an integer' : 'a number'} in [${lim.lo}, ${lim.hi}], got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  if (opts.force !== undefined) {
    if (typeof opts.force !== 'boolean') throw new MigrationOptionError(`force must be true or false, got ${JSON.stringify(opts.force)}`);
    out.force = opts.force;
  }
  if (opts.postcopy !== undefined) {
    if (typeof opts.postcopy !== 'boolean') throw new MigrationOptionError(`postcopy must be true or false, got ${JSON.stringify(opts.postcopy)}`);
    out.postcopy = opts.postcopy;
  }
  if (opts.autoConverge !== undefined) {
    if (typeof opts.autoConverge !== 'boolean') throw new MigrationOptionError(`autoConverge must be true or false, got ${JSON.stringify(opts.autoConverge)}`);
    out.autoConverge = opts.autoConverge;
  }
  // The default working set (512 MiB) shrinks to all of RAM for a smaller guest; a given one must fit.
  if (opts.wssMiB === undefined) out.wssMiB = Math.min(out.wssMiB, out.memMiB);
  if (out.wssMiB > out.memMiB) throw new MigrationOptionError(`wssMiB (${out.wssMiB}) cannot exceed memMiB (${out.memMiB}): the working set lives in guest RAM`);
  if (out.dirtyMBps > 0 && out.wssMiB * 256 < 1) throw new MigrationOptionError(`wssMiB must hold at least one 4 KiB page when dirtyMBps > 0, got ${out.wssMiB}`);
  return out;
}
