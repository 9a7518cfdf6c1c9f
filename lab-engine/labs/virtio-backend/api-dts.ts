/** What learners see in the editor for `import … from 'iovlab/virtio-backend'`. */
export const VIRTIO_BACKEND_DTS = `declare module 'iovlab/virtio-backend' {
  // ── Split virtqueue layout (virtio 1.2 §2.7), all little-endian ──────────────────────────────
  // Descriptor table at q.desc, q.size entries of 16 bytes (§2.7.5):
  //   +0 addr (le64) · +8 len (le32) · +12 flags (le16) · +14 next (le16)
  // Available ring at q.avail, written by the driver (§2.7.6):
  //   +0 flags (le16) · +2 idx (le16) · +4 ring[q.size] (le16 each: chain heads) · then used_event (le16)
  // Used ring at q.used, written by YOU, the device (§2.7.8):
  //   +0 flags (le16) · +2 idx (le16) · +4 ring[q.size] of { id (le32), len (le32) } · then avail_event (le16)
  // idx fields are free-running 16-bit counters; ring slots are idx % q.size.

  /** §2.7.5: the buffer continues via the next field. */
  export const VIRTQ_DESC_F_NEXT: 1;
  /** §2.7.5: the buffer is device write-only (otherwise device read-only). */
  export const VIRTQ_DESC_F_WRITE: 2;
  /** §2.7.5.3: the buffer holds a table of descriptors (an indirect table, len / 16 entries). */
  export const VIRTQ_DESC_F_INDIRECT: 4;
  /** avail.flags: the driver asks for no interrupts (only meaningful when q.eventIdx is false). */
  export const VIRTQ_AVAIL_F_NO_INTERRUPT: 1;
  /** used.flags: the device asks for no kicks (the engine manages this one for you). */
  export const VIRTQ_USED_F_NO_NOTIFY: 1;
  export const DESC_SIZE: 16;
  /** struct virtio_net_hdr_v1 (§5.1.6): 12 bytes before every frame, TX and RX. */
  export const NET_HDR_SIZE: 12;
  /**
   * Linux's vring_need_event() (§2.7.10): having moved an index from \`old\` to \`newIdx\`, notify
   * iff the peer's \`eventIdx\` lies in [old, newIdx), modulo 2^16.
   */
  export function vringNeedEvent(eventIdx: number, newIdx: number, old: number): boolean;

  /** Guest RAM as the device sees it (shared memory). Every access costs simulated time. */
  export interface GuestMemory {
    read8(gpa: number): number;
    read16(gpa: number): number;
    read32(gpa: number): number;
    /** Exact up to 2^53. */
    read64(gpa: number): number;
    write16(gpa: number, value: number): void;
    write32(gpa: number, value: number): void;
    /** Copy \`len\` bytes out of guest RAM. */
    read(gpa: number, len: number): Uint8Array;
    /** Copy bytes into guest RAM. */
    write(gpa: number, bytes: Uint8Array): void;
  }

  /** One virtqueue, device side. */
  export interface Queue {
    /** Virtqueue index: 0 = receiveq1, 1 = transmitq1 (§5.1.2). */
    readonly index: number;
    readonly kind: 'tx' | 'rx';
    /** Queue size: a power of 2 (§2.7). */
    readonly size: number;
    /** Guest-physical addresses of the descriptor table, available ring and used ring. */
    readonly desc: number;
    readonly avail: number;
    readonly used: number;
    /** VIRTIO_F_EVENT_IDX negotiated: use used_event (else avail.flags) to decide on interrupts. */
    readonly eventIdx: boolean;
    /** VIRTIO_F_INDIRECT_DESC negotiated: chains may use indirect tables. */
    readonly indirect: boolean;
    /** YOUR state, kept between calls: the next avail entry to take (starts at the driver's avail.idx). */
    lastAvail: number;
    /** YOUR state: the used.idx you last published (starts equal to lastAvail). */
    usedIdx: number;
    /** Free for your own bookkeeping (kept between calls). */
    scratch: Record<string, number>;
    readonly mem: GuestMemory;
  }

  /** The host side of the device. */
  export interface Host {
    /** Send a frame to the network: the Ethernet frame only, WITHOUT the 12-byte virtio-net header. */
    transmit(frame: Uint8Array): void;
    /** Signal the queue's interrupt (MSI-X through an irqfd). */
    interrupt(): void;
    /**
     * §2.1.2: the device hit an error it cannot recover from (a malformed chain). Sets
     * DEVICE_NEEDS_RESET with your reason; the queue stops. Return right after calling it.
     */
    needsReset(reason: string): void;
    /** Print to the run's log (200 lines at most). */
    log(...values: unknown[]): void;
  }

  // Your module must export:
  //   export function serveTx(q: Queue, host: Host): void
  //       — the driver kicked the TX queue (or you were woken to look again): take every
  //         available chain, transmit its frame, return it in the used ring, decide on an interrupt.
  //   export function receive(q: Queue, frame: Uint8Array, host: Host): boolean
  //       — a frame arrived for the guest: put header + frame into the next available RX chain,
  //         return it in the used ring, decide on an interrupt; false if no buffer was posted.
}
`;
