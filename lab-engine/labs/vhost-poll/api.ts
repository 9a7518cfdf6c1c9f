/**
 * The runtime values of the module learners import as 'iovlab/vhost-poll'. Its declarations
 * (what Monaco shows) are in api-dts.ts; a test checks the two agree.
 */
import { COSTS } from '../../sim/costs.ts';

export const VHOST_POLL_API = Object.freeze({
  /** The largest burst a PMD takes in one pass (the engine's limit). */
  MAX_BURST: 256,
  /** DPDK's customary burst size (MAX_PKT_BURST in its examples). */
  DPDK_BURST: 32,
  /** One empty poll iteration: read avail.idx, find it unchanged. */
  POLL_NS: COSTS.pmdEmptyPoll.ns,
  /** From a kick to the core polling again: thread wake-up latency + read() of the kickfd. */
  WAKE_NS: COSTS.kthreadWakeLatency.ns + COSTS.eventfdWriteSyscall.ns,
});
