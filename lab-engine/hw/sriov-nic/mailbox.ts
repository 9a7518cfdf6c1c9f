/**
 * The PF↔VF mailbox and the PF driver's side of it (CALIBRATION §3.5: VF configuration
 * requests — MAC, VLAN, multicast — go through a mailbox to the PF, which may refuse).
 *
 * Semantics follow Intel's ixgbe mailbox (Linux drivers/net/ethernet/intel/ixgbe/ixgbe_mbx.h,
 * ixgbe_sriov.c; names unchanged) at the level of messages and replies: each VF has a 16-dword
 * buffer (IXGBE_VFMAILBOX_SIZE) as real dwords. The VF writes a request (word 0: message type in
 * 15:0, message info in 23:16; payload from word 1) and sets REQ in its VFMAILBOX register; the
 * PF takes the mailbox interrupt, sets PFACK, runs its policy, writes the reply into the same
 * buffer (word 0 = the type | IXGBE_VT_MSGTYPE_ACK or _NACK, | _CTS once the VF has been reset)
 * and sets PFSTS. Not modelled: the VFU/PFU buffer-ownership lock bits and timeouts (one message
 * is in flight per VF; a second REQ before the reply is refused with a diagnostic).
 *
 * The policy is a function the PF driver calls for every request, so a lab can ask the learner
 * to write it. ixgbePolicy() is ixgbe's: a VF may not override a MAC or VLAN the administrator
 * set (`ip link set … vf N mac/vlan`), a MAC must be a valid unicast address; and, our addition
 * [E], not one another pool already owns (ixgbe leaves duplicates to anti-spoofing and the FDB).
 */
import { COSTS } from '../../sim/costs.ts';
import type { Ns } from '../../sim/time.ts';
import { diagnose, type HostEnv } from '../../hv/host.ts';
import { macString, type Pool, type Veb } from './switch.ts';

export const IXGBE_VFMAILBOX_SIZE = 16;
export const IXGBE_VT_MSGTYPE_ACK = 0x80000000;
export const IXGBE_VT_MSGTYPE_NACK = 0x40000000;
export const IXGBE_VT_MSGTYPE_CTS = 0x20000000;
export const IXGBE_VT_MSGINFO_SHIFT = 16;
export const IXGBE_VT_MSGINFO_MASK = 0xff << IXGBE_VT_MSGINFO_SHIFT;
export const IXGBE_VF_RESET = 0x01;
export const IXGBE_VF_SET_MAC_ADDR = 0x02;
export const IXGBE_VF_SET_MULTICAST = 0x03;
export const IXGBE_VF_SET_VLAN = 0x04;
export const IXGBE_VF_PERMADDR_MSG_LEN = 4;
export const IXGBE_MAX_VF_MC_ENTRIES = 30;
// VFMAILBOX register bits (the VF's view)
export const IXGBE_VFMAILBOX_REQ = 0x1;
export const IXGBE_VFMAILBOX_ACK = 0x2;
export const IXGBE_VFMAILBOX_PFSTS = 0x10;
export const IXGBE_VFMAILBOX_PFACK = 0x20;

export type VfRequest =
  | { type: 'reset' }
  | { type: 'set-mac'; mac: string }
  | { type: 'set-vlan'; vid: number; add: boolean }
  | { type: 'set-multicast'; hashes: number[] }
  | { type: 'unknown'; msgType: number };

/** What the policy may look at: the administrator's settings and who owns which MAC. */
export interface PolicyView {
  adminMac(vf: number): string | undefined;
  portVlan(vf: number): number | undefined;
  /** The pool ('pf' or a VF index) whose MAC filter holds `mac`, if any. */
  macOwner(mac: string): 'pf' | number | undefined;
}
export type PolicyVerdict = { ok: true } | { ok: false; reason: string };
export type PfPolicy = (vf: number, req: VfRequest, view: PolicyView) => PolicyVerdict;

const validUnicast = (mac: string): boolean => mac !== '00:00:00:00:00:00' && (parseInt(mac.slice(0, 2), 16) & 1) === 0;

/** ixgbe_sriov.c's rules (ixgbe_set_vf_mac_addr, ixgbe_set_vf_vlan_msg), plus no duplicate MACs [E]. */
export const ixgbePolicy: PfPolicy = (vf, req, view) => {
  if (req.type === 'set-mac') {
    if (!validUnicast(req.mac)) return { ok: false, reason: `VF ${vf} attempted to set invalid MAC address ${req.mac}` };
    const admin = view.adminMac(vf);
    if (admin && admin !== req.mac) return { ok: false, reason: `VF ${vf} attempted to override administratively set MAC address ${admin}` };
    const owner = view.macOwner(req.mac);
    if (owner !== undefined && owner !== vf) return { ok: false, reason: `VF ${vf} attempted to take MAC address ${req.mac} of ${owner === 'pf' ? 'the PF' : `VF ${owner}`}` };
  }
  if (req.type === 'set-vlan') {
    if (view.portVlan(vf) !== undefined) return { ok: false, reason: `VF ${vf} attempted to override administratively set VLAN configuration` };
    if (req.vid > 4095) return { ok: false, reason: `VF ${vf} asked for VLAN ${req.vid}` };
  }
  if (req.type === 'unknown') return { ok: false, reason: `VF ${vf}: unhandled message 0x${req.msgType.toString(16)}` };
  return { ok: true };
};

/** Decode the request in a VF's buffer (ixgbe_rcv_msg_from_vf()). */
export function decodeRequest(buf: Uint32Array): VfRequest {
  const type = buf[0]! & 0xffff;
  const info = (buf[0]! & IXGBE_VT_MSGINFO_MASK) >>> IXGBE_VT_MSGINFO_SHIFT;
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + 4, 8);
  if (type === IXGBE_VF_RESET) return { type: 'reset' };
  if (type === IXGBE_VF_SET_MAC_ADDR) return { type: 'set-mac', mac: macString(bytes) };
  if (type === IXGBE_VF_SET_VLAN) return { type: 'set-vlan', vid: buf[1]! & 0xffff, add: info !== 0 };
  if (type === IXGBE_VF_SET_MULTICAST) {
    const n = Math.min(info, IXGBE_MAX_VF_MC_ENTRIES);
    const h = new Uint16Array(buf.buffer, buf.byteOffset + 4, 30);
    return { type: 'set-multicast', hashes: Array.from(h.subarray(0, n), (x) => x & 0xfff) };
  }
  return { type: 'unknown', msgType: type };
}

/** The VF driver's side: write `words` into VF `vf`'s buffer as ixgbevf does (ixgbevf_write_msg_read_ack). */
export function encodeRequest(req: VfRequest): Uint32Array {
  const buf = new Uint32Array(IXGBE_VFMAILBOX_SIZE);
  const bytes = new Uint8Array(buf.buffer);
  if (req.type === 'reset') buf[0] = IXGBE_VF_RESET;
  else if (req.type === 'set-mac') {
    buf[0] = IXGBE_VF_SET_MAC_ADDR;
    req.mac.split(':').forEach((h, i) => (bytes[4 + i] = parseInt(h, 16)));
  } else if (req.type === 'set-vlan') {
    buf[0] = IXGBE_VF_SET_VLAN | ((req.add ? 1 : 0) << IXGBE_VT_MSGINFO_SHIFT);
    buf[1] = req.vid;
  } else if (req.type === 'set-multicast') {
    const n = Math.min(req.hashes.length, IXGBE_MAX_VF_MC_ENTRIES);
    buf[0] = IXGBE_VF_SET_MULTICAST | (n << IXGBE_VT_MSGINFO_SHIFT);
    req.hashes.slice(0, n).forEach((x, i) => new DataView(buf.buffer).setUint16(4 + 2 * i, x, true));
  } else buf[0] = req.msgType & 0xffff;
  return buf;
}

/** The PF driver: administrator settings, the mailbox, and the VEB programming that follows a verdict. */
export class PfDriver {
  readonly env: HostEnv;
  readonly veb: Veb;
  policy: PfPolicy = ixgbePolicy;
  readonly buffers = new Map<number, Uint32Array>();
  readonly vfmailbox = new Map<number, number>();
  readonly #admin = new Map<number, { mac?: string; vlan?: number }>();
  readonly #cts = new Set<number>();
  #freeAt: Ns = 0;
  readonly stats = { messages: 0, acked: 0, nacked: 0, busy: 0 };
  readonly refusals: { vf: number; t: Ns; reason: string }[] = [];

  constructor(env: HostEnv, veb: Veb) {
    this.env = env;
    this.veb = veb;
  }

  /** A VF appears (VF Enable): its pool, buffer and anti-spoofing on, as ixgbe_vf_configuration(). */
  addVf(vf: number): void {
    if (!this.veb.pools.has(vf)) this.veb.addPool(vf);
    this.buffers.set(vf, new Uint32Array(IXGBE_VFMAILBOX_SIZE));
    this.vfmailbox.set(vf, 0);
  }

  /** `ip link set <pf> vf N mac M`: the MAC is the VF's and the VF may not change it. */
  setVfMac(vf: number, mac: string): void {
    this.#admin.set(vf, { ...this.#admin.get(vf), mac });
    this.veb.pool(vf).mac = mac;
  }
  /** `ip link set <pf> vf N vlan V`: a port VLAN the VF may neither send outside nor change. */
  setVfVlan(vf: number, vid: number): void {
    this.#admin.set(vf, { ...this.#admin.get(vf), vlan: vid });
    this.veb.pool(vf).vlans = new Set([vid]);
  }
  /** `ip link set <pf> vf N max_tx_rate R` (Mbit/s, 0 = off). */
  setVfRate(vf: number, mbps: number): void {
    this.veb.pool(vf).rateMbps = mbps;
  }
  setSpoofCheck(vf: number, on: boolean): void {
    this.veb.pool(vf).antiSpoof = on;
  }

  readonly view: PolicyView = {
    adminMac: (vf) => this.#admin.get(vf)?.mac,
    portVlan: (vf) => this.#admin.get(vf)?.vlan,
    macOwner: (mac) => [...this.veb.pools.values()].find((p) => p.mac === mac)?.id,
  };

  /**
   * The VF has written its buffer and sets REQ at `at`; `onReply` runs when PFSTS is set, with
   * the reply words. The PF driver is one serial context (COSTS.pfMailboxMessage per message).
   */
  vfRequest(vf: number, at: Ns, onReply: (reply: Uint32Array, t: Ns) => void): void {
    const reg = this.vfmailbox.get(vf);
    const buf = this.buffers.get(vf);
    if (reg === undefined || !buf) return;
    if (reg & IXGBE_VFMAILBOX_REQ) {
      this.stats.busy++;
      diagnose(this.env, { severity: 'warning', code: 'mailbox-busy', t: at, message: `VF ${vf} set REQ again before the PF answered its previous message` });
      return;
    }
    this.vfmailbox.set(vf, IXGBE_VFMAILBOX_REQ);
    const start = Math.max(at, this.#freeAt);
    const end = start + COSTS.pfMailboxMessage.ns;
    this.#freeAt = end;
    this.env.sched.at(end, () => {
      this.#handle(vf, buf, end);
      this.vfmailbox.set(vf, IXGBE_VFMAILBOX_PFACK | IXGBE_VFMAILBOX_PFSTS);
      onReply(buf.slice(), end);
    });
  }

  #handle(vf: number, buf: Uint32Array, t: Ns): void {
    this.stats.messages++;
    const req = decodeRequest(buf);
    const msgType = buf[0]! & 0xffff;
    const verdict = this.policy(vf, req, this.view);
    const pool = this.veb.pool(vf);
    buf.fill(0, 1);
    if (verdict.ok) {
      this.stats.acked++;
      this.#apply(vf, pool, req);
      if (req.type === 'reset') {
        this.#cts.add(vf);
        const mac = pool.mac ? pool.mac.split(':').map((h) => parseInt(h, 16)) : [0, 0, 0, 0, 0, 0];
        new Uint8Array(buf.buffer, buf.byteOffset + 4, 6).set(mac);
        buf[3] = 0; // mc_filter_type 0 (mtaHash)
      }
    } else {
      this.stats.nacked++;
      this.refusals.push({ vf, t, reason: verdict.reason });
      diagnose(this.env, { severity: 'info', code: 'vf-request-refused', t, message: verdict.reason });
    }
    buf[0] = (msgType | (verdict.ok ? IXGBE_VT_MSGTYPE_ACK : IXGBE_VT_MSGTYPE_NACK) | (this.#cts.has(vf) ? IXGBE_VT_MSGTYPE_CTS : 0)) >>> 0;
    this.env.trace.emit(t, 0, 'host-kernel', 'pf-mailbox', () => `PF driver: VF ${vf} ${req.type} → ${verdict.ok ? 'ACK' : `NACK (${verdict.reason})`}`);
  }

  #apply(vf: number, pool: Pool, req: VfRequest): void {
    if (req.type === 'set-mac') pool.mac = req.mac;
    else if (req.type === 'set-vlan') {
      if (req.add) pool.vlans.add(req.vid);
      else pool.vlans.delete(req.vid);
    } else if (req.type === 'set-multicast') pool.multicast = new Set(req.hashes);
    else if (req.type === 'reset') {
      pool.multicast.clear();
      const port = this.#admin.get(vf)?.vlan;
      pool.vlans = new Set(port !== undefined ? [port] : []);
    }
  }

  /** The VF driver reads the reply and acknowledges it (VFMAILBOX.ACK), freeing the mailbox. */
  vfAck(vf: number): void {
    if (this.vfmailbox.has(vf)) this.vfmailbox.set(vf, 0);
  }
}
