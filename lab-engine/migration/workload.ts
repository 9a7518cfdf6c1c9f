/**
 * What the migrating VM does meanwhile: its guest writes memory (uniformly at random over a
 * writable working set, dirtyMBps, each write logged by KVM) and it receives traffic (1518 B
 * frames written into a 256-buffer RX ring by the backend or the device, logged in the RX
 * writer's log, or in none for an assigned NIC). Both advance lazily: `advance(now)` applies
 * everything since the last call, and the migration calls it at every state change, so each
 * write lands before the migration next looks at memory. The network path's ups and downs are
 * kept here too: they are what the guest's traffic sees (outage, frames lost).
 */
import { COSTS } from '../sim/costs.ts';
import type { MetricsRecorder, ResourceSlot } from '../sim/metrics.ts';
import type { Rng } from '../sim/rng.ts';
import type { Ns } from '../sim/time.ts';
import { PAGE_BYTES, type DirtyBitmap, type PageStore } from './guest-ram.ts';
import { VFIO_DEVICE_STATE } from './device-state.ts';

/** Received frames: 1518 B (1538 B on the wire), into 2 KiB RX buffers of a 256-entry ring (two buffers per page). */
export const FRAME_BYTES = 1518;
export const FRAME_WIRE_BYTES = 1538;
export const RX_RING = 256;
export const RX_POOL_PAGES = RX_RING / 2;
/** Entries of the PML log page (Intel SDM: 512 64-bit GPAs in one 4 KiB page). */
export const PML_ENTRIES = 512;

/** Where the guest's writes go during post-copy, and what a write to a missing page does. */
export interface PostcopyTarget {
  dst: PageStore;
  /** Pages not yet on the destination. */
  missing: DirtyBitmap;
  /** Pages the guest wrote on the destination (their content is the destination's own from then on). */
  written: DirtyBitmap;
  /** Bring page `p` over from the source now (the guest's vCPU waits for it). */
  fault: (p: number) => void;
  /** How long the vCPU waits for one faulted page. */
  faultNs: Ns;
}

export interface WorkloadSetup {
  src: PageStore;
  kvmLog: DirtyBitmap;
  /** The RX writer's log; undefined: nobody logs the RX writes (device DMA of an assigned NIC). */
  rxLog: DirtyBitmap | undefined;
  wssStart: number;
  wssPages: number;
  /** First page of the RX area: the ring's used/descriptor page, then RX_POOL_PAGES buffer pages. */
  rxBase: number;
  dirtyMBps: number;
  trafficGbps: number;
  rng: Rng;
  metrics: MetricsRecorder;
  /** A VFIO-migration device: its internal state changes as it receives (vfio_precopy_info.dirty_bytes). */
  deviceDirtyState: boolean;
}

export class GuestActivity {
  readonly #s: WorkloadSetup;
  readonly #frameGapNs: number;
  #last: Ns = 0;
  #writeCarry = 0;
  #nextFrame = 0;
  #rxPos = 0;
  /** Where the guest runs: 'source' → 'paused' → 'destination' (or 'postcopy': on the destination, pages still arriving). */
  #vm: 'source' | 'paused' | 'destination' | 'postcopy' = 'source';
  #postcopy: PostcopyTarget | undefined;
  /** Post-copy: vCPU time carried to the next step (negative: still waiting for a page). */
  #postcopyBudget = 0;
  #downSince: Ns | undefined;
  #outageNs: Ns = 0;
  framesLost = 0;
  /** Work simulated so far, which the engine keeps under a budget: 1 per guest write (6 with a working set beyond 1 GiB), 2 per frame (recorded in the metrics one by one). */
  work = 0;
  /** Frames the backend or device wrote into the source's RX ring: what the ring indices count. */
  rxFramesWritten = 0;
  /** Device DMA after the vCPUs stopped (an assigned NIC nobody quiesces fills the RX buffers it still has). */
  #strayDmaLeft = 0;
  deviceDirtyBytes = 0;
  /** PML_FULL exits the guest took (one per 512 pages newly logged by KVM). */
  dirtyLogExits = 0;
  /** auto-converge's CPU throttle, percent (cpu_throttle_set()). */
  throttlePct = 0;
  #pmlEntries = 0;
  readonly #vcpu: ResourceSlot;

  constructor(s: WorkloadSetup) {
    this.#s = s;
    this.#vcpu = s.metrics.resource('vCPU (KVM exits)');
    this.#frameGapNs = s.trafficGbps > 0 ? (FRAME_WIRE_BYTES * 8) / s.trafficGbps : Number.POSITIVE_INFINITY;
  }

  /** Apply the guest's writes and the traffic of [last advance, now). */
  advance(now: Ns): void {
    const from = this.#last;
    if (now <= from) return;
    this.#last = now;
    if (this.#vm === 'source') this.#guestWrites(now - from, now);
    else if (this.#vm === 'postcopy') this.#postcopyWrites(now - from);
    this.#traffic(from, now);
  }

  /** vm_stop(): the vCPUs stop writing; a device nobody quiesces may still DMA `strayDmaFrames` frames. */
  pause(now: Ns, strayDmaFrames: number): void {
    this.advance(now);
    this.#vm = 'paused';
    this.#strayDmaLeft = strayDmaFrames;
  }

  /** The VM runs on the destination (its memory there is no longer the migration's concern). */
  resumeOnDestination(now: Ns): void {
    this.advance(now);
    this.#vm = 'destination';
  }

  /** Post-copy: the guest runs on the destination; a write to a page still missing there faults it in first. */
  startPostcopy(now: Ns, target: PostcopyTarget): void {
    this.advance(now);
    this.#vm = 'postcopy';
    this.#postcopy = target;
  }

  /** Post-copy is over: every page is on the destination. */
  endPostcopy(now: Ns): void {
    this.advance(now);
    this.#vm = 'destination';
    this.#postcopy = undefined;
  }

  pathDown(now: Ns): void {
    this.advance(now);
    if (this.#downSince === undefined) this.#downSince = now;
  }

  pathUp(now: Ns): void {
    this.advance(now);
    if (this.#downSince !== undefined) {
      this.#outageNs += now - this.#downSince;
      this.#downSince = undefined;
    }
  }

  /** Time the path has been down so far (an interval still open counts up to `now`). */
  outageNs(now: Ns): Ns {
    return this.#outageNs + (this.#downSince !== undefined ? now - this.#downSince : 0);
  }

  #guestWrites(dt: Ns, now: Ns): void {
    const s = this.#s;
    if (s.dirtyMBps <= 0 || s.wssPages === 0) return;
    // A throttled vCPU runs (100 − throttle) % of the time, and writes that much less.
    const want = this.#writeCarry + (dt * s.dirtyMBps * 1e-3 * (100 - this.throttlePct)) / 100 / PAGE_BYTES;
    const n = Math.floor(want);
    // A working set beyond 1 GiB spreads its writes over more page versions than the caches
    // hold: each write then costs a cache miss, about six times a cached one.
    this.work += s.wssPages > 262144 ? 6 * n : n;
    this.#writeCarry = want - n;
    const v = s.src.versions;
    const log = s.kvmLog.words;
    const base = s.wssStart;
    const span = s.wssPages;
    // One draw from the run's seeded stream per step, then an inlined xorshift32 (Marsaglia) for
    // the step's page picks: the same pages for the same seed, a few ns per write.
    let x = s.rng.u32() | 1;
    let newlyLogged = 0;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const p = base + Math.floor(((x >>> 0) / 4294967296) * span);
      v[p] = (v[p]! + 1) >>> 0;
      const wi = p >>> 5;
      const bit = 1 << (p & 31);
      const w = log[wi]!;
      if ((w & bit) === 0) {
        log[wi] = w | bit;
        newlyLogged++;
      }
    }
    this.#pmlFull(newlyLogged, now);
  }

  /**
   * The guest's writes on the destination during post-copy: the same working set and rate, but a
   * write to a missing page stalls the vCPU for `faultNs` while the page comes over, so a guest
   * that keeps faulting gets less done (the time budget carries over between steps).
   */
  #postcopyWrites(dt: Ns): void {
    const s = this.#s;
    const pc = this.#postcopy!;
    if (s.dirtyMBps <= 0 || s.wssPages === 0) return;
    const perWrite = (PAGE_BYTES * 100) / (s.dirtyMBps * 1e-3 * (100 - this.throttlePct)); // ns between writes at full speed
    let budget = this.#postcopyBudget + dt;
    const v = pc.dst.versions;
    let x = s.rng.u32() | 1;
    let n = 0;
    while (budget >= perWrite) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const p = s.wssStart + Math.floor(((x >>> 0) / 4294967296) * s.wssPages);
      if (pc.missing.test(p)) {
        pc.fault(p);
        budget -= pc.faultNs;
      }
      v[p] = (v[p]! + 1) >>> 0;
      pc.written.set(p);
      budget -= perWrite;
      n++;
    }
    this.#postcopyBudget = budget;
    this.work += s.wssPages > 262144 ? 6 * n : n;
  }

  /**
   * Page-modification logging (Intel SDM vol. 3 §29.3.6 "Page-Modification Logging" [R]): the
   * CPU records the GPA of each write to a page whose EPT dirty flag is clear in a 512-entry
   * log; a full log is a PML_FULL exit (reason 62) in which KVM moves the entries into its
   * dirty bitmap. A page clean in KVM's log (never written since the last KVM_CLEAR_DIRTY_LOG)
   * costs one entry on its first write. The vCPU's lost time is counted, not slowed down.
   */
  #pmlFull(newlyLogged: number, now: Ns): void {
    this.#pmlEntries += newlyLogged;
    const exits = Math.floor(this.#pmlEntries / PML_ENTRIES);
    this.#pmlEntries -= exits * PML_ENTRIES;
    const m = this.#s.metrics;
    const cost = COSTS.exitHardware.ns + COSTS.pmlFullDrain.ns;
    for (let i = 0; i < exits; i++) {
      m.exit(now, 'PML_FULL', false);
      m.charge('kvm', this.#vcpu, now, cost);
    }
    this.dirtyLogExits += exits;
  }

  /** Frames that arrived in [from, to): delivered into RX buffers, or lost while the VM is unreachable. */
  #traffic(from: Ns, to: Ns): void {
    if (!Number.isFinite(this.#frameGapNs)) return;
    const gap = this.#frameGapNs;
    const first = this.#nextFrame;
    const end = Math.ceil(to / gap);
    if (end <= first) return;
    this.#nextFrame = end;
    const n = end - first;
    this.work += 2 * n;
    const metrics = this.#s.metrics;
    if (this.#downSince !== undefined) {
      this.framesLost += n;
      metrics.count(to, 'drops', n);
      if (this.#vm === 'paused' && this.#strayDmaLeft > 0) this.#rxWrites(Math.min(n, this.#strayDmaLeft), true);
      return;
    }
    for (let k = first; k < end; k++) metrics.delivered(Math.max(from, Math.floor(k * gap)), FRAME_BYTES, 'rx');
    if (this.#vm === 'source') this.#rxWrites(n, false);
  }

  /** `n` frames written into the RX ring's buffers and its used/descriptor page, by the backend or the device. */
  #rxWrites(n: number, stray: boolean): void {
    const s = this.#s;
    const v = s.src.versions;
    const log = s.rxLog;
    const touch = (p: number): void => {
      v[p] = (v[p]! + 1) >>> 0;
      if (log) log.set(p);
    };
    let lastPage = -1;
    for (let i = 0, buffers = Math.min(n, RX_RING); i < buffers; i++) {
      const page = s.rxBase + 1 + (((this.#rxPos + i) % RX_RING) >> 1);
      if (page !== lastPage) touch(page);
      lastPage = page;
    }
    this.#rxPos = (this.#rxPos + n) % RX_RING;
    this.rxFramesWritten += n;
    touch(s.rxBase);
    if (stray) this.#strayDmaLeft -= n;
    if (s.deviceDirtyState) this.deviceDirtyBytes = Math.min(VFIO_DEVICE_STATE.dirtyBytesCap, this.deviceDirtyBytes + n * VFIO_DEVICE_STATE.dirtyBytesPerFrame);
  }
}
