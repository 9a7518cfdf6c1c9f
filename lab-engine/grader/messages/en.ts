/**
 * Grader prose, keyed by finding code (zod's locales pattern): the CLI and the browser print
 * exactly these words. Every code a check can produce has a message (a test holds that).
 */
import type { Finding } from '../../labs/types.ts';

type Data = Finding['data'];
const s = (d: Data, k: string): string => String(d[k]);

export const MESSAGES: Record<string, (d: Data) => string> = {
  'learner-threw': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'frame-differs': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} payload differs at byte ${s(d, 'byte')} (expected ${s(d, 'expected')}, got ${s(d, 'got')}); it was in descriptors ${s(d, 'first')}–${s(d, 'last')}`,
  'frame-length': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} is ${s(d, 'got')} bytes on the wire, but the guest sent ${s(d, 'expected')} (descriptors ${s(d, 'first')}–${s(d, 'last')})`,
  'frame-missing': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} (descriptors ${s(d, 'first')}–${s(d, 'last')}) never reached the wire; ${s(d, 'delivered')} of the ${s(d, 'sent')} frames the guest queued did`,
  'extra-frames': (d) => `seed ${s(d, 'seed')}: ${s(d, 'extra')} more frame(s) reached the wire than the ${s(d, 'sent')} the guest sent (a descriptor sent twice?)`,
  'dd-missing': (d) =>
    `seed ${s(d, 'seed')}: descriptor ${s(d, 'index')} (frame ${s(d, 'pkt')}, RS set): DD never set — ${s(d, 'count')} of ${s(d, 'total')} such descriptors never got it`,
  'tdh-out-of-range': (d) => `seed ${s(d, 'seed')}: TDH was set to ${s(d, 'value')}, outside the ring of ${s(d, 'count')} descriptors (indices 0–${Number(d['count']) - 1})`,
  'tdh-final': (d) => `seed ${s(d, 'seed')}: TDH ended at ${s(d, 'tdh')} but TDT is ${s(d, 'tdt')}: the device stopped before the tail`,
  'no-interrupt': (d) => `seed ${s(d, 'seed')}: no interrupt was ever raised, so the guest could never reclaim its ${s(d, 'frames')} frames`,
  'guest-stalled': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'dma-outside-ram': (d) => `seed ${s(d, 'seed')}: DMA ${s(d, 'dir')} of ${s(d, 'len')} B at ${s(d, 'gpa')} is outside guest RAM (0–64 MiB)`,
  'stray-dma-write': (d) =>
    `seed ${s(d, 'seed')}: DMA write of ${s(d, 'len')} B at ${s(d, 'gpa')} is outside the TX descriptor ring (${s(d, 'ringStart')}–${s(d, 'ringEnd')}); the device only writes descriptor status`,
  'descriptor-corrupted': (d) => `seed ${s(d, 'seed')}: descriptor ${s(d, 'index')}: the device overwrote its ${s(d, 'field')} (only the status byte is the device's to write)`,
  'exits-per-packet': (d) => `seed ${s(d, 'seed')}: ${s(d, 'value')} VM exits per packet; the target is at most ${s(d, 'limit')}`,
  'itr-violated': (d) =>
    `seed ${s(d, 'seed')}: two interrupts came ${s(d, 'gap')} apart; ITR=${s(d, 'itr')} asks for at least ${s(d, 'interval')} (${s(d, 'count')} interrupts in all)`,
  // ── virtio-backend ──
  'run-stopped': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'message')}`,
  'tx-differs': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} (${s(d, 'shape')}, head ${s(d, 'head')}) differs at byte ${s(d, 'byte')} after the 12-byte header (expected ${s(d, 'expected')}, got ${s(d, 'got')})`,
  'tx-length': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} (${s(d, 'shape')}, head ${s(d, 'head')}) is ${s(d, 'got')} bytes on the wire, but the guest sent ${s(d, 'expected')} (did you drop the 12-byte virtio-net header, and only it?)`,
  'tx-missing': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} (${s(d, 'shape')}, head ${s(d, 'head')}) never reached the wire; ${s(d, 'delivered')} of the ${s(d, 'sent')} frames the guest queued did`,
  'tx-extra': (d) => `seed ${s(d, 'seed')}: ${s(d, 'extra')} more frame(s) reached the wire than the ${s(d, 'sent')} the guest queued (a chain taken twice?)`,
  'tx-not-queued': (d) => `seed ${s(d, 'seed')}: the guest could queue only ${s(d, 'queued')} of its ${s(d, 'frames')} frames: its TX ring never drained`,
  'false-reset': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): your device set NEEDS_RESET on a well-formed ring: "${s(d, 'reason')}"`,
  'rx-differs': (d) => `seed ${s(d, 'seed')}: received frame ${s(d, 'pkt')} differs at byte ${s(d, 'byte')} (expected ${s(d, 'expected')}, got ${s(d, 'got')}); the header is 12 bytes, the frame follows it`,
  'rx-length': (d) =>
    `seed ${s(d, 'seed')}: received frame ${s(d, 'pkt')} came out ${s(d, 'got')} bytes long instead of ${s(d, 'expected')}: the used element's len must count the 12-byte header plus the frame`,
  'rx-missing': (d) => `seed ${s(d, 'seed')}: the guest received ${s(d, 'delivered')} of the ${s(d, 'sent')} frames sent to it (${s(d, 'drops')} dropped for want of a buffer)`,
  'lost-interrupt': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'run')} run): the driver waited forever from ${s(d, 't')}: it asked to be interrupted at used index ${s(d, 'usedEvent')} (used_event; EVENT_IDX ${s(d, 'eventIdx')}, NO_INTERRUPT flag ${s(d, 'noInterruptFlag')}), used.idx reached ${s(d, 'usedIdx')}, and your device raised ${s(d, 'interrupts')} interrupt(s) in all`,
  'bad-chain-runaway': (d) => `seed ${s(d, 'seed')}: given ${s(d, 'fault')}, your device kept walking descriptors until the access budget ran out; a chain can never be longer than its table`,
  'bad-chain-threw': (d) => `seed ${s(d, 'seed')}: given ${s(d, 'fault')}, your device threw instead of setting NEEDS_RESET: ${s(d, 'message')}`,
  'bad-chain-accepted': (d) => `seed ${s(d, 'seed')}: the guest posted ${s(d, 'fault')} (frame ${s(d, 'pkt')}); your device accepted it ${s(d, 'sent')} — it must call host.needsReset()`,
  'bad-chain-sent': (d) => `seed ${s(d, 'seed')}: your device set NEEDS_RESET but still transmitted frame ${s(d, 'pkt')}, which had ${s(d, 'fault')}`,
  'stray-write': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'run')} run): your device wrote ${s(d, 'len')} B at ${s(d, 'gpa')} while serving queue ${s(d, 'queue')}: a device writes only its used ring and device-writable (RX) buffers`,
  'used-regressed': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): used.idx went back from ${s(d, 'from')} to ${s(d, 'to')}; it only ever moves forward (mod 65536)`,
  'bad-used-entry': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'message')}`,
  'exits-per-frame': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'exits')} VM exits for ${s(d, 'frames')} frames = ${s(d, 'value')} per frame; the target is at most ${s(d, 'limit')} — every interrupt costs the guest an EOI exit and often a wake-up`,
  'interrupts-per-frame': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'interrupts')} interrupts for ${s(d, 'frames')} frames = ${s(d, 'value')} per frame; the target is at most ${s(d, 'limit')} — interrupt only when the driver's used_event (or NO_INTERRUPT) asks`,
  // ── vhost-poll ──
  'poll-frame-missing': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} never reached the peer; ${s(d, 'delivered')} of the ${s(d, 'frames')} frames did. ${s(d, 'why')}`,
  'poll-frame-differs': (d) =>
    `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} differs at the peer at byte ${s(d, 'byte')} (expected ${s(d, 'expected')}, got ${s(d, 'got')})`,
  'poll-frame-length': (d) => `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} is ${s(d, 'got')} bytes at the peer, but the guest sent ${s(d, 'expected')}`,
  'poll-extra-frames': (d) => `seed ${s(d, 'seed')}: ${s(d, 'extra')} more frame(s) reached the peer than the ${s(d, 'frames')} the guest sent`,
  'poll-slept-suppressed': (d) =>
    `seed ${s(d, 'seed')}: at ${s(d, 't')} the core went to sleep with notifications still suppressed (${s(d, 'how')}): the guest will not kick, so the next frame waits for ever — a lost wake-up (${s(d, 'count')} of ${s(d, 'sleeps')} sleeps). Call core.enableNotifications() before sleeping`,
  'poll-slept-no-recheck': (d) =>
    `seed ${s(d, 'seed')}: at ${s(d, 't')} the core went to sleep without looking at the ring after core.enableNotifications() (${s(d, 'count')} of ${s(d, 'sleeps')} sleeps): a chain the guest published between the core's last poll and the enable got no kick and would wait for ever — a lost wake-up. Re-check core.pendingTx() after enabling`,
  'poll-slept-with-work': (d) =>
    `seed ${s(d, 'seed')}: at ${s(d, 't')} the core went to sleep with ${s(d, 'pending')} chain(s) pending on the ring (${s(d, 'count')} of ${s(d, 'sleeps')} sleeps): no kick will announce chains that are already there`,
  'poll-frame-waited': (d) => `seed ${s(d, 'seed')}: frame ${s(d, 'pkt')} ${s(d, 'waited')}: ${s(d, 'cause')} — a lost wake-up`,
  'poll-bad-burst': (d) =>
    `seed ${s(d, 'seed')}: burst() returned ${s(d, 'value')} at ${s(d, 't')}; it must return an integer from 1 to 256 (the core took ${s(d, 'used')} instead; ${s(d, 'count')} bad value(s) in all)`,
  'poll-bad-idle': (d) =>
    `seed ${s(d, 'seed')}: idle() returned ${s(d, 'value')} at ${s(d, 't')}; it must return a number of ns > 0 to keep polling, or 'sleep' (did a branch forget to return?). The core ${s(d, 'used')} instead; ${s(d, 'count')} bad value(s) in all`,
  'poll-awake-kicks': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'count')} kicks reached the core while it was polling with notifications enabled (the first at ${s(d, 'first')}; EVENT_IDX ${s(d, 'eventIdx')}): each is a VM exit the guest paid for nothing. Disable notifications as soon as the core polls again (in wake())`,
  'poll-exits': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'value')} VM exits per packet (${s(d, 'exits')} exits, ${s(d, 'kicks')} of them kicks, for ${s(d, 'frames')} frames); the target is at most ${s(d, 'limit')}: ${s(d, 'why')}`,
  'poll-p99': (d) =>
    `seed ${s(d, 'seed')}: p99 latency ${s(d, 'p99')} (p50 ${s(d, 'p50')}); the target is at most ${s(d, 'limit')} — ${s(d, 'wakeups')} wake-ups: frames that find the core asleep wait for a kick and a wake-up`,
  'poll-cpu': (d) =>
    `seed ${s(d, 'seed')}: the poll-mode core was busy ${s(d, 'busy')} of the time (spinning on an empty ring ${s(d, 'spin')}) for ${s(d, 'gbps')} Gbit/s delivered = ${s(d, 'value')} cores per Gbit/s; the target is at most ${s(d, 'limit')} — it keeps polling through the guest's quiet periods`,
  // ── iommu-assign ──
  'ia-stopped': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'message')}`,
  'ia-vfio-failed': (d) => `seed ${s(d, 'seed')}: assigning the NIC failed: VFIO said ${s(d, 'message')}`,
  'ia-unmapped': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'bytes')} of ${s(d, 'region')} (from IOVA ${s(d, 'iova')}) are not mapped, so the NIC's DMA there faults${s(d, 'hint')}`,
  'ia-wrong-hpa': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'region')} at IOVA ${s(d, 'iova')} translates to HPA ${s(d, 'hpa')}, but that guest page lives at HPA ${s(d, 'expected')} (IOVA = GPA; HPA = region.hpa + (GPA − region.gpa))`,
  'ia-no-permission': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'region')} at IOVA ${s(d, 'iova')} is mapped ${s(d, 'perm')}: the NIC both reads guest RAM (TX buffers, descriptors) and writes it (RX buffers, write-backs)`,
  'ia-dma-failed': (d) => `seed ${s(d, 'seed')}: the NIC's DMA ${s(d, 'dir')} at IOVA ${s(d, 'iova')} (${s(d, 'region')}) went wrong: ${s(d, 'message')}`,
  'ia-driver-dma': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): the guest driver's DMA ${s(d, 'dir')} of ${s(d, 'len')} B at IOVA ${s(d, 'iova')} failed: ${s(d, 'message')}`,
  'ia-tx-missing': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'delivered')} of the ${s(d, 'sent')} frames the guest sent reached the peer. ${s(d, 'why')}`,
  'ia-rx-missing': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): the guest received ${s(d, 'delivered')} of the ${s(d, 'sent')} frames sent to it. ${s(d, 'why')}`,
  'ia-tx-differs': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): frame ${s(d, 'pkt')} differs at the peer at byte ${s(d, 'byte')} (expected ${s(d, 'expected')}, got ${s(d, 'got')})`,
  'ia-rx-differs': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): received frame ${s(d, 'pkt')} differs in the guest at byte ${s(d, 'byte')} (expected ${s(d, 'expected')}, got ${s(d, 'got')})`,
  'ia-tx-length': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): frame ${s(d, 'pkt')} is ${s(d, 'got')} bytes at the peer, but the guest sent ${s(d, 'expected')}`,
  'ia-rx-length': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): received frame ${s(d, 'pkt')} is ${s(d, 'got')} bytes in the guest, but the peer sent ${s(d, 'expected')}`,
  'ia-extra-frames': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'extra')} more frame(s) arrived than were sent`,
  'ia-over-mapped': (d) =>
    `seed ${s(d, 'seed')}: IOVA ${s(d, 'from')}–${s(d, 'to')} is mapped (${s(d, 'page')} page, to HPA ${s(d, 'hpa')}: ${s(d, 'target')}), but no guest RAM is there — the NIC must reach nothing but the guest's regions`,
  'ia-huge-on-small': (d) =>
    `seed ${s(d, 'seed')}: a 2 MiB page at IOVA ${s(d, 'iova')} covers ${s(d, 'region')}, which the host backs with 4 KiB pages: those are not contiguous in host memory, so the 2 MiB page reaches memory that is not the guest's (2 MiB pages only where region.hugepages)`,
  'ia-rogue-landed': (d) => `seed ${s(d, 'seed')}: a rogue DMA ${s(d, 'dir')} of ${s(d, 'len')} B at IOVA ${s(d, 'iova')} (${s(d, 'label')}) went through and reached ${s(d, 'where')}: it must fault`,
  'ia-rogue-translated': (d) =>
    `seed ${s(d, 'seed')}: a rogue DMA ${s(d, 'dir')} at IOVA ${s(d, 'iova')} (${s(d, 'label')}) was translated to ${s(d, 'where')}: your mappings let it through the IOMMU; it must fault there`,
  'ia-neighbour-touched': (d) => `seed ${s(d, 'seed')}: DMA wrote ${s(d, 'pages')} page(s) of the neighbour VM's memory`,
  'ia-unplug-stale': (d) =>
    `seed ${s(d, 'seed')}: after ${s(d, 'region')} was unplugged, the NIC still ${s(d, 'dir')} IOVA ${s(d, 'iova')}${s(d, 'touched')}: the page tables no longer map it, but the IOTLB still held the translation — unmapping must be followed by an IOTLB invalidation (iommu.invalidate) before unmapRegion returns`,
  'ia-unplug-mapped': (d) =>
    `seed ${s(d, 'seed')}: after ${s(d, 'region')} was unplugged, the NIC still ${s(d, 'dir')} IOVA ${s(d, 'iova')}${s(d, 'touched')}: the region is still mapped; unmapRegion must remove its mappings (iommu.unmap) and invalidate the IOTLB`,
  'ia-unplug-leftover': (d) => `seed ${s(d, 'seed')}: after ${s(d, 'region')} was unplugged, IOVA ${s(d, 'from')}–${s(d, 'to')} of it is still mapped`,
  'ia-unplug-collateral': (d) =>
    `seed ${s(d, 'seed')}: unplugging ${s(d, 'region')} also unmapped ${s(d, 'bytes')} of ${s(d, 'other')} (from IOVA ${s(d, 'iova')}): only the region leaving may go`,
  'ia-irq-masked': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'mode')}): programVector() returned null for MSI-X vector ${s(d, 'vector')}, which the guest unmasked (guest vector ${s(d, 'guestVector')} on vCPU ${s(d, 'vcpu')}): the entry stays masked and the guest never gets this interrupt`,
  'ia-irq-bad-return': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'mode')}): programVector() for MSI-X vector ${s(d, 'vector')} returned ${s(d, 'value')}; it must return the MSI { address, data } (irt.msi(index)) or null`,
  'ia-irq-fault': (d) => `seed ${s(d, 'seed')} (${s(d, 'mode')}): the NIC's MSI for vector ${s(d, 'vector')} faulted in the remapping unit: ${s(d, 'detail')} (fault reason ${s(d, 'code')})`,
  'ia-irq-kind': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'mode')}): the NIC's MSI for vector ${s(d, 'vector')} was ${s(d, 'kind')} instead of ${s(d, 'mode')}: with ctx.mode 'posted' the IRTE must be in posted format (IM = 1), with 'remapped' in remapped format`,
  'ia-irq-wrong': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'mode')}): the NIC's MSI for vector ${s(d, 'vector')} (the guest wants vector ${s(d, 'guestVector')} on vCPU ${s(d, 'vcpu')}) came out with ${s(d, 'field')} ${s(d, 'got')}; it should be ${s(d, 'expected')}`,
  'ia-post-failed': (d) => `seed ${s(d, 'seed')} (${s(d, 'mode')}): posting vector ${s(d, 'vector')}'s interrupt failed: ${s(d, 'detail')}`,
  'ia-irq-spoofed': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'mode')}): an MSI from ${s(d, 'spoofer')} naming vector ${s(d, 'vector')}'s IRTE was ${s(d, 'kind')} instead of blocked (the entry has ${s(d, 'entry')}): only the NIC may use it — SVT = 01b, SQ = 00b, SID = the NIC's requester-id`,
  'ia-irq-spoof-run': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')} run): ${s(d, 'message')}`,
  'ia-fault-bad-return': (d) => `seed ${s(d, 'seed')}: fault event ${s(d, 'event')} (${s(d, 'phase')} run): onFaults() returned ${s(d, 'value')}`,
  'ia-fault-count': (d) =>
    `seed ${s(d, 'seed')}: fault event ${s(d, 'event')} (${s(d, 'phase')} run): ${s(d, 'expected')} fault recording register(s) had F set (and ${s(d, 'stale')} held an old record with F clear), but onFaults() returned ${s(d, 'got')} fault(s)`,
  'ia-fault-field': (d) =>
    `seed ${s(d, 'seed')}: fault event ${s(d, 'event')} (${s(d, 'phase')} run), record ${s(d, 'record')}: you decoded ${s(d, 'field')} as ${s(d, 'got')}, but the register holds ${s(d, 'expected')}`,
  'ia-iotlb': (d) =>
    `seed ${s(d, 'seed')}: ${s(d, 'misses')} IOTLB misses for ${s(d, 'packets')} packets = ${s(d, 'value')} per packet; the target is at most ${s(d, 'limit')} — with 4 KiB pages each buffer page needs its own IOTLB entry, with 2 MiB pages a few entries cover every buffer`,
  'ia-exits': (d) =>
    `seed ${s(d, 'seed')}: with posted interrupts, ${s(d, 'exits')} VM exits for ${s(d, 'interrupts')} interrupts = ${s(d, 'value')} per interrupt; the target is at most ${s(d, 'limit')} — a posted interrupt reaches a running vCPU without any exit`,
  'ia-throughput': (d) =>
    `seed ${s(d, 'seed')}: with posted interrupts the VM reached ${s(d, 'gbps')} Gbit/s, ${s(d, 'percent')} % of bare metal's ${s(d, 'bare')} Gbit/s; the target is at least ${s(d, 'limit')} %`,
  'sp-stopped': (d) => `seed ${s(d, 'seed')} (${s(d, 'run')}): ${s(d, 'message')}`,
  'sp-no-vfe': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'where')}): after enableVfs(pf, ${s(d, 'want')}) VF Enable is clear and no VF exists (NumVFs reads ${s(d, 'numvfs')}); ${s(d, 'expected')} VFs should be there (${s(d, 'limits')})${s(d, 'hint')}`,
  'sp-numvfs': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'where')}): enableVfs(pf, ${s(d, 'want')}) enabled ${s(d, 'numvfs')} VFs; it should enable ${s(d, 'expected')} — what was asked for, but never more than TotalVFs or the driver's limit (${s(d, 'limits')})`,
  'sp-no-mse': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'where')}): ${s(d, 'vfs')} VFs exist but VF MSE (PCI_SRIOV_CTRL_MSE) is clear: no VF's BARs decode, so no VF driver can reach its registers — the PF's VF MSE bit enables memory space for all VFs, a VF's own Command register cannot`,
  'sp-not-ready': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'where')}): enableVfs() returned ${s(d, 'ms')} ms after setting VF Enable, and the kernel's configuration reads of ${s(d, 'vfs')} VF(s) came back all ones: the spec requires 100 ms before any configuration request to a new VF (Linux sriov_enable() calls msleep(100))`,
  'sp-vfs-bad-return': (d) => `seed ${s(d, 'seed')} (${s(d, 'where')}): enableVfs() returned ${s(d, 'value')}; it should return an array of {index, bus, devfn, rid}, one per VF`,
  'sp-vfs-count': (d) => `seed ${s(d, 'seed')} (${s(d, 'where')}): enableVfs() returned ${s(d, 'got')} VF(s), but ${s(d, 'vfs')} VF(s) should enumerate on this PF`,
  'sp-vf-rid': (d) =>
    `seed ${s(d, 'seed')} (${s(d, 'where')}): VF ${s(d, 'vf')}: you returned ${s(d, 'field')} ${s(d, 'got')}, but it enumerates at ${s(d, 'expected')} — RID = PF RID + First VF Offset + i × VF Stride, in 16-bit bus:devfn arithmetic (devfn past 0xFF carries into the bus)`,
  'sp-frame-missing': (d) => `seed ${s(d, 'seed')}: a frame (${s(d, 'what')}) never reached ${s(d, 'to')}${s(d, 'hint')}`,
  'sp-frame-differs': (d) => `seed ${s(d, 'seed')}: a frame (${s(d, 'what')}) reached ${s(d, 'to')} with different bytes`,
  'sp-spoof-passed': (d) =>
    `seed ${s(d, 'seed')}: a spoofed frame (${s(d, 'what')}) reached ${s(d, 'to')}; with anti-spoofing the switch drops every frame whose source MAC is not the VF's own${s(d, 'hint')}`,
  'sp-vlan-sent': (d) =>
    `seed ${s(d, 'seed')}: a frame on a VLAN not its sender's (${s(d, 'what')}) reached ${s(d, 'to')}: a VF may only send on its own VLAN (setVlan(), with anti-spoofing on)`,
  'sp-vlan-crossed': (d) =>
    `seed ${s(d, 'seed')}: VF ${s(d, 'vf')} (VLAN ${s(d, 'own')}) received a frame on ${s(d, 'vlan')} (${s(d, 'what')}): no frame may cross VLANs`,
  'sp-leak': (d) => `seed ${s(d, 'seed')}: VF ${s(d, 'vf')} received a frame it was not addressed to (${s(d, 'what')}): ${s(d, 'why')}`,
  'sp-mbx-accepted': (d) =>
    `seed ${s(d, 'seed')}: VF ${s(d, 'vf')} asked through the mailbox (${s(d, 'req')}) for ${s(d, 'what')}, and onMailbox() accepted it: a VM must not impersonate another tenant or reach another VLAN — refuse any MAC but the VF's own valid unicast one and any VLAN but its tenant's`,
  'sp-mbx-refused': (d) =>
    `seed ${s(d, 'seed')}: VF ${s(d, 'vf')} asked through the mailbox (${s(d, 'req')}) for ${s(d, 'what')}, a request a well-behaved VF driver makes, and onMailbox() refused it ("${s(d, 'reason')}")`,
  'sp-mbx-bad-return': (d) =>
    `seed ${s(d, 'seed')}: onMailbox() returned ${s(d, 'value')} for VF ${s(d, 'vf')}'s ${s(d, 'req')} request; it should return { ok: true } or { ok: false, reason } (the PF driver NACKed it)`,
  'sp-mbx-unanswered': (d) => `seed ${s(d, 'seed')}: only ${s(d, 'answered')} of ${s(d, 'sent')} mailbox requests were answered`,
  'sp-rate': (d) =>
    `seed ${s(d, 'seed')}: VF ${s(d, 'vf')} sent at ${s(d, 'got')} Gbit/s against its limit of ${s(d, 'want')} Gbit/s (${s(d, 'off')} off; within ±${s(d, 'tol')} % expected)${s(d, 'hint')}`,
  'sp-throughput': (d) =>
    `seed ${s(d, 'seed')}: with ${s(d, 'n')} tenants the ${s(d, 'port')} GbE port was busy ${s(d, 'got')} of the time (the tenants got ${s(d, 'gbps')} Gbit/s together); the target is at least ${s(d, 'limit')} % of line rate`,
  'timeout': (d) => `seed ${s(d, 'seed')}: your code ran for more than ${s(d, 'seconds')} s without returning — an infinite loop? The run was stopped`,
  'compile-error': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'out-of-memory': (d) => `seed ${s(d, 'seed')}: your code used more memory than the grader allows and was stopped (${s(d, 'message')}) — does something grow without bound?`,
  'worker-died': (d) => `seed ${s(d, 'seed')}: the runner died while running your code (${s(d, 'message')}); the run was stopped`,
  'parent-failed': (d) => `not run: check ${s(d, 'parent')} (${s(d, 'name')}) failed first`,
};

export function renderFinding(f: Finding): string {
  const m = MESSAGES[f.code];
  return m ? m(f.data) : `${f.code} ${JSON.stringify(f.data)}`;
}

// ── choose-io-model: its codes (cm-*) and their prose live with the lab ──
import { CHOOSE_IO_MODEL_MESSAGES } from '../../labs/choose-io-model/messages.ts';
Object.assign(MESSAGES, CHOOSE_IO_MODEL_MESSAGES);
