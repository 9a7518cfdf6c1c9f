/**
 * Pre-copy live migration on the scheduler's virtual clock, as QEMU does it
 * (migration/migration.c migration_iteration_run(), migration/ram.c):
 *  1. setup: dirty logging on (KVM_MEM_LOG_DIRTY_PAGES; the backend's log: QEMU's bitmap, the
 *     vhost log, a device's DMA log), the migration bitmap all ones;
 *  2. rounds: the migration thread walks the bitmap and sends every marked page over the link
 *     (a page header + 4 KiB, in multifd-sized chunks), while the guest keeps writing its
 *     working set and received frames keep landing in RX buffers; at the end of a round it syncs
 *     the logs into the bitmap (KVM_GET_DIRTY_LOG / clear) and estimates the downtime:
 *     remaining bytes / measured bandwidth (+ the fixed stop costs). ≤ the limit → switch over;
 *     otherwise another round, until maxRounds → not converged;
 *  3. stop-and-copy: vCPUs paused, backends stopped, a final sync, the remaining pages and the
 *     device state sent, the destination resumes and announces itself.
 * The source and destination RAM are page-version arrays, so at switch-over the engine checks
 * page by page that the destination holds what the source holds.
 *
 * Deviations (what QEMU does → what we do → why that is fine here):
 * - QEMU sends a zero page as a header only (RAM_SAVE_FLAG_ZERO) → every page holds data (the
 *   guest has run a while) → round 1 is then a full copy, as for a busy guest; idle RAM would
 *   only shorten round 1, not the downtime.
 * - QEMU's estimate is pending bytes / bandwidth, the fixed stop costs not included, so it can
 *   overshoot the limit → ours adds them (vm_stop, final sync, GET_VRING_BASE, device state,
 *   resume) → 'completed' then means downtime ≤ limit, which lessons and labs can rely on.
 * - QEMU measures bandwidth over ~100 ms windows → per round → with a dedicated migration link
 *   both are the link's goodput (C16's 1448/1538).
 * - QEMU iterates until it converges or is cancelled (or throttles: auto-converge; or switches to
 *   post-copy) → maxRounds stands for the operator's timeout → 'not-converged' with a diagnosis.
 * - Real workloads dirty memory unevenly → uniformly at random over the working set → still
 *   shows the effect that matters: a hot set re-dirties pages already queued.
 * - The guest's writes of a 1 ms step land at its end or at the next state change, whichever
 *   comes first; the migration thread never looks at memory in between, so nothing is missed.
 * - No multifd channels, compression or XBZRLE; one migration thread, its copy work
 *   (COSTS.copyPer64B) the limit only above ~60 Gbit/s links.
 * - Post-copy: QEMU's faulted pages share the link with the background push (and jump its
 *   queue) → a faulted page costs COSTS.postcopyFault + its own link time and the push is not
 *   delayed by it → the push ends a little early when the guest faults a lot. Frames received
 *   on the destination count as delivered but are not written into its memory (only the
 *   guest's own writes fault pages in).
 */
import { COSTS } from '../sim/costs.ts';
import { MetricsRecorder, type ResourceSlot } from '../sim/metrics.ts';
import { Rng } from '../sim/rng.ts';
import { Scheduler } from '../sim/scheduler.ts';
import { Trace } from '../sim/trace.ts';
import type { Ns } from '../sim/time.ts';
import type { Diagnostic } from '../sim/types.ts';
import { countMismatched, DirtyBitmap, PageStore, PAGE_BYTES } from './guest-ram.ts';
import { modelProfile, refusalReasons, type ModelProfile } from './models.ts';
import { sumBytes, VFIO_DEVICE_STATE } from './device-state.ts';
import type { MigrationOptions, MigrationPhase, MigrationReport, MigrationRound } from './types.ts';
import { VFIO_STATE, VfioMigrationDevice } from './vfio-fsm.ts';
import { GuestActivity, RX_POOL_PAGES, RX_RING } from './workload.ts';
import { CHUNK_BYTES, CHUNK_PAGES, MigrationLink, PAGE_ON_STREAM } from './link.ts';

export { CHUNK_PAGES, LINK_GOODPUT } from './link.ts';

/** Work one run may simulate — guest writes (×6 beyond a 1 GiB working set) + 2 per received frame + 10 per scheduler event — about a second or two of wall time. */
export const WORK_BUDGET = 200_000_000;
/** The guest workload and the RX traffic advance in steps of this much virtual time (and at every state change). */
export const TICK_NS: Ns = 1_000_000;
/** After the VM runs on the destination (or the migration is cancelled) its traffic is followed this long. */
const TAIL_NS: Ns = 1_000_000_000;
const MIB = 1024 * 1024;

export interface MigrationRun {
  report: MigrationReport;
  sched: Scheduler;
  metrics: MetricsRecorder;
  trace: Trace;
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const msOf = (ns: Ns): number => r3(ns / 1e6);

export function simulateMigration(o: MigrationOptions): MigrationRun {
  return new Migration(o).run();
}

class Migration {
  readonly o: MigrationOptions;
  readonly p: ModelProfile;
  readonly sched = new Scheduler();
  readonly metrics = new MetricsRecorder();
  readonly trace = new Trace(2000);
  readonly rng: Rng;
  readonly pages: number;
  readonly src: PageStore;
  readonly dst: PageStore;
  /** QEMU's migration bitmap: pages still to send. */
  readonly bitmap: DirtyBitmap;
  /** KVM's dirty log (guest vCPU writes). */
  readonly kvmLog: DirtyBitmap;
  /** The RX writer's log (undefined: the writes are not logged). */
  readonly rxLog: DirtyBitmap | undefined;
  readonly link: ResourceSlot;
  readonly net: MigrationLink;
  readonly thread: ResourceSlot;
  readonly work: GuestActivity;

  // Migration state.
  readonly rounds: MigrationRound[] = [];
  readonly phases: MigrationPhase[] = [];
  #bytesSent = 0;
  #roundBytes = 0;
  #roundSendNs: Ns = 0;
  #cursor = 0;
  #bandwidth = 0; // bytes per ns, measured
  #expectedNs: Ns = 0;
  #stopCopyPages = 0;
  #deviceStateBytes = 0;
  #mismatched = 0;
  #outcome: MigrationReport['outcome'] = 'completed';
  #reasons: string[] = [];
  #stopAt: Ns = 0;
  #resumeAt: Ns = 0;
  #endAt: Ns = 0;
  #cancelAt: Ns = 0;
  /** Device-state bytes sent while the vCPUs were stopped. */
  #stopBytes = 0;
  #indices: { name: string; value: number }[] = [];
  #postcopy = false;
  #postcopyRefusedNoted = false;
  #postcopyFaults = 0;
  #postcopyStallNs: Ns = 0;
  #postcopyEndAt: Ns = 0;
  #announced = false;
  /** auto-converge: syncs in a row at which the guest dirtied more than half of what was sent. */
  #dirtyRateHigh = 0;
  readonly vfioSrc: VfioMigrationDevice | undefined;
  readonly vfioDst: VfioMigrationDevice | undefined;
  readonly notes: MigrationReport['diagnostics'] = [];

  constructor(o: MigrationOptions) {
    this.o = o;
    this.p = modelProfile(o.model);
    this.rng = new Rng(o.seed);
    this.pages = Math.floor((o.memMiB * MIB) / PAGE_BYTES);
    // The guest has run for a while: every page holds data (version 1); the destination is empty.
    this.src = new PageStore(this.pages, 1);
    this.dst = new PageStore(this.pages, 0);
    this.bitmap = new DirtyBitmap(this.pages);
    this.kvmLog = new DirtyBitmap(this.pages);
    this.rxLog = this.p.rxWriter === 'device-unlogged' ? undefined : new DirtyBitmap(this.pages);
    const wssPages = Math.min(this.pages, Math.max(o.dirtyMBps > 0 ? 1 : 0, Math.floor((o.wssMiB * MIB) / PAGE_BYTES)));
    const place = this.rng.fork('layout');
    const wssStart = place.int(0, this.pages - wssPages);
    const rxBase = place.int(0, this.pages - RX_POOL_PAGES - 1);
    this.work = new GuestActivity({
      src: this.src, kvmLog: this.kvmLog, rxLog: this.rxLog, wssStart, wssPages, rxBase,
      dirtyMBps: o.dirtyMBps, trafficGbps: o.trafficGbps, rng: this.rng.fork('guest-workload'), metrics: this.metrics,
      deviceDirtyState: this.p.vfio,
    });
    this.link = this.metrics.resource('migration link');
    this.net = new MigrationLink(o.linkGbps);
    this.thread = this.metrics.resource('migration thread');
    if (this.p.vfio) {
      this.vfioSrc = new VfioMigrationDevice('src');
      this.vfioDst = new VfioMigrationDevice('dst');
    }
  }

  run(): MigrationRun {
    const o = this.o;
    if (!this.p.migratable && !o.force) {
      this.#outcome = 'refused';
      this.#reasons = refusalReasons(o.model);
      this.notes.push({ severity: 'warning', code: 'migration-refused', message: `migration blocked: ${o.model === 'sriov-vf' ? 'a plain SR-IOV VF' : 'a VFIO-assigned NIC'} without VFIO migration support registers a migration blocker (QEMU: "VFIO device doesn't support migration"); the VM stays on the source. Use failover (VF + virtio standby) or a VFIO-migration-capable device, or force=true to see what goes wrong.` });
      return this.#finish();
    }
    if (!this.p.migratable) {
      this.notes.push({ severity: 'warning', code: 'migration-forced', message: 'forced: migrating with an assigned NIC whose DMA no dirty log sees and whose state QEMU cannot read; expect pages that differ on the destination and a device that starts from reset there.' });
    }
    this.metrics.beginWindow(0);
    this.sched.schedule(0, () => this.#setup());
    this.sched.schedule(TICK_NS, () => this.#tick());
    this.sched.run({ maxEvents: 50_000_000 });
    return this.#finish();
  }

  /** The workload steps every TICK_NS (and at every state change, through #advance). */
  #tick(): void {
    this.#advance();
    if (this.#endAt === 0 && this.work.work + 10 * this.sched.events > WORK_BUDGET) {
      this.#outOfBudget();
      return;
    }
    if (this.sched.now < this.#endAt || this.#endAt === 0) this.sched.schedule(TICK_NS, () => this.#tick());
  }

  /** The run would take too long to simulate (hours of virtual time, billions of writes): stop it with the numbers. */
  #outOfBudget(): void {
    const o = this.o;
    this.#outcome = 'not-converged';
    this.#cancelAt = this.sched.now;
    const msg = `The simulation stopped after ${msOf(this.sched.now)} ms of virtual time and ${this.rounds.length} pre-copy round(s): this migration (${o.memMiB} MiB over ${o.linkGbps} Gbit/s, ${o.dirtyMBps} MB/s dirtied, ${o.trafficGbps} Gbit/s received) needs more simulated guest writes, frames and events than one run may take (${WORK_BUDGET / 1e6} million units). Use a faster link, less RAM, a lower dirty rate or less traffic.`;
    this.#reasons = [msg];
    this.notes.push({ severity: 'error', code: 'migration-sim-budget', message: msg });
    this.sched.halt();
  }

  #advance(): void {
    this.work.advance(this.sched.now);
  }

  #pathDown(): void {
    this.work.pathDown(this.sched.now);
  }

  #pathUp(): void {
    this.work.pathUp(this.sched.now);
  }

  // ── The migration thread ─────────────────────────────────────────────────────────────────────

  #phase(name: string, start: Ns, dur: Ns): void {
    this.phases.push({ name, startMs: msOf(start), durationMs: msOf(dur) });
    this.trace.emit(start, dur, 'qemu', 'migration-phase', name);
  }

  #charge(t: Ns, bytes: number, pages: number, dur: Ns): void {
    // One trace event per round or phase keeps the swimlane readable; each send still shapes the fingerprint.
    this.trace.mixData(t);
    this.trace.mixData(pages * 0x10000 + (bytes & 0xffff));
    this.metrics.charge('wire', this.link, t, this.net.linkNs(bytes));
    this.metrics.charge('qemu', this.thread, t, Math.min(dur, this.net.threadNs(pages, bytes)));
    this.#bytesSent += bytes;
  }

  #setup(): void {
    const t = this.sched.now;
    const gib = this.o.memMiB / 1024;
    let ns = Math.ceil(COSTS.migSetupPerGiB.ns * gib);
    if (this.vfioSrc && this.vfioDst) {
      // Source: RUNNING → PRE_COPY and device DMA logging on; destination: opened and put in RESUMING.
      this.vfioSrc.setState(VFIO_STATE.PRE_COPY);
      this.vfioDst.setState(VFIO_STATE.RESUMING);
      ns += COSTS.vfioArc.ns;
    }
    this.bitmap.fill();
    this.metrics.charge('kvm', this.thread, t, ns);
    this.#phase(`setup: dirty logging on (KVM${this.p.rxLog ? ' + ' + this.p.rxLog : ''}), migration bitmap all set`, t, ns);
    this.sched.schedule(ns, () => {
      // The first sync clears what the logs caught before the bitmap was set (ram_init_bitmaps()).
      this.#advance();
      this.kvmLog.words.fill(0);
      this.rxLog?.words.fill(0);
      if (this.p.failover) this.#unplugPrimary();
      else this.#startRound();
    });
  }

  /** net_failover: QEMU asks the guest to unplug the VF and waits for it (qemu_savevm_wait_unplug) before iterating. */
  #unplugPrimary(): void {
    const t0 = this.sched.now;
    const req = COSTS.failoverUnplugRequest.ns;
    this.#phase('failover: hot-unplug request for the VF primary (ACPI)', t0, req);
    this.sched.schedule(req, () => {
      this.#pathDown(); // the VF driver is being removed: it no longer receives
      const t1 = this.sched.now;
      this.#phase('failover: guest removes the VF driver', t1, COSTS.failoverVfRemove.ns);
      this.sched.schedule(COSTS.failoverVfRemove.ns, () => {
        const t2 = this.sched.now;
        this.#phase('failover: net_failover switches to the virtio standby', t2, COSTS.failoverSwitch.ns);
        this.sched.schedule(COSTS.failoverSwitch.ns, () => {
          this.#pathUp();
          this.#startRound();
        });
      });
    });
  }

  #startRound(): void {
    this.#cursor = 0;
    this.#roundBytes = 0;
    this.#roundSendNs = 0;
    const round: MigrationRound = { round: this.rounds.length + 1, startMs: msOf(this.sched.now), durationMs: 0, pagesSent: 0, dirtiedDuring: 0, remainingDirty: 0 };
    this.rounds.push(round);
    const start = this.sched.now;
    // VFIO PRE_COPY: the device's initial_bytes go in the first round, its dirty_bytes in later ones.
    let deviceBytes = 0;
    if (this.p.vfio) {
      deviceBytes = round.round === 1 ? VFIO_DEVICE_STATE.initialBytes : this.work.deviceDirtyBytes;
      if (round.round > 1) this.work.deviceDirtyBytes = 0;
      this.#deviceStateBytes += deviceBytes;
    }
    this.#sendRound(round, start, deviceBytes);
  }

  #sendRound(round: MigrationRound, start: Ns, deviceBytes: number): void {
    const step = (): void => {
      this.#advance();
      const t = this.sched.now;
      if (deviceBytes > 0) {
        const b = Math.min(deviceBytes, CHUNK_BYTES);
        deviceBytes -= b;
        const dur = this.net.chunkNs(0, b);
        this.#charge(t, b, 0, dur);
        this.#roundBytes += b;
        this.#roundSendNs += dur;
        this.sched.schedule(dur, step);
        return;
      }
      const n = this.#copyPages(CHUNK_PAGES);
      if (n === 0) {
        round.durationMs = msOf(t - start);
        this.trace.emit(start, t - start, 'wire', 'precopy-round', () => `round ${round.round}: ${round.pagesSent} pages (${r3((this.#roundBytes) / MIB)} MiB) to the destination`);
        this.#endRound(round);
        return;
      }
      round.pagesSent += n;
      const bytes = n * PAGE_ON_STREAM;
      const dur = this.net.chunkNs(n, 0);
      this.#charge(t, bytes, n, dur);
      this.#roundBytes += bytes;
      this.#roundSendNs += dur;
      this.sched.schedule(dur, step);
    };
    step();
  }

  /** Take up to `max` marked pages from the bitmap (from the cursor on), copy them to the destination, clear their bits. */
  #copyPages(max: number): number {
    const words = this.bitmap.words;
    const sv = this.src.versions;
    const dv = this.dst.versions;
    let wi = this.#cursor;
    let n = 0;
    while (n < max && wi < words.length) {
      let w = words[wi]!;
      if (w === 0) {
        wi++;
        continue;
      }
      while (w !== 0 && n < max) {
        const low = w & -w;
        const p = wi * 32 + (31 - Math.clz32(low));
        dv[p] = sv[p]!;
        w = (w ^ low) >>> 0;
        n++;
      }
      words[wi] = w;
      if (w === 0) wi++;
    }
    this.#cursor = wi;
    return n;
  }

  /** Merge every dirty log into the migration bitmap; returns the pages newly marked. */
  #syncLogs(): number {
    let added = this.kvmLog.drainInto(this.bitmap);
    if (this.rxLog) added += this.rxLog.drainInto(this.bitmap);
    return added;
  }

  /** The fixed part of the downtime: stopping, the backends' ring bases, the final sync, device state, resume. */
  #stopFixedNs(deviceBytes: number): Ns {
    let ns = COSTS.migVcpuStop.ns + Math.ceil(COSTS.migBitmapSyncPerGiB.ns * (this.o.memMiB / 1024));
    for (const s of this.p.stopExtra) ns += s.ns;
    if (this.p.vfio) {
      ns += 2 * COSTS.vfioArc.ns; // PRE_COPY → PRE_COPY_P2P → STOP_COPY
      ns += Math.ceil((COSTS.vfioStateSavePerMiB.ns * deviceBytes) / MIB);
      ns += 3 * COSTS.vfioArc.ns; // destination RESUMING → STOP → RUNNING_P2P → RUNNING
    }
    ns += this.net.deviceSendNs(deviceBytes);
    ns += COSTS.migDestResume.ns;
    return ns;
  }

  #stopDeviceBytes(): number {
    return this.p.vfio ? VFIO_DEVICE_STATE.stopCopyBytes + this.work.deviceDirtyBytes : sumBytes(this.p.stateParts);
  }

  #endRound(round: MigrationRound): void {
    const t = this.sched.now;
    const sync = Math.ceil(COSTS.migBitmapSyncPerGiB.ns * (this.o.memMiB / 1024));
    this.metrics.charge('kvm', this.thread, t, sync);
    this.sched.schedule(sync, () => {
      this.#advance();
      round.dirtiedDuring = this.#syncLogs();
      round.remainingDirty = this.bitmap.count();
      if (this.o.autoConverge) this.#autoConverge(round);
      if (this.#roundSendNs > 0) this.#bandwidth = this.#roundBytes / this.#roundSendNs;
      const remainingBytes = round.remainingDirty * PAGE_ON_STREAM;
      const deviceBytes = this.#stopDeviceBytes();
      // QEMU: expected downtime = pending / bandwidth. With a dedicated link the measured bandwidth
      // is the link's goodput, so the chunked transfer time below is that same quotient, exactly.
      this.#expectedNs = this.net.transferNs(round.remainingDirty, 0) + this.#stopFixedNs(deviceBytes);
      this.trace.emit(t, sync, 'kvm', 'dirty-sync', () => `round ${round.round}: KVM_GET_DIRTY_LOG${this.p.rxLog ? ' + ' + this.p.rxLog : ''}: ${round.dirtiedDuring} pages newly dirty, ${round.remainingDirty} to send (${(remainingBytes / MIB).toFixed(1)} MiB)`);
      const limitNs = this.o.downtimeLimitMs * 1e6;
      if (this.#expectedNs <= limitNs) this.#stopAndCopy(deviceBytes, false);
      else if (this.#postcopyAllowed() && this.#postcopyDowntimeNs(deviceBytes) <= limitNs) {
        this.#expectedNs = this.#postcopyDowntimeNs(deviceBytes);
        this.#stopAndCopy(deviceBytes, true);
      } else if (round.round >= this.o.maxRounds) this.#giveUp(round, deviceBytes);
      else this.#startRound();
    });
  }

  /**
   * auto-converge (migration/ram.c migration_trigger_throttle(), mig_throttle_guest_down()): when
   * the bytes dirtied since the last sync exceed half the bytes sent (throttle-trigger-threshold
   * 50 %) at two syncs, throttle the vCPUs: cpu-throttle-initial 20 %, then +10 %
   * (cpu-throttle-increment), at most 99 % (max-cpu-throttle).
   */
  #autoConverge(round: MigrationRound): void {
    const dirtyBytes = round.dirtiedDuring * PAGE_BYTES;
    if (dirtyBytes <= this.#roundBytes * 0.5) return;
    if (++this.#dirtyRateHigh < 2) return;
    this.#dirtyRateHigh = 0;
    const w = this.work;
    w.throttlePct = w.throttlePct === 0 ? 20 : Math.min(99, w.throttlePct + 10);
    this.#phase(`auto-converge: vCPU throttle ${w.throttlePct} %, the vCPUs run ${100 - w.throttlePct} % of the time (after round ${round.round}: ${r3(dirtyBytes / MIB)} MiB dirtied against ${r3(this.#roundBytes / MIB)} MiB sent)`, this.sched.now, 0);
  }

  #giveUp(last: MigrationRound, deviceBytes: number): void {
    this.#outcome = 'not-converged';
    const o = this.o;
    const bwMBps = r3((this.#bandwidth * 1e9) / 1e6);
    const remainingMiB = r3((last.remainingDirty * PAGE_BYTES) / MIB);
    const fixedMs = msOf(this.#stopFixedNs(deviceBytes));
    const msg = `Pre-copy did not converge in ${o.maxRounds} rounds: the guest dirties ${o.dirtyMBps} MB/s in a ${o.wssMiB} MiB working set${o.trafficGbps > 0 ? ` (plus ${o.trafficGbps} Gbit/s of received traffic into RX buffers)` : ''} while the link moves ${bwMBps} MB/s; in round ${last.round} ${r3((last.pagesSent * PAGE_BYTES) / MIB)} MiB were sent in ${last.durationMs} ms and ${remainingMiB} MiB were dirty again at its end, so switching over would need ${msOf(this.#expectedNs)} ms of downtime (of which ${fixedMs} ms fixed stop costs) against the ${o.downtimeLimitMs} ms limit.`;
    const fixedOver = fixedMs > o.downtimeLimitMs;
    this.#reasons = [msg, ...(fixedOver ? [`The fixed stop costs alone (${fixedMs} ms: vCPU stop, dirty-log sync, ${this.p.vfio ? 'device FSM arcs and state, ' : 'device state, '}resume) exceed the ${o.downtimeLimitMs} ms limit: no amount of pre-copy can fit it.`] : []), `What would help: a faster link (linkGbps), a higher downtime limit (downtimeLimitMs, QEMU's downtime-limit), fewer dirty pages (auto-converge throttles the vCPUs: autoConverge=true; post-copy moves the VM first and fetches pages on demand: postcopy=true).`];
    this.notes.push({ severity: 'warning', code: 'migration-not-converged', message: msg });
    this.#cancelAt = this.sched.now;
    this.#phase('migration cancelled: the VM keeps running on the source', this.sched.now, 0);
    // Failover: QEMU re-plugs the primary it unplugged (failover_replug_primary), on the source.
    if (this.p.failover) this.#replugPrimary('source');
    else this.#afterSwitch();
  }

  /** Post-copy was asked for and the model can do it (QEMU blocks post-copy with VFIO devices). */
  #postcopyAllowed(): boolean {
    if (!this.o.postcopy) return false;
    if (this.p.vfio && !this.#postcopyRefusedNoted) {
      this.#postcopyRefusedNoted = true;
      this.notes.push({ severity: 'warning', code: 'migration-postcopy-unsupported', message: 'post-copy is not available with a VFIO device (QEMU refuses postcopy-ram while a VFIO device migrates): pre-copy continues.' });
    }
    return !this.p.vfio;
  }

  /** The discard bitmap post-copy sends at the switch (one bit per page, QEMU sends it as ranges). */
  #discardBytes(): number {
    return Math.ceil(this.pages / 8);
  }

  /** Downtime of a switch to post-copy: the fixed stop costs, the device state and the discard bitmap; no pages. */
  #postcopyDowntimeNs(deviceBytes: number): Ns {
    return this.#stopFixedNs(deviceBytes) + this.net.deviceSendNs(this.#discardBytes());
  }

  #stopAndCopy(deviceBytes: number, postcopy: boolean): void {
    this.#postcopy = postcopy;
    const t0 = this.sched.now;
    this.#pathDown();
    // An assigned NIC nobody quiesces keeps filling the RX buffers the guest had posted.
    this.work.pause(t0, this.p.rxWriter === 'device-unlogged' ? RX_RING : 0);
    this.#stopAt = t0;
    let t = t0;
    const stopNs = COSTS.migVcpuStop.ns;
    this.#phase('stop: vm_stop() pauses the vCPUs', t, stopNs);
    t += stopNs;
    for (const s of this.p.stopExtra) {
      this.#phase(s.name, t, s.ns);
      t += s.ns;
    }
    if (this.vfioSrc) {
      this.vfioSrc.setState(VFIO_STATE.STOP_COPY);
      this.#phase('VFIO: PRE_COPY → PRE_COPY_P2P → STOP_COPY', t, 2 * COSTS.vfioArc.ns);
      t += 2 * COSTS.vfioArc.ns;
    }
    const sync = Math.ceil(COSTS.migBitmapSyncPerGiB.ns * (this.o.memMiB / 1024));
    this.metrics.charge('kvm', this.thread, t, sync);
    this.#phase('final dirty-log sync', t, sync);
    t += sync;
    this.sched.at(t, () => {
      this.#advance();
      const extra = this.#syncLogs();
      if (extra > 0) this.notes.push({ severity: 'info', code: 'migration-final-sync', message: `the final sync found ${extra} pages dirtied after the last round's sync` });
      const pages = this.bitmap.count();
      if (postcopy) {
        // Post-copy: no pages now. The destination learns which pages it lacks and resumes.
        const bytes = this.#discardBytes();
        const t1 = this.sched.now;
        const dur = this.net.deviceSendNs(bytes);
        this.#phase(`post-copy: switch with ${pages} pages still on the source (discard bitmap, ${bytes} bytes)`, t1, dur);
        this.#chargeDevice(t1, bytes);
        this.sched.schedule(dur, () => this.#sendDeviceState(deviceBytes));
        return;
      }
      this.#stopCopyPages = pages;
      const start = this.sched.now;
      const step = (): void => {
        const n = this.#copyPagesFromStart();
        if (n === 0) {
          this.#phase(`stop-and-copy: ${pages} pages`, start, this.sched.now - start);
          this.#sendDeviceState(deviceBytes);
          return;
        }
        const bytes = n * PAGE_ON_STREAM;
        const dur = this.net.chunkNs(n, 0);
        this.#charge(this.sched.now, bytes, n, dur);
        this.sched.schedule(dur, step);
      };
      this.#cursor = 0;
      step();
    });
  }

  #copyPagesFromStart(): number {
    return this.#copyPages(CHUNK_PAGES);
  }

  /**
   * The RX queue's indices as the device state carries them at the stop: e1000's RDH/RDT (a
   * 256-descriptor ring the guest refills right behind the device), virtio's last_avail_idx and
   * used_idx (free-running u16, virtio 1.2 §2.7.6/§2.7.8; read with VHOST_GET_VRING_BASE for
   * vhost). None for a VFIO device (inside its opaque state) or a forced assigned NIC.
   */
  #rxIndices(): { name: string; value: number }[] {
    const n = this.work.rxFramesWritten;
    if (this.o.model === 'emulation') return [{ name: 'RDH', value: n % RX_RING }, { name: 'RDT', value: (n + RX_RING - 1) % RX_RING }];
    if (this.p.vfio || !this.p.migratable) return [];
    const via = this.p.stopExtra.length ? ' (VHOST_GET_VRING_BASE)' : '';
    return [{ name: `rx last_avail_idx${via}`, value: n & 0xffff }, { name: 'rx used_idx', value: n & 0xffff }];
  }

  #sendDeviceState(bytes: number): void {
    this.#indices = this.#rxIndices();
    let t = this.sched.now;
    if (this.p.vfio) {
      const save = Math.ceil((COSTS.vfioStateSavePerMiB.ns * bytes) / MIB);
      this.#phase('VFIO: the driver serializes the stopped device into the data_fd', t, save);
      t += save;
    }
    const send = this.net.deviceSendNs(bytes);
    if (bytes > 0) {
      this.#phase(`device state: ${bytes} bytes`, t, send);
      this.#chargeDevice(t, bytes);
    }
    t += send;
    this.#deviceStateBytes += bytes;
    this.#stopBytes = bytes;
    if (this.vfioSrc && this.vfioDst) {
      this.vfioSrc.setState(VFIO_STATE.STOP);
      this.vfioDst.setState(VFIO_STATE.RUNNING);
      this.#phase('VFIO: destination RESUMING → STOP → RUNNING_P2P → RUNNING', t, 3 * COSTS.vfioArc.ns);
      t += 3 * COSTS.vfioArc.ns;
    }
    this.#phase('destination loads the state and resumes the vCPUs', t, COSTS.migDestResume.ns);
    t += COSTS.migDestResume.ns;
    this.sched.at(t, () => this.#resume());
  }

  #chargeDevice(t: Ns, bytes: number): void {
    const chunk = CHUNK_BYTES;
    for (let left = bytes; left > 0; left -= chunk) {
      const b = Math.min(chunk, left);
      const dur = this.net.chunkNs(0, b);
      this.#charge(t, b, 0, dur);
      t += dur;
    }
  }

  #resume(): void {
    this.#advance();
    if (this.#postcopy) {
      this.#resumeAt = this.sched.now;
      this.#startPostcopyPush();
      this.#announce();
      return;
    }
    this.#mismatched = countMismatched(this.src, this.dst);
    this.work.resumeOnDestination(this.sched.now);
    this.#resumeAt = this.sched.now;
    this.#announce();
  }

  #announce(): void {
    const a = this.p.announce;
    this.#phase(a.name, this.sched.now, a.ns);
    this.sched.schedule(a.ns, () => {
      this.#pathUp();
      if (this.p.failover) this.#replugPrimary('destination');
      else this.#afterSwitch();
    });
  }

  /**
   * Post-copy after the resume: the source pushes the pages the destination still lacks
   * (migration bitmap = missing pages) while the guest faults in the ones it touches first.
   */
  #startPostcopyPush(): void {
    const missing = this.bitmap;
    const written = new DirtyBitmap(this.pages);
    const pageBytes = PAGE_ON_STREAM;
    const faultNs = COSTS.postcopyFault.ns + this.net.chunkNs(1, 0);
    this.work.startPostcopy(this.sched.now, {
      dst: this.dst,
      missing,
      written,
      faultNs,
      fault: (p) => {
        this.dst.versions[p] = this.src.versions[p]!;
        missing.words[p >>> 5] = (missing.words[p >>> 5]! & ~(1 << (p & 31))) >>> 0;
        this.#postcopyFaults++;
        this.#postcopyStallNs += faultNs;
        this.#bytesSent += pageBytes;
      },
    });
    const start = this.sched.now;
    this.#cursor = 0;
    const step = (): void => {
      this.#advance(); // the guest's faults so far come first
      const n = this.#copyPages(CHUNK_PAGES);
      if (n === 0) {
        this.work.endPostcopy(this.sched.now);
        this.#postcopyEndAt = this.sched.now;
        this.#phase(`post-copy: the source pushed the remaining pages; the guest faulted ${this.#postcopyFaults} in`, start, this.sched.now - start);
        // The destination must now hold every page: the source's, unless the guest wrote it there since.
        const sv = this.src.versions;
        const dv = this.dst.versions;
        let bad = 0;
        for (let p = 0; p < this.pages; p++) if (!written.test(p) && sv[p] !== dv[p]) bad++;
        this.#mismatched = bad;
        if (this.#announced) this.#afterSwitch();
        return;
      }
      const bytes = n * pageBytes;
      const dur = this.net.chunkNs(n, 0);
      this.#charge(this.sched.now, bytes, n, dur);
      this.sched.schedule(dur, step);
    };
    step();
  }

  /** Failover: a VF is hot-plugged (on the destination, or back on the source after a cancel) and probed while traffic runs on virtio, then enslaved as primary. */
  #replugPrimary(where: 'destination' | 'source'): void {
    const t = this.sched.now;
    this.#phase(`failover: a VF is hot-plugged on the ${where} and probed (traffic on virtio meanwhile)`, t, COSTS.failoverReplug.ns);
    this.sched.schedule(COSTS.failoverReplug.ns, () => {
      this.#pathDown();
      this.#phase('failover: net_failover makes the new VF the active primary', this.sched.now, COSTS.failoverSwitch.ns);
      this.sched.schedule(COSTS.failoverSwitch.ns, () => {
        this.#pathUp();
        this.#afterSwitch();
      });
    });
  }

  #afterSwitch(): void {
    // Post-copy still pushing pages: the run ends after it (the push calls back here).
    if (this.#postcopy && this.#postcopyEndAt === 0) {
      this.#announced = true;
      return;
    }
    this.#endAt = this.sched.now + this.#tailNs();
    this.sched.at(this.#endAt, () => this.#end());
  }

  /** Keep traffic running a little after the end so the series shows it flowing again. */
  #tailNs(): Ns {
    return Math.max(TAIL_NS, Math.round(this.sched.now / 20 / TICK_NS) * TICK_NS);
  }

  #end(): void {
    this.#advance();
    this.sched.halt();
  }

  #finish(): MigrationRun {
    const o = this.o;
    const completed = this.#outcome === 'completed';
    if (completed && this.#resumeAt > 0) {
      const down = this.#resumeAt - this.#stopAt;
      if (this.#mismatched > 0) {
        this.notes.push({ severity: 'error', code: 'migration-pages-mismatched', message: `${this.#mismatched} destination pages differ from the source ${this.#postcopy ? 'after post-copy' : 'at switch-over'}: ${this.p.rxLog ? 'a write escaped the dirty logs' : 'the NIC wrote them by DMA after they were copied, and no dirty log saw it'}; the guest resumes on corrupted memory.` });
      }
      if (down > o.downtimeLimitMs * 1e6) this.notes.push({ severity: 'warning', code: 'migration-downtime-over-limit', message: `downtime ${msOf(down)} ms exceeded the ${o.downtimeLimitMs} ms limit` });
      if (!this.p.migratable) this.notes.push({ severity: 'warning', code: 'migration-device-state-lost', message: 'the assigned NIC\'s state was not transferred: the destination device starts from reset and the frames in its rings are lost.' });
      this.notes.push({ severity: 'info', code: 'migration-completed', message: `completed in ${this.rounds.length} pre-copy round(s)${this.#postcopy ? ' and post-copy' : ''}; downtime ${msOf(down)} ms (expected ${msOf(this.#expectedNs)} ms, limit ${o.downtimeLimitMs} ms); ${this.#postcopy ? `${this.#postcopyFaults} pages faulted in by the guest on the destination (${msOf(this.#postcopyStallNs)} ms of vCPU waits), the rest pushed by the source` : `${this.#stopCopyPages} pages in stop-and-copy`}.` });
    }
    const downtimeNs = completed && this.#resumeAt > 0 ? this.#resumeAt - this.#stopAt : 0;
    const loggers = ['KVM dirty log'];
    if (this.p.rxLog) loggers.push(this.p.rxLog);
    const parts = this.p.vfio
      ? [{ name: 'PRE_COPY initial_bytes + dirty_bytes (vfio_precopy_info)', bytes: this.#deviceStateBytes - (completed ? this.#stopBytes : 0) }, { name: 'STOP_COPY remainder', bytes: completed ? this.#stopBytes : 0 }]
      : this.p.stateParts;
    const report: MigrationReport = {
      model: o.model,
      outcome: this.#outcome,
      reasons: this.#reasons,
      rounds: this.rounds,
      totalMs: completed ? msOf(this.#postcopy ? this.#postcopyEndAt : this.#resumeAt) : this.#outcome === 'refused' ? 0 : msOf(this.#cancelAt),
      downtimeMs: msOf(downtimeNs),
      outageMs: msOf(this.work.outageNs(this.sched.now)),
      transferredMiB: r3(this.#bytesSent / MIB),
      deviceStateBytes: this.#deviceStateBytes,
      pagesMismatched: this.#mismatched,
      events: this.sched.events,
      diagnostics: this.notes,
      expectedDowntimeMs: msOf(this.#expectedNs),
      bandwidthMBps: r3(this.#bandwidth * 1e3),
      stopCopyPages: this.#stopCopyPages,
      rxQueueIndices: this.#indices,
      dirtyLoggers: this.#outcome === 'refused' ? [] : loggers,
      deviceStateParts: parts,
      phases: this.phases,
      vfioArcs: [...(this.vfioSrc?.arcs ?? []), ...(this.vfioDst?.arcs ?? [])],
      framesLost: this.work.framesLost,
      dirtyLogExits: this.work.dirtyLogExits,
      cpuThrottlePct: this.work.throttlePct,
      postcopyFaults: this.#postcopyFaults,
      postcopyStallMs: msOf(this.#postcopyStallNs),
    };
    return { report, sched: this.sched, metrics: this.metrics, trace: this.trace };
  }
}
