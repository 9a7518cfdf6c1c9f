/**
 * An Intel 82599-class NIC as a PCI function (DESIGN.md §3 model 3): configuration space
 * (hw/pci/config-space.ts), BAR0 registers (./regs.ts), the MSI-X table in BAR3 (hw/pci/msix.ts),
 * one TX and one RX queue of legacy descriptors (hw/e1000/desc.ts layouts), interrupt logic with
 * EITR moderation (./interrupts.ts), and a DMA engine whose every request goes through a port —
 * the IOMMU with the NIC's requester id, or physical memory (./dma.ts).
 *
 * The same model is the bare-metal NIC and the assigned one: what differs is the port, who
 * programmed the MSI-X table (the driver, or the host on the guest's behalf) and where the
 * messages go. A failed DMA is a failed transaction: the frame is dropped and counted, nothing
 * lands, the device carries on (datasheet: completion errors are logged, not fatal).
 *
 * TX: a TDT write starts the engine; per descriptor from TDH to TDT it reads the descriptor,
 * reads the buffer, sends the frame (at EOP) when the wire has room, writes back DD when RS is
 * set, and raises queue 0's TX cause. RX: frames wait in the packet buffer (RX_FIFO_BYTES); per
 * frame, if RDH ≠ RDT, it reads the descriptor at RDH, writes the frame into its buffer, writes
 * back length and DD|EOP, and raises the RX cause; with no descriptor free the frame waits, and a
 * full packet buffer drops it (MPC, "missed packets").
 */
import { COSTS } from '../../sim/costs.ts';
import type { Ns } from '../../sim/time.ts';
import type { HostEnv } from '../../hv/host.ts';
import { PciConfigSpace } from '../pci/config-space.ts';
import { MsixTable } from '../pci/msix.ts';
import { E1000_DESC_SIZE, E1000_RXD_STAT_DD, E1000_RXD_STAT_EOP, E1000_TXD_CMD_EOP, E1000_TXD_CMD_RS, E1000_TXD_STAT_DD } from '../e1000/desc.ts';
import { frameSeq } from '../../guest/frames.ts';
import { DmaEngine, type DmaPort } from './dma.ts';
import { IxgbeInterrupts } from './interrupts.ts';
import * as R from './regs.ts';

/** 82599 RX packet buffer, 512 KB [R datasheet §1.3 "Rx packet buffer"]. */
export const RX_FIFO_BYTES = 512 * 1024;

export interface IxgbeOptions {
  /** MSI-X vectors the function has (1–64). */
  vectors: number;
  /** PCIe link bandwidth per direction, GB/s (CALIBRATION §1.2: Gen3 x8 7.88, Gen4 x16 31.5). */
  pcieGBps: number;
  port: DmaPort;
}

/** Where transmitted frames go: the wire, with its back-pressure. */
export interface TxPort {
  blockedUntil(at: Ns): Ns;
  /** `frame` is only valid during the call. */
  send(frame: Uint8Array, at: Ns): boolean;
}

export class Ixgbe {
  readonly config: PciConfigSpace;
  readonly msix: MsixTable;
  readonly irq: IxgbeInterrupts;
  readonly dma: DmaEngine;
  txPort: TxPort | undefined;
  readonly stats = { txFrames: 0, txDropped: 0, rxFrames: 0, rxMissed: 0, rxDropped: 0 };
  /** A frame the NIC dropped (packet buffer full, or its DMA failed). */
  onDrop: ((why: 'rx-missed' | 'rx-dma-failed' | 'tx-dma-failed', pkt: number | undefined, t: Ns) => void) | undefined;

  #regs = new Map<number, number>();
  #tx = { base: 0, count: 0, head: 0, tail: 0, scheduled: false, parts: [] as Uint8Array[], bad: false };
  #rx = { base: 0, count: 0, head: 0, tail: 0, scheduled: false, bufSize: 2048 };
  #fifo: Uint8Array[] = [];
  #fifoBytes = 0;
  #mpc = 0;
  readonly #desc = new Uint8Array(E1000_DESC_SIZE);
  readonly #wb = new Uint8Array(8);

  readonly env: HostEnv;

  constructor(env: HostEnv, opts: IxgbeOptions) {
    this.env = env;
    const vectors = Math.max(1, Math.min(R.IXGBE_MAX_MSIX_VECTORS, Math.floor(opts.vectors)));
    this.config = new PciConfigSpace({
      vendorId: 0x8086, deviceId: 0x10fb, revision: 0x01, classCode: 0x020000, subsystemVendorId: 0x8086, subsystemId: 0x000c,
      bars: [{ size: R.IXGBE_BAR0_SIZE, kind: 'mem64' }, undefined, undefined, { size: R.IXGBE_BAR3_SIZE, kind: 'mem64' }, undefined, undefined],
      msix: { vectors, tableBar: 3, tableOffset: R.IXGBE_MSIXT, pbaBar: 3, pbaOffset: R.IXGBE_MSIXPBA },
      link: { speed: 3, width: 8 },
    });
    this.msix = new MsixTable(vectors, R.IXGBE_MSIXT, R.IXGBE_MSIXPBA);
    this.config.onMsixControl = (enabled, masked) => this.msix.setControl(enabled, masked);
    this.irq = new IxgbeInterrupts(env, this.msix);
    this.dma = new DmaEngine(env, opts.port, opts.pcieGBps);
  }

  get #txEnabled(): boolean {
    return (this.#reg(R.IXGBE_TXDCTL0) & R.IXGBE_TXDCTL_ENABLE) !== 0 && (this.#reg(R.IXGBE_DMATXCTL) & R.IXGBE_DMATXCTL_TE) !== 0 && this.config.busMaster;
  }
  get #rxEnabled(): boolean {
    return (this.#reg(R.IXGBE_RXDCTL0) & R.IXGBE_RXDCTL_ENABLE) !== 0 && (this.#reg(R.IXGBE_RXCTRL) & R.IXGBE_RXCTRL_RXEN) !== 0 && this.config.busMaster;
  }
  #reg(o: number): number {
    return this.#regs.get(o) ?? 0;
  }

  reset(): void {
    this.#regs.clear();
    this.irq.reset();
    Object.assign(this.#tx, { base: 0, count: 0, head: 0, tail: 0, parts: [], bad: false });
    Object.assign(this.#rx, { base: 0, count: 0, head: 0, tail: 0, bufSize: 2048 });
    this.#fifo = [];
    this.#fifoBytes = 0;
  }

  // ── BAR access (memory space; MEMORY disabled → all ones, writes dropped) ──────────────────

  barRead(bar: number, offset: number): number {
    if (!this.config.memoryEnabled) return 0xffffffff;
    if (bar === 3) return this.msix.read(offset);
    if (bar !== 0) return 0xffffffff;
    switch (offset) {
      case R.IXGBE_STATUS: return R.IXGBE_STATUS_LU;
      case R.IXGBE_EICR: return this.irq.readEicr();
      case R.IXGBE_EIMS: return this.irq.eims;
      case R.IXGBE_EITR0: return this.irq.eitr[0] ?? 0;
      case R.IXGBE_RDH0: return this.#rx.head;
      case R.IXGBE_RDT0: return this.#rx.tail;
      case R.IXGBE_TDH0: return this.#tx.head;
      case R.IXGBE_TDT0: return this.#tx.tail;
      case R.IXGBE_MPC0: {
        const v = this.#mpc;
        this.#mpc = 0;
        return v;
      }
      default:
        if (offset >= 0x00820 && offset < 0x00880) return this.irq.eitr[(offset - 0x00820) / 4] ?? 0;
        return this.#reg(offset);
    }
  }

  barWrite(bar: number, offset: number, value: number): void {
    if (!this.config.memoryEnabled) return;
    value >>>= 0;
    if (bar === 3) {
      this.msix.write(offset, value);
      return;
    }
    if (bar !== 0) return;
    const irq = this.irq;
    switch (offset) {
      case R.IXGBE_CTRL:
        if (value & R.IXGBE_CTRL_RST) this.reset();
        else this.#regs.set(offset, value);
        return;
      case R.IXGBE_EICR: irq.writeEicr(value); return;
      case R.IXGBE_EICS: irq.writeEics(value); return;
      case R.IXGBE_EIMS: irq.writeEims(value); return;
      case R.IXGBE_EIMC: irq.writeEimc(value); return;
      case R.IXGBE_EIAC: irq.eiac = value; return;
      case R.IXGBE_GPIE: irq.gpie = value; return;
      case R.IXGBE_IVAR0: irq.ivar0 = value; return;
      case R.IXGBE_IVAR_MISC: irq.ivarMisc = value; return;
      case R.IXGBE_RDBAL0: this.#rx.base = hiLo(this.#reg(R.IXGBE_RDBAH0), value & ~0x7f); break;
      case R.IXGBE_RDBAH0: this.#rx.base = hiLo(value, this.#reg(R.IXGBE_RDBAL0) & ~0x7f); break;
      case R.IXGBE_RDLEN0: this.#rx.count = Math.floor((value & 0xfff80) / E1000_DESC_SIZE); break;
      case R.IXGBE_RDH0: this.#rx.head = value & 0xffff; return;
      case R.IXGBE_RDT0:
        this.#rx.tail = value & 0xffff;
        this.env.metrics.count(this.env.sched.now, 'kicks'); // a doorbell that reached the device
        this.#kickRx(this.env.sched.now);
        return;
      case R.IXGBE_SRRCTL0: this.#rx.bufSize = Math.max(1, value & 0x1f) * 1024; break;
      case R.IXGBE_TDBAL0: this.#tx.base = hiLo(this.#reg(R.IXGBE_TDBAH0), value & ~0x7f); break;
      case R.IXGBE_TDBAH0: this.#tx.base = hiLo(value, this.#reg(R.IXGBE_TDBAL0) & ~0x7f); break;
      case R.IXGBE_TDLEN0: this.#tx.count = Math.floor((value & 0xfff80) / E1000_DESC_SIZE); break;
      case R.IXGBE_TDH0: this.#tx.head = value & 0xffff; return;
      case R.IXGBE_TDT0:
        this.#tx.tail = value & 0xffff;
        this.env.metrics.count(this.env.sched.now, 'kicks'); // a doorbell that reached the device
        this.#kickTx(this.env.sched.now);
        return;
      default:
        if (offset >= 0x00820 && offset < 0x00880) {
          const v = (offset - 0x00820) / 4;
          if (v < irq.eitr.length) irq.eitr[v] = value;
          return;
        }
    }
    this.#regs.set(offset, value);
    if (offset === R.IXGBE_RXDCTL0 || offset === R.IXGBE_RXCTRL) this.#kickRx(this.env.sched.now);
    if (offset === R.IXGBE_TXDCTL0 || offset === R.IXGBE_DMATXCTL) this.#kickTx(this.env.sched.now);
  }

  // ── Transmit ───────────────────────────────────────────────────────────────────────────────

  #kickTx(at: Ns): void {
    if (this.#tx.scheduled) return;
    this.#tx.scheduled = true;
    this.env.sched.at(at, () => {
      this.#tx.scheduled = false;
      this.#txStep();
    });
  }

  /** One descriptor per step; the next step when the engine (and the wire) can take more. */
  #txStep(): void {
    const q = this.#tx;
    if (!this.#txEnabled || q.count === 0 || q.head === q.tail || q.head >= q.count) return;
    const now = this.env.sched.now;
    const wait = Math.max(this.dma.freeAt, this.txPort ? this.txPort.blockedUntil(now) : now);
    if (wait > now) {
      this.#kickTx(wait);
      return;
    }
    const slot = q.base + q.head * E1000_DESC_SIZE;
    const d = this.dma.request(now, slot, this.#desc, false, `TX descriptor ${q.head}`);
    if (!d.outcome.result.ok) {
      this.#txDrop(undefined, d.end);
    } else {
      const desc = d.outcome.result.bytes;
      const addr = le32(desc, 0) + le32(desc, 4) * 0x1_0000_0000;
      const lower = le32(desc, 8);
      const len = lower & 0xffff;
      const buf = this.dma.request(d.end, addr, len, false, 'TX buffer');
      if (buf.outcome.result.ok) q.parts.push(buf.outcome.result.bytes); // a fresh buffer per read
      else q.bad = true;
      let end = buf.end;
      if (lower & E1000_TXD_CMD_EOP) {
        const frame = q.parts.length === 1 ? q.parts[0]! : concat(q.parts);
        const pkt = frame.length >= 18 ? frameSeq(frame) : undefined;
        if (q.bad) this.#txDrop(pkt, end);
        else {
          this.stats.txFrames++;
          this.txPort?.send(frame, end + COSTS.dmaReadLatency.ns);
        }
        q.parts = [];
        q.bad = false;
      }
      if (lower & E1000_TXD_CMD_RS) {
        const upper = (le32(desc, 12) | E1000_TXD_STAT_DD) >>> 0;
        const wb = this.#wb.subarray(0, 4);
        put32(wb, 0, upper);
        end = this.dma.request(end, slot + 12, wb, true, `TX write-back ${q.head}`).end;
        this.irq.queueCause('tx', end);
      }
    }
    q.head = (q.head + 1) % q.count;
    this.#kickTx(this.dma.freeAt);
  }

  #txDrop(pkt: number | undefined, t: Ns): void {
    this.stats.txDropped++;
    this.env.metrics.count(t, 'drops');
    this.onDrop?.('tx-dma-failed', pkt, t);
  }

  // ── Receive ────────────────────────────────────────────────────────────────────────────────

  /** A frame (FCS stripped) arrives from the wire at time t. */
  receive(frame: Uint8Array, t: Ns): void {
    if (!this.#rxEnabled || this.#fifoBytes + frame.length > RX_FIFO_BYTES) {
      this.stats.rxMissed++;
      this.#mpc++;
      this.env.metrics.count(t, 'drops');
      this.onDrop?.('rx-missed', frameSeq(frame), t);
      return;
    }
    this.#fifo.push(frame);
    this.#fifoBytes += frame.length;
    this.#kickRx(t);
  }

  #kickRx(at: Ns): void {
    if (this.#rx.scheduled) return;
    this.#rx.scheduled = true;
    this.env.sched.at(at, () => {
      this.#rx.scheduled = false;
      this.#rxStep();
    });
  }

  #rxStep(): void {
    const q = this.#rx;
    if (!this.#rxEnabled || this.#fifo.length === 0 || q.count === 0 || q.head === q.tail || q.head >= q.count) return;
    const now = this.env.sched.now;
    if (this.dma.freeAt > now) {
      this.#kickRx(this.dma.freeAt);
      return;
    }
    const frame = this.#fifo.shift()!;
    this.#fifoBytes -= frame.length;
    const pkt = frameSeq(frame);
    const slot = q.base + q.head * E1000_DESC_SIZE;
    const d = this.dma.request(now, slot, this.#desc, false, `RX descriptor ${q.head}`, pkt);
    const buffer = d.outcome.result.ok ? le32(d.outcome.result.bytes, 0) + le32(d.outcome.result.bytes, 4) * 0x1_0000_0000 : 0;
    const w = d.outcome.result.ok ? this.dma.request(d.end, buffer, frame.length <= q.bufSize ? frame : frame.subarray(0, q.bufSize), true, 'RX buffer', pkt) : undefined;
    if (!w || !w.outcome.result.ok) {
      // Nothing landed: the frame is lost and the descriptor stays where it was.
      this.stats.rxDropped++;
      this.env.metrics.count(now, 'drops');
      this.onDrop?.('rx-dma-failed', pkt, now);
    } else {
      const wb = this.#wb;
      wb.fill(0);
      wb[0] = frame.length & 0xff;
      wb[1] = (frame.length >>> 8) & 0xff;
      wb[4] = E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP;
      const end = this.dma.request(w.end, slot + 8, wb, true, `RX write-back ${q.head}`, pkt).end;
      this.stats.rxFrames++;
      q.head = (q.head + 1) % q.count;
      this.irq.queueCause('rx', end);
    }
    this.#kickRx(this.dma.freeAt);
  }
}

const hiLo = (hi: number, lo: number): number => (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
const le32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
