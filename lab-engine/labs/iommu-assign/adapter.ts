/**
 * Plugs the learner's mapRegion / unmapRegion / programVector / onFaults into the host as its
 * HostSetup (hv/assignment.ts), the seam VFIO's type-1 backend, QEMU's MSI-X trap and the IOMMU's
 * fault event go through. The learner gets capabilities, never engine objects:
 *   Iommu — the VM's VT-d domain: map / unmap (page tables only) / invalidate (the IOTLB) / lookup;
 *   Irt   — the interrupt-remapping table, restricted to the IRTEs allocated to the NIC, entries
 *           as decoded objects, and the remappable MSI for an index;
 *   FaultRegisters — the fault recording registers as raw dwords, one register file per run.
 * Every capability call is checked (argument types, a view kept past its call) and counted: more
 * than MAX_CALLS in one call of the learner's is a runaway loop and stops the run. A thrown
 * exception stops the run with the learner's line. Nothing here lets the learner touch memory
 * except through the real domain and remapping-table code.
 */
import { PAGE_2M, PAGE_4K, type Fault, type Mapping } from '../../hw/iommu/dma-remap.ts';
import { DLM_FIXED, encodeRemappableMsi, type Irte } from '../../hw/iommu/irq-remap.ts';
import * as V from '../../hw/iommu/vtd-spec.ts';
import { HOST_VECTOR_BASE, IRTE_INDEX_BASE, type AssignedHost, type GuestRamRegion, type HostSetup, type MsixRequest } from '../../hv/assignment.ts';
import { learnerThrew } from '../../sandbox/compile.ts';
import type { Diagnostic } from '../../sim/types.ts';

export interface LearnerExports {
  mapRegion: (region: unknown, iommu: unknown) => unknown;
  unmapRegion: (region: unknown, iommu: unknown) => unknown;
  programVector: (req: unknown, irt: unknown, ctx: unknown) => unknown;
  onFaults: (regs: unknown, host: unknown) => unknown;
}

/** Capability calls allowed in one call of the learner's before it counts as a runaway loop. */
export const MAX_CALLS = 100_000;
const MAX_LOG_LINES = 200;

/** Unwinds the engine's caller once the run must stop (the diagnostic is already recorded). */
export class LabStop extends Error {
  override name = 'LabStop';
  readonly diagnostic: Diagnostic;
  constructor(d: Diagnostic) {
    super(d.message);
    this.diagnostic = d;
  }
}

/** What one fault event looked like: the records the hardware held, and what the learner made of them. */
export interface FaultEvent {
  /** The faults with F set, in register order (the truth). */
  truth: { sourceId: number; address: number; reason: number; write: boolean }[];
  /** Registers whose F was clear but held an old record. */
  staleSlots: number;
  /** What onFaults returned, when it was a well-formed array. */
  got?: { sourceId: unknown; address: unknown; reason: unknown; write: unknown }[];
  /** Why the return value was not usable. */
  bad?: string;
  phase: string;
}

/** One programVector call and its answer. */
export interface VectorCall {
  mode: 'remapped' | 'posted';
  req: MsixRequest;
  msi: { address: number; data: number } | null;
  /** The return value was neither null nor an {address, data} pair of 32-bit integers. */
  bad?: string;
}

export interface MapCall {
  region: string;
  iova: number;
  hpa: number;
  size: number;
  pageSize: number;
  error?: string;
}

/** What the adapter saw the learner do (the checks read it, together with what the engine did). */
export class SetupRecord {
  readonly maps: MapCall[] = [];
  readonly unmaps: { region: string; iova: number; size: number; bytes: number; error?: string }[] = [];
  readonly invalidations: { region: string; iova?: number; size?: number }[] = [];
  readonly vectors: VectorCall[] = [];
  readonly faultEvents: FaultEvent[] = [];
  /** The diagnostic that stopped the run (learner threw, runaway loop), if any. */
  stopped: Diagnostic | undefined;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const isU = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isU32 = (v: unknown): v is number => isU(v) && v <= 0xffff_ffff;

interface Live {
  valid: boolean;
  calls: number;
  fn: string;
}

export class LearnerSetup implements HostSetup {
  readonly learner: LearnerExports;
  readonly record = new SetupRecord();
  readonly logs: string[];
  /** Where the run is, for messages ("while mapping RAM in the set-up run"). */
  phase = 'set-up';
  /** Mode for programVector when the host asks (the set-up run switches it; traffic runs follow h.irqMode). */
  modeOverride: 'remapped' | 'posted' | undefined;
  /** The fault recording registers, as software last left them (F clear after each event). */
  readonly #regs: [number, number, number, number][];
  /** Called when the run must stop (a scenario's fail); the adapter then throws LabStop. */
  readonly onStop: (d: Diagnostic) => void;

  constructor(learner: LearnerExports, logs: string[], onStop: (d: Diagnostic) => void, faultRecords = 8) {
    this.learner = learner;
    this.logs = logs;
    this.onStop = onStop;
    this.#regs = Array.from({ length: faultRecords }, () => [0, 0, 0, 0]);
  }

  // ── HostSetup ────────────────────────────────────────────────────────────────────────────

  mapRegion(region: GuestRamRegion, h: AssignedHost): void {
    this.#call('mapRegion', `mapping ${region.name} (VFIO_IOMMU_MAP_DMA of GPA ${hex(region.gpa)}+${hex(region.size)})`, (live) => {
      this.learner.mapRegion(regionView(region), this.#iommu(h, live, region.name));
    });
  }

  unmapRegion(region: GuestRamRegion, h: AssignedHost): void {
    this.#call('unmapRegion', `unplugging ${region.name}`, (live) => {
      this.learner.unmapRegion(regionView(region), this.#iommu(h, live, region.name));
    });
  }

  programVector(req: MsixRequest, h: AssignedHost): { address: number; data: number } | null {
    const mode = this.modeOverride ?? h.irqMode;
    let out: { address: number; data: number } | null = null;
    this.#call('programVector', `programming MSI-X vector ${req.vector} (${mode})`, (live) => {
      const r = this.learner.programVector(Object.freeze({ ...req }), this.#irt(h, live), this.#vectorContext(req, h, mode, live));
      const call: VectorCall = { mode, req: { ...req }, msi: null };
      if (r === null || r === undefined) {
        if (!req.masked && r === undefined) call.bad = 'undefined (a missing return?)';
      } else if (typeof r === 'object' && isU32((r as { address?: unknown }).address) && isU32((r as { data?: unknown }).data)) {
        call.msi = { address: (r as { address: number }).address, data: (r as { data: number }).data };
      } else {
        call.bad = describe(r);
      }
      this.record.vectors.push(call);
      out = call.msi;
    });
    return out;
  }

  onFaults(faults: Fault[], h: AssignedHost, pfo = false): void {
    // The hardware fills registers from index 0 once software has cleared them all (FRI = 0 here);
    // the others keep whatever they held, F clear.
    const n = Math.min(faults.length, this.#regs.length);
    for (let i = 0; i < n; i++) {
      const f = faults[i]!;
      this.#regs[i] = V.encodeFaultRecord(f.address, f.sourceId, f.reason, f.write);
    }
    const truth = faults.slice(0, n).map((f) => ({ sourceId: f.sourceId & 0xffff, address: f.address - (f.address % PAGE_4K), reason: f.reason, write: f.write }));
    const staleSlots = this.#regs.filter((r, i) => i >= n && (r[0] | r[1] | r[2] | r[3]) !== 0).length;
    const records = Object.freeze(this.#regs.map((r) => Object.freeze([r[0], r[1], r[2], r[3]] as const)));
    const fsts = (n > 0 ? V.DMA_FSTS_PPF : 0) | (pfo ? V.DMA_FSTS_PFO : 0);
    const ev: FaultEvent = { truth, staleSlots, phase: this.phase };
    this.#call('onFaults', `handling ${n} IOMMU fault record(s)`, (live) => {
      const r = this.learner.onFaults(Object.freeze({ fsts, records }), this.#faultHost(live));
      if (!Array.isArray(r)) {
        ev.bad = `${describe(r)} (it must return an array of decoded faults)`;
        return;
      }
      const got: NonNullable<FaultEvent['got']> = [];
      for (const x of r.slice(0, 64)) {
        if (typeof x !== 'object' || x === null) {
          ev.bad = `an array holding ${describe(x)} (each element must be { sourceId, address, reason, write })`;
          return;
        }
        const o = x as Record<string, unknown>;
        got.push({ sourceId: o['sourceId'], address: o['address'], reason: o['reason'], write: o['write'] });
      }
      if (r.length > 64) ev.bad = `an array of ${r.length} faults (there are ${this.#regs.length} fault recording registers)`;
      ev.got = got;
    });
    this.record.faultEvents.push(ev);
    // Software clears F (write 1 to clear) in every register it handled, then PFO.
    for (let i = 0; i < n; i++) this.#regs[i]![3] = (this.#regs[i]![3]! & ~V.DMA_FRCD_F) >>> 0;
    void h;
  }

  // ── Calling the learner ──────────────────────────────────────────────────────────────────

  #call(fn: string, what: string, body: (live: Live) => void): void {
    if (this.record.stopped) throw new LabStop(this.record.stopped);
    const live: Live = { valid: true, calls: 0, fn };
    try {
      body(live);
    } catch (e) {
      if (e instanceof LabStop) throw e;
      this.#stop(learnerThrew(fn, e, `while ${what} in the ${this.phase} run`));
    } finally {
      live.valid = false;
    }
  }

  #stop(d: Diagnostic): never {
    this.record.stopped ??= d;
    this.onStop(this.record.stopped);
    throw new LabStop(this.record.stopped);
  }

  #tick(live: Live, name: string): void {
    if (!live.valid) throw new Error(`${name}() was called after the ${live.fn}() call it was passed to returned`);
    if (++live.calls > MAX_CALLS) {
      this.#stop({
        severity: 'error',
        code: 'runaway-loop',
        message: `Your ${live.fn}() made more than ${MAX_CALLS.toLocaleString('en-US')} calls (the last one ${name}()) in the ${this.phase} run: a loop that never ends? The run stopped there.`,
      });
    }
  }

  #log(live: Live, values: unknown[]): void {
    if (!live.valid) return;
    if (this.logs.length < MAX_LOG_LINES) this.logs.push(`(${this.phase} run, ${live.fn}) ${values.map((v) => (typeof v === 'string' ? v : safeJson(v))).join(' ')}`);
    else if (this.logs.length === MAX_LOG_LINES) this.logs.push(`… more log lines were dropped (${MAX_LOG_LINES} max)`);
  }

  // ── Capabilities ─────────────────────────────────────────────────────────────────────────

  #iommu(h: AssignedHost, live: Live, region: string): object {
    const rec = this.record;
    const num = (fn: string, name: string, v: unknown): number => {
      if (!isU(v)) throw new TypeError(`iommu.${fn}: ${name} must be a non-negative integer, got ${describe(v)}`);
      return v;
    };
    const domain = h.domain;
    return Object.freeze({
      domainId: domain.id,
      map: (iova: unknown, hpa: unknown, size: unknown, perm: unknown, pageSize: unknown) => {
        this.#tick(live, 'iommu.map');
        const a = num('map', 'iova', iova);
        const p = num('map', 'hpa', hpa);
        const s = num('map', 'size', size);
        if (typeof perm !== 'object' || perm === null || typeof (perm as { read?: unknown }).read !== 'boolean' || typeof (perm as { write?: unknown }).write !== 'boolean') {
          throw new TypeError(`iommu.map: perm must be { read: boolean, write: boolean }, got ${describe(perm)}`);
        }
        if (pageSize !== PAGE_4K && pageSize !== PAGE_2M) throw new TypeError(`iommu.map: pageSize must be PAGE_4K (4096) or PAGE_2M (2097152), got ${describe(pageSize)}`);
        const pm = { read: (perm as { read: boolean }).read, write: (perm as { write: boolean }).write };
        const r = domain.map(a, p, s, pm, pageSize);
        rec.maps.push({ region, iova: a, hpa: p, size: s, pageSize, ...(r.ok ? {} : { error: `${r.code}: ${r.message}` }) });
        return r.ok ? Object.freeze({ ok: true as const, pages: r.pages }) : Object.freeze({ ok: false as const, code: r.code, message: r.message });
      },
      unmap: (iova: unknown, size: unknown) => {
        this.#tick(live, 'iommu.unmap');
        const a = num('unmap', 'iova', iova);
        const s = num('unmap', 'size', size);
        const r = domain.unmap(a, s);
        rec.unmaps.push({ region, iova: a, size: s, bytes: r.ok ? r.bytes : 0, ...(r.ok ? {} : { error: `${r.code}: ${r.message}` }) });
        if (!r.ok) return Object.freeze({ ok: false as const, code: r.code, message: r.message });
        return Object.freeze({ ok: true as const, bytes: r.bytes, unmapped: Object.freeze(r.unmapped.map(mappingView)) });
      },
      invalidate: (iova?: unknown, size?: unknown) => {
        this.#tick(live, 'iommu.invalidate');
        if (iova === undefined && size === undefined) {
          // Domain-selective; this also completes the domain's queued unmaps (their tables are freed).
          if (domain.pendingUnmaps.length > 0) domain.flush();
          else for (const u of domain.iommus) u.invalidate(domain.id);
          rec.invalidations.push({ region });
          return;
        }
        const a = num('invalidate', 'iova', iova);
        const s = size === undefined ? PAGE_4K : num('invalidate', 'size', size);
        if (s === 0) throw new RangeError('iommu.invalidate: size must be at least 1 byte');
        for (const u of domain.iommus) u.invalidate(domain.id, a, s);
        rec.invalidations.push({ region, iova: a, size: s });
      },
      lookup: (iova: unknown) => {
        this.#tick(live, 'iommu.lookup');
        const m = domain.lookup(num('lookup', 'iova', iova));
        return m ? mappingView(m) : null;
      },
      log: (...values: unknown[]) => this.#log(live, values),
    });
  }

  #irt(h: AssignedHost, live: Live): object {
    const allowed = (index: unknown): index is number => isU(index) && index >= IRTE_INDEX_BASE && index < IRTE_INDEX_BASE + h.nic.vectors;
    const mine = `IRTEs ${IRTE_INDEX_BASE}–${IRTE_INDEX_BASE + h.nic.vectors - 1}`;
    return Object.freeze({
      entries: h.irt.entries,
      write: (index: unknown, entry: unknown) => {
        this.#tick(live, 'irt.write');
        if (!allowed(index)) throw new RangeError(`irt.write: IRTE ${describe(index)} is not this NIC's: the host allocated it ${mine}`);
        const e = irteFrom(entry);
        if (!h.irt.writeIrte(index, e)) throw new RangeError(`irt.write: IRTE ${index} is outside the table`);
      },
      read: (index: unknown) => {
        this.#tick(live, 'irt.read');
        if (!allowed(index)) return null;
        const e = h.irt.readIrte(index);
        return e ? Object.freeze({ ...e }) : null;
      },
      msi: (index: unknown) => {
        this.#tick(live, 'irt.msi');
        if (!isU(index) || index > 0xffff) throw new RangeError(`irt.msi: an IRTE index is 0 … 65535, got ${describe(index)}`);
        return Object.freeze(encodeRemappableMsi(index));
      },
    });
  }

  #vectorContext(req: MsixRequest, h: AssignedHost, mode: 'remapped' | 'posted', live: Live): object {
    return Object.freeze({
      mode,
      irteIndex: IRTE_INDEX_BASE + req.vector,
      hostVector: HOST_VECTOR_BASE + req.vector,
      nic: Object.freeze({ address: h.nic.address, sourceId: h.nic.sourceId, vectors: h.nic.vectors }),
      vcpus: Object.freeze(h.pcpuApicIds.map((apicId, i) => Object.freeze({ apicId, pid: h.pids[i]! }))),
      log: (...values: unknown[]) => this.#log(live, values),
    });
  }

  #faultHost(live: Live): object {
    return Object.freeze({ log: (...values: unknown[]) => this.#log(live, values) });
  }
}

function regionView(r: GuestRamRegion): object {
  return Object.freeze({ name: r.name, gpa: r.gpa, size: r.size, hpa: r.hpa, hugepages: r.hugepages });
}

function mappingView(m: Mapping): object {
  return Object.freeze({ iova: m.iova, hpa: m.hpa, size: m.size, pageSize: m.pageSize, read: m.read, write: m.write });
}

/** A learner's IRTE object → the engine's, with defaults, or a TypeError naming the bad field. */
function irteFrom(v: unknown): Irte {
  if (typeof v !== 'object' || v === null) throw new TypeError(`irt.write: the entry must be an object, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const bool = (k: string, dflt?: boolean): boolean => {
    const x = o[k];
    if (x === undefined && dflt !== undefined) return dflt;
    if (typeof x !== 'boolean') throw new TypeError(`irt.write: ${k} must be true or false, got ${describe(x)}`);
    return x;
  };
  const int = (k: string, max: number, dflt?: number): number => {
    const x = o[k];
    if (x === undefined && dflt !== undefined) return dflt;
    if (!isU(x) || x > max) throw new TypeError(`irt.write: ${k} must be an integer from 0 to ${max}, got ${describe(x)}`);
    return x;
  };
  const common = { present: bool('present'), fpd: bool('fpd', false), avail: int('avail', 15, 0), vector: int('vector', 255), sid: int('sid', 0xffff), sq: int('sq', 3), svt: int('svt', 3) };
  if (o['mode'] === 'remapped') {
    const dm = o['destinationMode'] ?? 'physical';
    if (dm !== 'physical' && dm !== 'logical') throw new TypeError(`irt.write: destinationMode must be 'physical' or 'logical', got ${describe(dm)}`);
    const tm = o['trigger'] ?? 'edge';
    if (tm !== 'edge' && tm !== 'level') throw new TypeError(`irt.write: trigger must be 'edge' or 'level', got ${describe(tm)}`);
    return {
      mode: 'remapped', ...common, destinationMode: dm, redirectionHint: bool('redirectionHint', false), trigger: tm,
      deliveryMode: int('deliveryMode', 7, DLM_FIXED), destination: int('destination', 0xffff_ffff),
    };
  }
  if (o['mode'] === 'posted') {
    const pda = o['pda'];
    if (!isU(pda) || pda >= 2 ** 52) throw new TypeError(`irt.write: pda must be a host-physical address (a non-negative integer below 2^52), got ${describe(pda)}`);
    return { mode: 'posted', ...common, urgent: bool('urgent', false), pda };
  }
  throw new TypeError(`irt.write: mode must be 'remapped' or 'posted', got ${describe(o['mode'])}`);
}

/** A value in a message: numbers in hex when large, strings quoted, objects as JSON. */
export function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) >= 4096 ? hex(v) : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  return safeJson(v);
}

function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 117)}…` : s;
  } catch {
    return String(v);
  }
}
