/** What learners see in the editor for `import … from 'iovlab/vhost-poll'`. */
export const VHOST_POLL_DTS = `declare module 'iovlab/vhost-poll' {
  // ── The setting ─────────────────────────────────────────────────────────────────────────────
  // A vhost-user backend (DPDK's vhost library, OVS-DPDK) runs the virtio-net data plane in a
  // host process on a core of its own. QEMU handed it guest RAM (VHOST_USER_SET_MEM_TABLE), the
  // ring addresses (SET_VRING_ADDR), the kickfd (SET_VRING_KICK: an eventfd that KVM signals
  // when the guest writes the queue's notify register) and the callfd (SET_VRING_CALL: an irqfd
  // that interrupts the guest). The core reads the TX virtqueue straight from shared memory.
  //
  // You write the core's service loop policy: how many chains to take per pass, what to do
  // when the ring is empty (keep polling, or sleep in epoll_wait() on the kickfd), and the
  // notification protocol around sleeping:
  //   • virtio 1.2 §2.7.10 (Available Buffer Notification Suppression): the device asks the
  //     driver not to notify it by setting VIRTQ_USED_F_NO_NOTIFY in used.flags, or — with
  //     VIRTIO_F_EVENT_IDX — by leaving used.avail_event behind, so that the driver's
  //     vring_need_event(avail_event, new_idx, old_idx) says no. A polling core wants exactly
  //     that: every kick is a VM exit for the guest, and it is awake anyway.
  //   • A core that sleeps must first let the guest kick again, and then LOOK AT THE RING ONCE
  //     MORE before it blocks: a buffer published after its last poll but before the guest saw
  //     notifications enabled got no kick, and nobody else will ever announce it (the "lost
  //     wake-up). The driver has the mirror problem with interrupts (§2.7.7, Used Buffer
  //     Notification Suppression), and §2.7.14 spells out its loop: enable, barrier, look again.
  //     vhost's vhost_enable_notify() and rust-vmm's Queue::enable_notification() return "more
  //     work" for this reason; DPDK's rte_vhost_enable_guest_notification() leaves the look to you.
  //   • Once the core is polling again, suppress notifications again.
  // The engine starts the core polling with notifications suppressed; after that, they are
  // yours: the backend never enables or disables them for you.

  /** The largest burst() you may return. */
  export const MAX_BURST: 256;
  /** DPDK's customary burst size (MAX_PKT_BURST in its examples). */
  export const DPDK_BURST: 32;
  /** Nanoseconds of one empty poll iteration (read avail.idx, find it unchanged). */
  export const POLL_NS: 60;
  /** Nanoseconds from the guest's kick to a sleeping core polling again (wake-up + read() of the kickfd). */
  export const WAKE_NS: 1700;

  /**
   * The poll-mode core as your policy sees it during one call. A fresh Core is passed to each
   * call; do not keep it for later. Your code itself costs no simulated time.
   */
  export interface Core {
    /** Virtual time, ns. */
    readonly now: number;
    /**
     * How long the core has found nothing to do, ns: 0 in burst(), and in idle() the time since
     * its last burst or wake-up.
     */
    readonly idleNs: number;
    /** VIRTIO_F_EVENT_IDX was negotiated (suppression through avail_event, not used.flags). */
    readonly eventIdx: boolean;
    /**
     * Chains the guest has made available on the TX queue that the core has not taken yet:
     * avail.idx − last_avail_idx, read from guest memory now (rte_vhost_avail_entries()).
     */
    pendingTx(): number;
    /** Whether the guest is currently asked to kick (your last enable/disable call). */
    notificationsEnabled(): boolean;
    /**
     * Ask the guest to notify (kick) on its next buffer: clear VIRTQ_USED_F_NO_NOTIFY, or with
     * EVENT_IDX set avail_event to last_avail_idx (DPDK: rte_vhost_enable_guest_notification(vid,
     * queue, 1)). It does not look at the ring: re-check with pendingTx() afterwards.
     */
    enableNotifications(): void;
    /** Ask the guest not to kick (set VIRTQ_USED_F_NO_NOTIFY; with EVENT_IDX a no-op, as in vhost). */
    disableNotifications(): void;
    /** Print to the run's log (shown under the charts). */
    log(...values: unknown[]): void;
  }
}
`;
