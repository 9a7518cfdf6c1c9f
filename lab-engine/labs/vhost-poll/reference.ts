// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the vhost-poll lab, written as a learner would, against 'iovlab/vhost-poll'.
// The loop of a DPDK vhost-user PMD that may sleep (as in l3fwd-power, or OVS-DPDK with an
// interrupt mode), with the notification protocol of vhost's handle_tx(): suppress kicks while
// polling; before sleeping, enable them and look at the ring again, because a chain published
// between the last poll and the enable was never announced (virtio 1.2 §2.7.10; the driver's
// mirror image is §2.7.14's enable → barrier → re-check loop).
import { type Core, DPDK_BURST } from 'iovlab/vhost-poll';

/**
 * How long an empty ring is polled before sleeping. The application thinks for up to ~35 µs
 * between bursts and idles for hundreds of µs or more: polling through the first keeps the
 * latency of busy polling; sleeping through the second saves the core. 50 µs is above the
 * think time (plus the guest's own wake-up from its timer), far below the idle periods.
 */
const SPIN_BUDGET_NS = 50_000;

export function burst(_core: Core): number {
  // The core outruns the guest, so a pass rarely finds more than a few chains; DPDK's 32 bounds
  // the pass after a wake-up, when a backlog is waiting.
  return DPDK_BURST;
}

export function idle(core: Core): number | 'sleep' {
  if (core.idleNs < SPIN_BUDGET_NS) return SPIN_BUDGET_NS - core.idleNs;
  core.enableNotifications();
  // The re-check: anything published before the guest could see the enable got no kick.
  if (core.pendingTx() > 0) {
    core.disableNotifications();
    return SPIN_BUDGET_NS;
  }
  return 'sleep';
}

export function wake(core: Core): void {
  // Polling again: the guest need not kick (each kick is a VM exit).
  core.disableNotifications();
}
