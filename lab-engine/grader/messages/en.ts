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
  'timeout': (d) => `seed ${s(d, 'seed')}: your code ran for more than ${s(d, 'seconds')} s without returning — an infinite loop? The run was stopped`,
  'compile-error': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'parent-failed': (d) => `not run: check ${s(d, 'parent')} (${s(d, 'name')}) failed first`,
};

export function renderFinding(f: Finding): string {
  const m = MESSAGES[f.code];
  return m ? m(f.data) : `${f.code} ${JSON.stringify(f.data)}`;
}
