// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the virtio-backend lab, written as a learner would, against 'iovlab/virtio-backend'.
// TX follows vhost's handle_tx (pop, copy, used, one interrupt decision per batch); RX follows
// handle_rx; chain walking and validation follow virtio 1.2 §2.7.5 and QEMU's virtqueue_pop.
import {
  type Queue, type Host,
  VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, VIRTQ_AVAIL_F_NO_INTERRUPT,
  DESC_SIZE, NET_HDR_SIZE, vringNeedEvent,
} from 'iovlab/virtio-backend';

interface Seg { addr: number; len: number; write: boolean }
type Popped = { head: number; segs: Seg[] } | { error: string } | undefined;

/** Take the next available chain and walk it (virtio 1.2 §2.7.5), validating as a device must. */
function pop(q: Queue): Popped {
  const m = q.mem;
  const availIdx = m.read16(q.avail + 2);
  const pending = (availIdx - q.lastAvail) & 0xffff;
  if (pending === 0) return undefined;
  if (pending > q.size) return { error: `avail.idx jumped to ${availIdx} from ${q.lastAvail}` };
  const head = m.read16(q.avail + 4 + 2 * (q.lastAvail % q.size));
  if (head >= q.size) return { error: `avail ring names descriptor ${head}, out of range for queue size ${q.size}` };
  const segs: Seg[] = [];
  let table = q.desc;
  let tableLen = q.size;
  let i = head;
  let steps = 0;
  let indirect = false;
  let seenWrite = false;
  for (;;) {
    if (++steps > tableLen) return { error: `the chain from head ${head} is longer than its table: a NEXT loop` };
    const d = table + DESC_SIZE * i;
    const addr = m.read64(d);
    const len = m.read32(d + 8);
    const flags = m.read16(d + 12);
    const next = m.read16(d + 14);
    if (flags & VIRTQ_DESC_F_INDIRECT) {
      if (indirect) return { error: `nested INDIRECT descriptor ${i}` };
      if (!q.indirect) return { error: `INDIRECT descriptor ${i} but VIRTIO_F_INDIRECT_DESC was not negotiated` };
      if (flags & VIRTQ_DESC_F_NEXT) return { error: `descriptor ${i} has both INDIRECT and NEXT` };
      if (len === 0 || len % DESC_SIZE !== 0) return { error: `indirect table length ${len} is not a multiple of 16` };
      table = addr;
      tableLen = len / DESC_SIZE;
      i = 0;
      steps = 0;
      indirect = true;
      continue;
    }
    const write = (flags & VIRTQ_DESC_F_WRITE) !== 0;
    if (!write && seenWrite) return { error: `descriptor ${i} is device-readable after a device-writable one` };
    seenWrite ||= write;
    segs.push({ addr, len, write });
    if (!(flags & VIRTQ_DESC_F_NEXT)) break;
    if (next >= tableLen) return { error: `descriptor ${i} continues to ${next}, out of range` };
    i = next;
  }
  q.lastAvail = (q.lastAvail + 1) & 0xffff;
  return { head, segs };
}

function addUsed(q: Queue, head: number, len: number): void {
  const e = q.used + 4 + 8 * (q.usedIdx % q.size);
  q.mem.write32(e, head);
  q.mem.write32(e + 4, len);
  q.usedIdx = (q.usedIdx + 1) & 0xffff;
  q.mem.write16(q.used + 2, q.usedIdx);
}

/** §2.7.7: interrupt if the driver asked to hear about an entry in [old, usedIdx). */
function maybeInterrupt(q: Queue, old: number, host: Host): void {
  if (old === q.usedIdx) return;
  const wants = q.eventIdx
    ? vringNeedEvent(q.mem.read16(q.avail + 4 + 2 * q.size), q.usedIdx, old)
    : (q.mem.read16(q.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  if (wants) host.interrupt();
}

export function serveTx(q: Queue, host: Host): void {
  const old = q.usedIdx;
  for (;;) {
    const c = pop(q);
    if (c === undefined) break;
    if ('error' in c) return host.needsReset(c.error);
    if (c.segs.some((s) => s.write)) return host.needsReset(`TX chain ${c.head} has a device-writable buffer`);
    const parts = c.segs.map((s) => q.mem.read(s.addr, s.len));
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (total < NET_HDR_SIZE) return host.needsReset(`TX chain ${c.head} is shorter than the virtio-net header`);
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    host.transmit(all.subarray(NET_HDR_SIZE));
    addUsed(q, c.head, 0);
  }
  maybeInterrupt(q, old, host);
}

export function receive(q: Queue, frame: Uint8Array, host: Host): boolean {
  const c = pop(q);
  if (c === undefined) return false;
  if ('error' in c) { host.needsReset(c.error); return false; }
  const need = NET_HDR_SIZE + frame.length;
  const room = c.segs.reduce((n, s) => n + (s.write ? s.len : 0), 0);
  if (c.segs.some((s) => !s.write) || room < need) { host.needsReset(`RX chain ${c.head} cannot hold ${need} bytes`); return false; }
  const bytes = new Uint8Array(need);
  bytes[10] = 1; // num_buffers = 1
  bytes.set(frame, NET_HDR_SIZE);
  let at = 0;
  for (const s of c.segs) {
    if (at >= need) break;
    const n = Math.min(s.len, need - at);
    q.mem.write(s.addr, bytes.subarray(at, at + n));
    at += n;
  }
  const old = q.usedIdx;
  addUsed(q, c.head, need);
  maybeInterrupt(q, old, host);
  return true;
}
