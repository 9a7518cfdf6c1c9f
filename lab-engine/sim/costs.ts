/**
 * The one cost table. Every action the simulator charges names an entry here, and every entry
 * names its source row in /shared/CALIBRATION.md (C-rows of §0, or parameters of §1).
 * Costs are integer ns at the nominal clock of sim/time.ts (2 GHz: 1 cycle = 0.5 ns).
 * Tags as in CALIBRATION: [V] read in the source, [R] recalled, [D] derived, [E] estimate.
 */
import { cycles, type Ns } from './time.ts';

export interface CostEntry {
  ns: Ns;
  source: string;
}

const c = (ns: Ns, source: string): CostEntry => ({ ns, source });

export const COSTS = {
  // ── Processor transitions (CALIBRATION §1.1) ───────────────────────────────────────────────
  /** VM exit + VM entry in hardware, no handler work. */
  exitHardware: c(cycles(500), 'C1 [R] Agesen et al. ATC 2012: ~400–600 cycles round trip'),
  /** KVM's in-kernel handling of a trivial exit (on top of the hardware round trip). */
  exitKvmHandler: c(cycles(800), 'C2 [R] Dall et al. ISCA 2016: trivial exit ≈ 1,300 cycles in all'),
  /** Fetching and decoding the faulting instruction of an EPT_MISCONFIG MMIO exit. */
  mmioDecode: c(cycles(350), '§1.1 t_mmio_decode_extra [E] +200–500 cycles'),
  /** KVM_RUN returns to QEMU and QEMU re-enters: the user-space round trip. */
  exitToUserKvm: c(cycles(2000), 'C3 [V] KVM_RUN round trip 2,528 cycles; C4 [V] user/kernel exit ratio ≈ 3.1×'),
  /** QEMU's MemoryRegion dispatch of an MMIO access to the device model, with the BQL. */
  qemuMmioDispatch: c(cycles(500), '§1.1 t_exit_to_userspace_extra [E] QEMU dispatch + BQL'),
  /** Kick IPI to a vCPU in guest mode (EXTERNAL_INTERRUPT exit) before an injection. */
  kickIpi: c(cycles(1200), '§1.1 t_irqfd_inject [D]: one kick IPI + EXTERNAL_INTERRUPT exit handled in KVM'),
  /** Injecting a virtual interrupt at VM entry (event injection fields of the VMCS). */
  injectInterrupt: c(cycles(200), '§3.9 [D] injection at the next VM entry [E] cost'),
  /** Waking a halted vCPU thread (scheduler wake-up). */
  haltWakeup: c(3_000, '§1.1 t_hlt_wakeup [E] µs-scale scheduler wake-up'),

  // ── Guest kernel work (estimates; the point is their size relative to exits) ──────────────
  /** Guest network stack + e1000_xmit_frame per packet (skb, qdisc, descriptor fill). */
  guestXmitPerPacket: c(700, '[E] guest stack TX per packet; §0 small-packet ranges as the check'),
  /** Guest stack per received packet (netif_receive_skb to the socket). */
  guestRxPerPacket: c(600, '[E] guest stack RX per packet'),
  /** Guest ISR body excluding its register accesses. */
  guestIsr: c(150, '[E] e1000_intr body'),
  /** NAPI poll overhead per poll, plus per reclaimed TX descriptor. */
  guestNapiPoll: c(200, '[E] NAPI poll overhead'),
  guestTxCleanPerDesc: c(25, '[E] e1000_clean_tx_irq per descriptor'),
  /** The guest application producing one request or consuming one reply. */
  guestAppPerMessage: c(500, '[E] application work per message'),

  // ── Device model in QEMU (user space) ───────────────────────────────────────────────────────
  /** Device-model bookkeeping per register access handled (register table lookup, state). */
  qemuRegisterAccess: c(60, '[E] e1000 register handler'),
  /** A DMA-style access to guest memory from QEMU (address translation, bounds) per call. */
  qemuDmaOp: c(40, '[E] pci_dma_read/write call overhead (address_space_rw)'),
  /** Copy bandwidth: ns per 64 bytes at ~10 GB/s. */
  copyPer64B: c(6, '§1.2 memcpy_bw [E] 10 GB/s ⇒ 6.4 ns / 64 B'),
  /** QEMU per transmitted frame: qemu_send_packet, net queue. */
  qemuTxPerFrame: c(300, '[E] qemu_send_packet / net queue per frame'),
  /** QEMU main loop wake-up on tap readability (ppoll/epoll return) for RX. */
  qemuRxWakeup: c(1_500, '§1.1 t_ioeventfd_signal [E] 1–2 µs thread wake-up'),
  /** QEMU e1000_receive bookkeeping per frame (descriptor fetch/writeback logic). */
  qemuRxPerFrame: c(350, '[E] e1000_receive per frame'),

  // ── Host kernel ─────────────────────────────────────────────────────────────────────────────
  /** tap write() syscall: entry/exit + skb alloc + copy_from_user handled by copyPer64B. */
  tapWriteSyscall: c(900, '[E] write() to /dev/net/tun, syscall + skb alloc'),
  /** Bridge forwarding + physical NIC driver transmit per frame. */
  bridgeForward: c(400, '[E] Linux bridge + NIC driver xmit per frame'),
  /** tap read() syscall per frame on RX. */
  tapReadSyscall: c(800, '[E] read() from /dev/net/tun'),
  /** Host NIC RX softirq + bridge to the tap per frame. */
  hostRxPerFrame: c(700, '[E] NIC RX + bridge to tap per frame'),

  // ── Paravirtual I/O: virtio front end, backends (CALIBRATION §0 small-packet ranges, §3.9) ──
  /** eventfd_signal() in the kernel: ioeventfd → backend, or vhost's irqfd → KVM. */
  eventfdSignal: c(100, '§1.1 t_ioeventfd_signal [E] in-kernel eventfd signal + wake-queue walk'),
  /** An eventfd write() from user space (QEMU or a vhost-user process signalling an irqfd). */
  eventfdWriteSyscall: c(700, '[E] write() syscall on an eventfd; C13 counts it among the 4 syscalls'),
  /** Latency until a sleeping kernel thread (vhost worker) runs after a wake-up; not CPU work. */
  kthreadWakeLatency: c(1_000, '§1.1 t_ioeventfd_signal [E] ~1–2 µs until the backend thread runs'),
  /** QEMU main loop / iothread: ppoll returns, read() the eventfd, dispatch the handler. */
  qemuEventLoopWake: c(1_500, '§1.1 t_ioeventfd_signal [E]; C13: poll + eventfd read are syscalls'),
  /** QEMU virtqueue_pop: read avail, walk and map the chain (address_space_map per segment). */
  qemuVirtqueuePop: c(250, '[E] QEMU virtqueue_pop + iov mapping'),
  qemuPerDescriptor: c(60, '[E] QEMU per descriptor: translation + bounds'),
  /** QEMU virtqueue_push/flush: write the used element and used.idx. */
  qemuVirtqueuePush: c(80, '[E] QEMU virtqueue_fill + flush'),
  /** vhost_get_vq_desc: in-kernel ring walk with the memory table. */
  vhostGetDesc: c(80, '[E] vhost_get_vq_desc'),
  vhostPerDescriptor: c(30, '[E] vhost translate_desc per descriptor'),
  vhostAddUsed: c(30, '[E] vhost_add_used (batched)'),
  /** tun_sendmsg / tun_recvmsg called inside the kernel by vhost-net: no syscall boundary. */
  vhostTunMsg: c(350, '[E] tun_sendmsg/recvmsg from vhost: skb alloc, no syscall (C13)'),
  /** Per-packet work of a DPDK vhost-user backend: ring read, mbuf, descriptor bookkeeping. */
  pmdVhostPerPacket: c(40, '[E] rte_vhost dequeue/enqueue per packet; §0: 5–15+ Mpps per core'),
  /** DPDK physical NIC PMD transmit or receive per packet (descriptor write, doorbell amortised). */
  pmdNicPerPacket: c(30, '[E] DPDK NIC PMD tx/rx per packet'),
  /** One empty poll iteration of a poll-mode loop (read a ring index that did not move). */
  pmdEmptyPoll: c(60, '[E] one empty rte_vhost/NIC poll: a cache-line read'),
  /** The guest virtio driver adding one chain to the avail ring. */
  guestVirtioAdd: c(80, '[E] virtqueue_add_split + header'),
  /** A DPDK virtio PMD in the guest, per packet (no kernel stack). */
  pmdGuestPerPacket: c(45, '[E] DPDK virtio PMD + testpmd io-fwd per packet'),
  /** Xen: event-channel send hypercall handled in the hypervisor (VMCALL exit on HVM). */
  xenEvtchnHypercall: c(cycles(1_000), 'C2 [R] hypercall round trip; §3.9 Xen EVTCHNOP_send'),
  /** Xen netback: one grant-copy hypercall per batch plus per-packet grant work. */
  xenGrantCopyPerPacket: c(600, 'C10 [V] netback RX cost before Santos et al. cut it 56 % [E] split'),
  /** VMXNET3 doorbell handled by the hypervisor's device backend in the kernel (vmkernel). */
  vmxnet3Backend: c(300, '[E] vmkernel vmxnet3 backend per packet'),

  // ── IOMMU (CALIBRATION §1.2, §3.6; hw/iommu/dma-remap.ts) ──────────────────────────────────
  /** One root, context or second-stage paging-entry read by the IOMMU's walker (a DRAM access). */
  iommuWalkRead: c(100, '§1.2 iotlb_miss [D] 0.3–1 µs = 3–5 entry reads (+2 on a context-cache miss) × DRAM latency [E] ~100 ns'),
  /** One IOTLB invalidation from the unmap path: queued-invalidation descriptor + wait descriptor, polled. */
  iotlbInvalidate: c(cycles(3_000), '§1.2 / C7 [V] strict 43 % vs deferred 91 % of line rate; per-invalidation cost [E] ~3,000 cycles, tuned to C7'),

  // ── Device assignment: the assigned NIC, its host path and the DMA API (CALIBRATION §1.2, §3.9) ──
  /** A posted MMIO store to a BAR mapped into the guest (doorbell): the CPU does not wait. */
  pciePostedWrite: c(50, '§1.2 [D] posted MMIO writes do not stall the CPU; [E] ~100 cycles for the uncached store'),
  /** Until a posted write reaches the device (half a read round trip). */
  pcieWriteLatency: c(400, '§1.2 [D] half the PCIe MMIO read round trip (~0.5–1 µs [R] pcie-bench)'),
  /** A load from a device register: the CPU stalls for the PCIe round trip. */
  pcieMmioRead: c(800, '§1.2 [R] pcie-bench: PCIe MMIO read round trip ~0.5–1 µs'),
  /** A device read's round trip to host memory (pipelined: it delays data, not the DMA engine). */
  dmaReadLatency: c(500, '§1.2 [R] pcie-bench: DMA read latency ~0.4–0.6 µs'),
  /** One configuration-space access through ports 0xCF8/0xCFC on bare metal (a config cycle). */
  pciConfigCycle: c(300, '[E] PCI configuration cycle through mechanism #1'),
  /** QEMU vfio-pci emulating a config access: vfio_pci_read/write_config → pread/pwrite on the device fd. */
  vfioConfigAccess: c(1_500, '§3.7 [V] config space stays trapped; [E] pread/pwrite syscall + emulated bits'),
  /** QEMU turning a guest MSI-X table write into host routing: VFIO_DEVICE_SET_IRQS, KVM_IRQFD, GSI routing, IRTE. */
  vfioMsixProgram: c(20_000, '§3.7 [V] MSI-X table trapped, eventfd per vector; [E] ioctls + IRTE update'),
  /** Host interrupt entry and exit on a physical CPU (IDT dispatch, irq_enter/irq_exit, local APIC EOI). */
  hostIrqEntry: c(400, '§3.9 [D] physical MSI → host; [E] entry/exit cost'),
  /** vfio_msihandler → eventfd_signal → irqfd_wakeup → kvm_set_msi → kvm_vcpu_kick. */
  vfioMsiToIrqfd: c(1_200, '§3.9 [D] vfio-pci ISR → eventfd → irqfd → inject; [E] cost'),
  /** pi_wakeup_handler: find the blocked vCPU on this CPU's wake-up list and wake it. */
  piWakeupHandler: c(300, '§3.6 [V] KVM wake-up notification vector; [E] cost (posted_intr.c)'),
  /** Cache and TLB refill the guest pays after an exit (charged in the passthrough model). */
  exitIndirect: c(1_500, 'C5 [V] ELI abstract: exits cost indirectly too (cache/TLB pollution); [E] per exit, tuned to C5'),
  /** Bare metal: EOI as a WRMSR to the x2APIC EOI register (0x80B). */
  x2apicEoi: c(40, '§1.1 t_eoi_exit [V] x2APIC EOI is MSR 0x80B; [E] native WRMSR cost'),
  /** Bare metal: an idle core (HLT, C1) woken by an interrupt. */
  nativeIdleWakeup: c(1_000, '§1.1 t_hlt_wakeup [E] C1 exit on bare metal, no scheduler involved'),
  /** The DMAR fault handler (dmar_fault): read and clear the fault recording registers, log. */
  hostDmarFault: c(2_000, '§3.6 [V] fault recording registers + fault event; [E] handler cost'),
  /** Linux DMA API map of one buffer behind an IOMMU: IOVA allocation (rbtree, lock) + PTE writes. */
  dmaMapSoftware: c(390, 'C7 [V] Amit et al.: Linux 2.6.36 map/unmap cost; [E] tuned to C7 deferred 91 %'),
  /** Linux DMA API unmap of one buffer: PTE clear + IOVA free (the invalidation is iotlbInvalidate). */
  dmaUnmapSoftware: c(290, 'C7 [V] Amit et al.; [E] tuned to C7 deferred 91 %'),
  /** Optimistic teardown (Amit et al.): find a live mapping of the same page and reuse it. */
  optimisticReuse: c(40, 'C7 [V] optimistic teardown reaches 100 %; [E] lookup cost'),
  /** QEMU's emulated VT-d (intel-iommu): process the invalidation queue, walk the guest's tables. */
  viommuEmulation: c(2_500, 'C7 [V] vIOMMU: every guest map/unmap traps; [E] QEMU emulation cost'),
  /** VFIO_IOMMU_MAP_DMA / UNMAP_DMA for one page: ioctl, pin/unpin, iommu_map/unmap. */
  vfioDmaIoctl: c(3_000, '§3.7 [V] MAP_DMA pins pages; [E] ioctl + pin + map cost'),
  /** The guest driver giving one RX buffer back (page/skb allocation, descriptor write). */
  guestRxRefill: c(60, '[E] ixgbe_alloc_rx_buffers per buffer'),

  // ── SR-IOV (CALIBRATION §3.5) ──────────────────────────────────────────────────────────────────
  /** After VF Enable, software waits this long before configuration requests to the VFs. */
  sriovVfEnableWait: c(100_000_000, '§3.5 [V] Linux sriov_enable() msleep(100): the SR-IOV spec\'s 100 ms'),
  /** Depth of a VF's TX rate limiter (bytes, not ns): a burst of 16 full-size frames. */
  vebRateBurstBytes: c(16 * 1538, '[E] per-VF TX token bucket depth; the 82599 paces queues (RTTBCNRC) rather than dropping'),
  /** The PF driver handling one VF mailbox message (interrupt, read the buffer, policy, reply). */
  pfMailboxMessage: c(4_000, '[E] ixgbe_msg_task()/ixgbe_rcv_msg_from_vf(): ~µs of PF-driver work per message'),
  /** Per-VM host work that does not depend on traffic: KVM's timer and vCPU scheduling, per-VM bookkeeping, every 1 ms. */
  vmHostTick: c(2_500, 'C11 [V] 1.76 % extra CPU per VM; [E] 2.5 µs per VM per ms, tuned to C11 with the per-interrupt HLT exits and wake-ups'),
  /** Period of vmHostTick (ns). */
  vmHostTickPeriod: c(1_000_000, '[E] one per-VM housekeeping pass per ms (HZ = 1000)'),
  /** The VF's interrupt moderation under adaptive coalescing: at most one interrupt per this many ns per VF. */
  vfAdaptiveItr: c(250_000, 'C11 [V] HPCA\'10 adaptive interrupt coalescing; [E] 4,000 interrupts/s per VF at line rate'),
  /** A vSwitch with no NIC sorting: find the VM a frame is for in software and hand it to that port (skb clone, port lookup, cache misses on headers). */
  vswitchSoftSort: c(1_950, 'C12 [V] 9.3 vs 4.2 Gbit/s without VMDq: one thread sorts and copies everything; [E] per-frame cost tuned to C12'),
  /** The host NIC's interrupt moderation on its RX queues (VMDq queues, the single queue without VMDq, vhost-net's host NIC). */
  hostNicItr: c(20_000, '[E] ixgbe-class RX interrupt moderation, ~20 µs as the passthrough scenarios\' itr default'),
  /** The vSwitch with VMDq: the NIC already sorted the frame; only the port's queue is looked up. */
  vswitchQueueLookup: c(100, 'C12 [V] VMDq: queues sorted on the NIC; [E] per-frame cost'),
  /** OVS slow path for a flow-table miss: upcall to ovs-vswitchd (netlink), classifier, megaflow, re-injection. */
  ovsUpcall: c(30_000, '[E] ovs-vswitchd upcall and flow setup, tens of µs per new flow'),
  /** Installing one exact-match rule in the NIC's flow table (tc flower → driver → NIC firmware). */
  ovsFlowInstall: c(20_000, '[E] TC flower offload of one rule through the PF driver'),
  /** The NIC's flow-table lookup of one frame (exact match on a hash). */
  nicFlowLookup: c(20, '[E] on-NIC exact-match hash lookup, pipelined'),

  // ── Live migration (CALIBRATION §4, C18, C19; lab-engine/migration/) ─────────────────────────
  /** QEMU's per-page header on the migration stream (bytes, not ns): a be64 of page offset | RAM_SAVE_FLAG_* bits. */
  migPageHeaderBytes: c(8, '[E] QEMU migration/ram.c save_page_header(): 8-byte offset|flags word per page (block name only on a new block)'),
  /** The migration thread's work per page besides the copy (COSTS.copyPer64B): find the bit, build the header, queue the iovec. */
  migThreadPerPage: c(100, '[E] ram_save_target_page() bookkeeping, ~100 ns per page; with the copy, ~8 GB/s for one thread'),
  /** Enabling dirty logging on every memslot, the vhost log and the device's DMA log, and allocating the migration bitmap, per GiB of RAM. */
  migSetupPerGiB: c(200_000, '[E] KVM_MEM_LOG_DIRTY_PAGES on each slot + bitmap allocation, ~0.2 ms per GiB'),
  /** One dirty-bitmap sync per GiB of guest RAM: KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG, vhost log scan, merge into the migration bitmap. */
  migBitmapSyncPerGiB: c(100_000, '[E] migration_bitmap_sync(): 32 KiB of bitmap per GiB read, cleared and merged, ~0.1 ms per GiB'),
  /** vm_stop(): kick every vCPU out of guest mode, pause them, flush the device models, stop the backends. */
  migVcpuStop: c(500_000, '[E] vm_stop_force_state() ~0.5 ms: vCPU kicks, bdrv/net flush'),
  /** Destination: load the device state, vm_start(): re-arm timers, resume vCPUs. */
  migDestResume: c(2_000_000, '[E] loadvm + vm_start() ~2 ms on the destination'),
  /** VHOST_GET_VRING_BASE on one vring: stop the vhost worker, flush, read last_avail_idx (an ioctl). */
  vhostGetVringBase: c(20_000, '[E] vhost_virtqueue_stop(): ioctl + worker flush, ~20 µs per ring'),
  /** The same for a vhost-user backend: a message round trip on the unix socket, the backend stops polling the ring. */
  vhostUserGetVringBase: c(100_000, '[E] VHOST_USER_GET_VRING_BASE round trip + backend stop, ~100 µs per ring'),
  /** QEMU's first self-announce (RARP) after the destination resumes reaches the switch, which relearns the MAC. */
  migAnnounceRarp: c(50_000, '[E] qemu_announce_self(): first RARP sent at resume; switch MAC relearning ~tens of µs'),
  /** VIRTIO_NET_F_GUEST_ANNOUNCE: the device raises VIRTIO_NET_S_ANNOUNCE, the guest driver sends the gratuitous ARP itself. */
  migGuestAnnounce: c(300_000, '[E] config interrupt → virtnet_config_changed_work → netdev_notify_peers, ~0.3 ms'),
  /** Failover: QEMU asks the guest to unplug the VF (ACPI PCI hot-plug GPE → acpiphp). */
  failoverUnplugRequest: c(20_000_000, '[E] ACPI hot-unplug notification handled by the guest, ~20 ms'),
  /** Failover: the guest's VF driver removal (unregister netdev, free rings, FLR) — the VF stops receiving here. */
  failoverVfRemove: c(30_000_000, '[E] ixgbevf/iavf remove(), ~30 ms'),
  /** net_failover: the master netdev makes the virtio standby its active slave (NETDEV_UNREGISTER notifier) and the host steers the MAC to the standby's tap. */
  failoverSwitch: c(5_000_000, '[E] net_failover slave switch + host FDB update, ~5 ms (CALIBRATION §4 "outage ≈ failover + hot-unplug time")'),
  /** Failover: a VF hot-plugged on the destination, probed, link up, enslaved as primary. */
  failoverReplug: c(800_000_000, '[E] ACPI hot-plug + VF driver probe + PF mailbox + link up, ~0.8 s'),
  /** KVM's PML_FULL exit handler: move the 512 logged GPAs into the memslot's dirty bitmap, reset the PML index. */
  pmlFullDrain: c(5_000, '[E] vmx_flush_pml_buffer(): 512 entries, ~10 ns each, ~5 µs per PML_FULL exit (on top of exitHardware)'),
  /** Post-copy: a guest access to a page not yet on the destination — userfaultfd wakes QEMU, which requests the page from the source (besides the page's own time on the link). */
  postcopyFault: c(40_000, '[E] userfaultfd fault → postcopy_request_page() → source return path → UFFDIO_COPY, ~40 µs plus the page on the link'),
  /** VFIO migration: the variant driver serializes the stopped device's state into the data_fd (per MiB). */
  vfioStateSavePerMiB: c(1_000_000, '[E] device firmware dumps state at ~1 GB/s'),
  /** VFIO migration: one FSM arc (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE step in the variant driver). */
  vfioArc: c(100_000, '[E] one vfio_mig_get_next_state() step in the variant driver (firmware command), ~0.1 ms'),

  // ── Wire and peer ───────────────────────────────────────────────────────────────────────────
  /** Preamble + SFD (8) + inter-frame gap (12), bytes per frame on the wire. */
  wireOverheadBytes: c(20, 'IEEE 802.3 [D] (CALIBRATION §1.2)'),
  /** FCS added by the NIC, bytes. */
  wireFcsBytes: c(4, 'IEEE 802.3 [D]'),
  /** One-way propagation + switch latency to the peer. */
  wirePropagation: c(1_000, '[E] one switch hop in a rack'),
  /** The peer's service time for one request (request/response workloads). */
  peerService: c(10_000, '[E] netperf-RR-like responder, ~10 µs'),
} as const satisfies Record<string, CostEntry>;

export type CostName = keyof typeof COSTS;

/** Cost in ns of copying `bytes` bytes (rounded up to 64-byte lines). */
export function copyCost(bytes: number): Ns {
  return Math.ceil(bytes / 64) * COSTS.copyPer64B.ns;
}

/** Time a frame of `frameBytes` (FCS included) occupies a wire of `gbps` Gbit/s, ns (rounded up). */
export function wireTime(frameBytes: number, gbps: number): Ns {
  const onWire = Math.max(frameBytes, 64) + COSTS.wireOverheadBytes.ns;
  return Math.ceil((onWire * 8) / gbps);
}

/** PCIe link bandwidth per direction, GB/s (= bytes per ns), CALIBRATION §1.2. */
export const PCIE_GBPS = {
  gen2x8: { gbps: 4.0, source: '[D] 5 GT/s × 8 lanes × 8/10 (8b/10b) / 8 — the 82599\'s link (PCIe 2.0 x8)' },
  gen3x8: { gbps: 7.88, source: '§1.2 [D] 8 GT/s × 8 lanes × 128/130 / 8' },
  gen4x16: { gbps: 31.5, source: '§1.2 [D] 16 GT/s × 16 lanes × 128/130 / 8' },
} as const;

/** PCIe framing the NIC's DMA engine pays per TLP: max payload 256 B (Device Control MPS), ~24 B of header, sequence number, LCRC and framing [D]. */
export const PCIE_TLP = { maxPayloadBytes: 256, overheadBytes: 24, source: '§1.2 [D] PCIe TLP header (12–16 B) + sequence/LCRC (6 B) + framing (2 B)' } as const;
