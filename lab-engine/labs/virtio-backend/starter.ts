/** The code learners start from: it compiles and runs, and serves nothing yet. */
export const VIRTIO_BACKEND_STARTER = `// The device side of a virtio-net TX and RX queue (virtio 1.2 §2.7), as vhost-net's worker
// runs it: the engine calls serveTx() when the driver kicks the TX queue, and receive() for
// every frame that arrives for the guest. You read and write the rings in guest memory.
import {
  type Queue, type Host,
  VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_INDIRECT, VIRTQ_AVAIL_F_NO_INTERRUPT,
  DESC_SIZE, NET_HDR_SIZE, vringNeedEvent,
} from 'iovlab/virtio-backend';

/** One descriptor of a table (the ring's own table at q.desc, or an indirect table). */
function readDesc(q: Queue, table: number, i: number) {
  const d = table + DESC_SIZE * i;
  return { addr: q.mem.read64(d), len: q.mem.read32(d + 8), flags: q.mem.read16(d + 12), next: q.mem.read16(d + 14) };
}

export function serveTx(q: Queue, host: Host): void {
  // 1. How many chains are waiting? avail.idx (at q.avail + 2) minus q.lastAvail — both are
  //    free-running 16-bit counters, so compute the difference modulo 65536.
  // 2. For each one: its head is avail.ring[q.lastAvail % q.size] (at q.avail + 4 + 2 * slot).
  //    Walk the chain from the head with readDesc(): follow NEXT; an INDIRECT descriptor points at
  //    a table of len / 16 descriptors that holds the real chain. Gather the device-readable bytes.
  // 3. Drop the 12-byte virtio-net header and host.transmit() the rest.
  // 4. Return the chain: used.ring[q.usedIdx % q.size] = { id: head, len: 0 } (at q.used + 4 + 8 * slot),
  //    then advance q.usedIdx and publish it at q.used + 2. Advance q.lastAvail too.
  // 5. After the batch, interrupt the driver only if it asked: with q.eventIdx, used_event sits
  //    right after avail.ring (q.avail + 4 + 2 * q.size) — see vringNeedEvent(); without it,
  //    look at VIRTQ_AVAIL_F_NO_INTERRUPT in avail.flags.
  // A malformed chain (a NEXT loop, an index out of range, INDIRECT with NEXT, a readable buffer
  // after a writable one…) must not be transmitted: call host.needsReset(reason) and return.
  void readDesc; void host;
}

export function receive(q: Queue, frame: Uint8Array, host: Host): boolean {
  // Take the next available RX chain the same way; its buffers are device-WRITABLE
  // (VIRTQ_DESC_F_WRITE). Write a 12-byte virtio-net header (num_buffers = 1 at byte 10, the
  // rest zero) followed by the frame, return the chain with len = bytes written, then decide
  // on an interrupt as for TX. Return false when no RX buffer is available.
  return false;
}
`;
