/**
 * How long the migration stream takes to move bytes: the link's TCP goodput or the migration
 * thread's copy work, whichever is slower, chunk by chunk. The sender and the switch-over
 * estimate both use these functions, so the estimate is exactly what the send will take.
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import { PAGE_BYTES } from './guest-ram.ts';

/** Pages per send: QEMU multifd's packet of 512 KiB (MULTIFD_PACKET_SIZE) [R]; one scheduler event each. */
export const CHUNK_PAGES = 128;
/** Bytes of device state per send (the same 512 KiB). */
export const CHUNK_BYTES = CHUNK_PAGES * PAGE_BYTES;
/** TCP goodput share of a 1500-MTU Ethernet link: 1,448 payload bytes per 1,538 on the wire (CALIBRATION C16 [D]). */
export const LINK_GOODPUT = 1448 / 1538;
/** One page on the stream: its header (COSTS.migPageHeaderBytes) and its 4 KiB. */
export const PAGE_ON_STREAM = PAGE_BYTES + COSTS.migPageHeaderBytes.ns;

export class MigrationLink {
  readonly gbps: number;

  constructor(gbps: number) {
    this.gbps = gbps;
  }

  /** The link's time for `bytes` of stream. */
  linkNs(bytes: number): Ns {
    return Math.ceil((bytes * 8) / (this.gbps * LINK_GOODPUT));
  }

  /** The migration thread's time for a send of `pages` pages and `bytes` bytes in all. */
  threadNs(pages: number, bytes: number): Ns {
    return copyCost(bytes) + pages * COSTS.migThreadPerPage.ns;
  }

  /** One send of `pages` pages + `extraBytes` of device state. */
  chunkNs(pages: number, extraBytes: number): Ns {
    const bytes = pages * PAGE_ON_STREAM + extraBytes;
    return Math.max(this.linkNs(bytes), this.threadNs(pages, bytes));
  }

  /** Sending `pages` pages in CHUNK_PAGES chunks, then `deviceBytes` of device state. */
  transferNs(pages: number, deviceBytes: number): Ns {
    const full = Math.floor(pages / CHUNK_PAGES);
    const rest = pages % CHUNK_PAGES;
    return full * this.chunkNs(CHUNK_PAGES, 0) + (rest ? this.chunkNs(rest, 0) : 0) + this.deviceSendNs(deviceBytes);
  }

  /** Sending `bytes` of device state in CHUNK_BYTES pieces. */
  deviceSendNs(bytes: number): Ns {
    let ns = 0;
    for (let left = bytes; left > 0; left -= CHUNK_BYTES) ns += this.chunkNs(0, Math.min(CHUNK_BYTES, left));
    return ns;
  }
}
