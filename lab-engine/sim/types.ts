/**
 * Public data shapes of a simulation run. Everything here is plain, structured-clone-able
 * data: it crosses the Worker boundary, is written by `sim --json`, and is what charts draw.
 * The metrics schema is versioned (METRICS_SCHEMA); bump it on any incompatible change.
 */
import type { MigrationReport } from '../migration/types.ts';

export const METRICS_SCHEMA = 'iovlab.metrics/1' as const;
// Schema note: `Metrics.migration` (optional, the `migrate` scenario only) was added without a bump:
// an optional block leaves every existing reader of iovlab.metrics/1 valid.

/** Execution contexts that are charged for work (DESIGN.md §3 "someone pays"). */
export type Context = 'guest' | 'kvm' | 'qemu' | 'vhost' | 'host-kernel' | 'poll' | 'wire' | 'nic';
/**
 * guest vCPU, KVM root mode, QEMU threads, vhost worker threads, other host kernel work, poll-mode
 * cores, the wire, and a NIC's DMA engine (translation + PCIe transfer of an assigned or bare-metal NIC).
 */
export const CONTEXTS: readonly Context[] = ['guest', 'kvm', 'qemu', 'vhost', 'host-kernel', 'poll', 'wire', 'nic'];

/** Swimlanes of the trace view: the contexts plus the traffic peer on the far end of the wire. */
export type Lane = Context | 'peer';

/**
 * VM exit reasons, named as KVM/VMX names them (arch/x86/include/uapi/asm/vmx.h, CALIBRATION §3.8).
 * EPT_MISCONFIG is the emulated-MMIO exit; APIC_ACCESS is an xAPIC EOI without APICv.
 */
export type ExitReason =
  | 'EXTERNAL_INTERRUPT'
  | 'HLT'
  | 'IO_INSTRUCTION'
  | 'APIC_ACCESS'
  | 'EOI_INDUCED'
  | 'EPT_MISCONFIG'
  | 'MSR_WRITE'
  | 'VMCALL'
  /** Page-modification log full (exit reason 62): dirty logging during live migration. */
  | 'PML_FULL';

export interface TraceEvent {
  /** Start, virtual ns. */
  t: number;
  /** Duration, ns (0 for instants). */
  dur: number;
  lane: Lane;
  /** Machine-readable kind, e.g. 'vm-exit', 'tap-write', 'irq-inject'. */
  kind: string;
  /** Human label, e.g. 'MMIO write TDT=5 (EPT_MISCONFIG)'. */
  label: string;
  /** Packet/frame sequence number this event belongs to, when there is one. */
  pkt?: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  /** Stable code, e.g. 'learner-threw', 'dma-outside-ram', 'guest-stalled'. */
  code: string;
  /** One sentence in domain words. */
  message: string;
  /** Virtual time, ns. */
  t?: number;
  /** Line in the learner's source, when the learner's code is the cause. */
  line?: number;
}

export interface LatencySummary {
  count: number;
  meanNs: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  maxNs: number;
  /** Histogram with log-spaced bucket edges (ns); counts[i] is for [edges[i], edges[i+1]). */
  histogram: { edgesNs: number[]; counts: number[] };
}

/** The `migrate` scenario's report (lab-engine/migration/types.ts MigrationReport) without its diagnostics. */
export type MigrationMetrics = Omit<MigrationReport, 'diagnostics'>;

export interface Metrics {
  schema: typeof METRICS_SCHEMA;
  engineVersion: string;
  scenario: string;
  seed: number;
  /** The resolved parameters the scenario ran with (packets, size, itr…). */
  params: Record<string, number | string | boolean>;
  /** Length of the measurement window, ns (traffic start → last completion). */
  windowNs: number;
  /** Events processed by the scheduler in the whole run. */
  events: number;
  /** How the run ended: 'done' (workload finished), 'until' (time cap), 'budget' (event cap), 'stalled' (nothing left to do but the workload did not finish), 'error'. */
  stop: 'done' | 'until' | 'budget' | 'stalled' | 'error';
  counters: {
    packetsTx: number;
    packetsRx: number;
    bytesTx: number;
    bytesRx: number;
    /** Request/response transactions completed (rr workloads). */
    transactions: number;
    exits: Partial<Record<ExitReason, number>>;
    exitsTotal: number;
    /** Exits that returned to user space (QEMU) vs were handled inside KVM. */
    exitsToUser: number;
    exitsInKernel: number;
    mmioReads: number;
    mmioWrites: number;
    interruptsRaised: number;
    interruptsInjected: number;
    eois: number;
    dmaOps: number;
    bytesCopied: number;
    /** Guest notifications that reached the device (virtio kicks, doorbells). */
    kicks: number;
    /** System calls made on the data path by user-space backends (QEMU, vhost-user). */
    syscalls: number;
    drops: number;
    /** IOTLB hits and misses of the DMAs a NIC made through an IOMMU (device assignment, DMA API). */
    iotlbHits: number;
    iotlbMisses: number;
    /** Root, context and page-table entry reads the IOMMU made on those misses. */
    iommuWalkReads: number;
    /** DMAs the IOMMU refused (faults; nothing landed). */
    iommuFaults: number;
    /** Interrupt requests interrupt remapping blocked (bad IRTE, spoofed source-id). */
    interruptFaults: number;
    /** Interrupts the IOMMU posted into a posted-interrupt descriptor (VT-d posting). */
    postedInterrupts: number;
    /** DMA-API map and unmap calls of a driver behind an IOMMU, and the IOTLB invalidations they caused. */
    dmaMaps: number;
    dmaUnmaps: number;
    iotlbInvalidations: number;
    /** Sum over delivered device interrupts of the time from the device's MSI to the guest's handler, ns. */
    irqDeliveryNs: number;
  };
  /** Busy time per context within the window, ns. */
  busyNs: Record<Context, number>;
  derived: {
    throughputGbps: number;
    mpps: number;
    exitsPerPacket: number;
    exitsPerSec: number;
    interruptsPerSec: number;
    /** Exits per transaction (rr workloads), else 0. */
    exitsPerTransaction: number;
    /** Smallest gap between two consecutive interrupts the device raised (rising edges), ns (0 when fewer than two). */
    minInterruptGapNs: number;
    /** Busy fraction of each context over the window (can exceed 1 when several threads share a context). */
    cpu: Record<Context, number>;
    /** Busy fraction of each serial resource (a thread or the wire) over the measurement window, 0–1. */
    utilization: Record<string, number>;
    /** The busiest serial resource, e.g. 'vCPU thread' or 'wire': the bottleneck. */
    bottleneck: string;
  };
  series: {
    bucketNs: number;
    /** Start of each bucket, ns from window start. */
    t: number[];
    throughputGbps: number[];
    mpps: number[];
    exitsPerSec: Partial<Record<ExitReason, number[]>>;
    /** Busy fraction per context per bucket. */
    cpu: Record<Context, number[]>;
  };
  latency: LatencySummary | null;
  /** Live migration (scenario 'migrate' only): outcome, rounds, downtime, outage, bytes, device state. */
  migration?: MigrationMetrics;
}

export interface RunResult {
  metrics: Metrics;
  /** The first events of the run (bounded), for the swimlane view. */
  trace: TraceEvent[];
  /** FNV-1a hash over every trace event of the whole run, hex: the determinism fingerprint. */
  traceHash: string;
  diagnostics: Diagnostic[];
}

export interface ScenarioOptions {
  seed?: number;
  packets?: number;
  /** Frame size in bytes as benchmarks quote it, FCS included (64–1518); the guest's buffer is size − 4 bytes. */
  size?: number;
  vms?: number;
  /** Scenario-specific knobs, e.g. { itr: 0 } or { mitigation: false }. */
  params?: Record<string, number | string | boolean>;
}

export interface ScenarioInfo {
  id: string;
  title: string;
  description: string;
  /** Names and defaults of the knobs accepted in ScenarioOptions.params. */
  params: Record<string, number | string | boolean>;
  defaults: { packets: number; size: number };
}
