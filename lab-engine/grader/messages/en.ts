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
  'timeout': (d) => `seed ${s(d, 'seed')}: your code ran for more than ${s(d, 'seconds')} s without returning — an infinite loop? The run was stopped`,
  'compile-error': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'parent-failed': (d) => `not run: check ${s(d, 'parent')} (${s(d, 'name')}) failed first`,
};

export function renderFinding(f: Finding): string {
  const m = MESSAGES[f.code];
  return m ? m(f.data) : `${f.code} ${JSON.stringify(f.data)}`;
}
