/**
 * The SR-IOV NIC's embedded switch (hw/sriov-nic/switch.ts) and PF↔VF mailbox
 * (hw/sriov-nic/mailbox.ts): filters, anti-spoofing, promiscuous PF, rate limit, hairpin, the
 * shared links, and VF requests the PF driver accepts or refuses.
 */
import { describe, expect, it } from 'vitest';
import { Veb, macBytes, mtaHash, frameVlan, type Pool } from '../../lab-engine/hw/sriov-nic/switch.ts';
import { PfDriver, encodeRequest, decodeRequest, IXGBE_VT_MSGTYPE_ACK, IXGBE_VT_MSGTYPE_NACK, IXGBE_VT_MSGTYPE_CTS, IXGBE_VF_SET_MAC_ADDR, IXGBE_VF_RESET, type PfPolicy, type VfRequest } from '../../lab-engine/hw/sriov-nic/mailbox.ts';
import { newHostEnv } from '../../lab-engine/scenarios/run-common.ts';
import { wireTime, COSTS } from '../../lab-engine/sim/costs.ts';

const MAC = (i: number): string => `52:54:00:00:00:${i.toString(16).padStart(2, '0')}`;
function frame(dst: string, src: string, len = 1514, vid?: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  if (vid !== undefined) f.set([0x81, 0x00, vid >> 8, vid & 0xff, 0x08, 0x00], 12);
  else f.set([0x08, 0x00], 12);
  return f;
}
function setup(vfs = 3, portGbps = 10) {
  const env = newHostEnv(1);
  const veb = new Veb(env, { portGbps, pcieGBps: 4 });
  const pf = new PfDriver(env, veb);
  veb.pool('pf').mac = MAC(0xf0);
  for (let i = 0; i < vfs; i++) {
    pf.addVf(i);
    pf.setVfMac(i, MAC(i));
  }
  const got: [Pool['id'], number][] = [];
  const wire: number[] = [];
  veb.deliver = (p, _f, t) => got.push([p.id, t]);
  veb.uplink = (_f, t) => wire.push(t);
  return { env, veb, pf, got, wire };
}

describe('VEB switching', () => {
  it('VF→VF unicast hairpins: never on the wire, crosses PCIe twice', () => {
    const { env, veb, got, wire } = setup();
    expect(veb.transmit(0, frame(MAC(1), MAC(0)), 0)).toBe(true);
    env.sched.run();
    expect(got.map((g) => g[0])).toEqual([1]);
    expect(wire).toEqual([]);
    expect(veb.stats.hairpin).toBe(1);
    const down = veb.pcieDown.freeAt;
    expect(down).toBeGreaterThan(0);
    expect(got[0]![1]).toBe(veb.pcieUp.freeAt); // the second crossing ends at delivery
    expect(veb.pcieUp.freeAt).toBe(2 * down); // same bytes, same link speed, back to back
  });

  it('to an outside MAC the frame leaves by the wire; broadcast reaches the wire and every other pool', () => {
    const { env, veb, got, wire } = setup();
    veb.transmit(0, frame('02:00:00:00:00:99', MAC(0)), 0);
    env.sched.run();
    expect([got.length, wire.length]).toEqual([0, 1]);
    veb.transmit(2, frame('ff:ff:ff:ff:ff:ff', MAC(2), 60), 0);
    env.sched.run();
    expect(got.map((g) => g[0]).sort()).toEqual([0, 1, 'pf']);
    expect(wire.length).toBe(2);
  });

  it('from the wire: MAC and VLAN filters pick the pool; no match is dropped; multicast by MTA hash', () => {
    const { env, veb, pf, got } = setup();
    pf.setVfVlan(1, 100);
    veb.receive(frame(MAC(1), '02:00:00:00:00:99'), 0); // untagged, VF 1 wants VLAN 100
    veb.receive(frame(MAC(1), '02:00:00:00:00:99', 1514, 100), 0);
    veb.receive(frame(MAC(7), '02:00:00:00:00:99'), 0);
    const mc = frame('01:00:5e:00:00:fb', '02:00:00:00:00:99', 90);
    veb.pool(2).multicast.add(mtaHash(mc));
    veb.receive(mc, 0);
    env.sched.run();
    expect(got.map((g) => g[0])).toEqual([1, 2]);
    expect(veb.stats.rxNoPool).toBe(2);
    expect(frameVlan(frame(MAC(1), MAC(2), 64, 100))).toBe(100);
  });

  it('promiscuous PF gets a copy of every forwarded frame', () => {
    const { env, veb, got } = setup();
    veb.pool('pf').promiscuous = true;
    veb.receive(frame(MAC(7), '02:00:00:00:00:99'), 0);
    veb.transmit(0, frame(MAC(1), MAC(0)), 0);
    env.sched.run();
    expect(got.map((g) => g[0]).sort()).toEqual([1, 'pf', 'pf']);
  });

  it('anti-spoofing drops and counts a VF frame with another source MAC or a VLAN not its own; spoof check off lets it through', () => {
    const { env, veb, pf, wire } = setup();
    expect(veb.transmit(0, frame('02:00:00:00:00:99', MAC(1)), 0)).toBe(false);
    pf.setVfVlan(2, 100);
    expect(veb.transmit(2, frame('02:00:00:00:00:99', MAC(2), 1514, 200), 0)).toBe(false);
    expect(veb.transmit(2, frame('02:00:00:00:00:99', MAC(2), 1514, 100), 0)).toBe(true);
    expect([veb.pool(0).stats.txSpoofed, veb.pool(2).stats.txSpoofed, veb.stats.spoofed]).toEqual([1, 1, 2]); // (metrics.drops counts inside a measurement window only)
    pf.setSpoofCheck(0, false);
    expect(veb.transmit(0, frame('02:00:00:00:00:99', MAC(1)), 0)).toBe(true);
    env.sched.run();
    expect(wire.length).toBe(2);
  });

  it('the wire is shared: 3 VFs sending 1514-byte frames at once serialize at 10 GbE line rate', () => {
    const { env, veb, wire } = setup();
    for (let k = 0; k < 30; k++) for (let i = 0; i < 3; i++) veb.transmit(i, frame('02:00:00:00:00:99', MAC(i)), 0);
    env.sched.run();
    const per = wireTime(1514 + COSTS.wireFcsBytes.ns, 10);
    expect(wire.length).toBe(90);
    expect(wire.at(-1)! - wire[0]!).toBe(89 * per); // back to back: the wire, not PCIe, is the bottleneck
    const gbps = (89 * 1514 * 8) / (wire.at(-1)! - wire[0]!);
    expect(gbps).toBeGreaterThan(9.7);
    expect(gbps).toBeLessThan(9.9);
  });

  it('per-VF TX rate limit paces a VF to its rate in virtual time (token bucket), others unaffected', () => {
    const { env, veb, pf, wire } = setup(2, 100);
    pf.setVfRate(0, 1000); // 1 Gbit/s
    const n = 200;
    for (let k = 0; k < n; k++) veb.transmit(0, frame('02:00:00:00:00:99', MAC(0)), 0);
    env.sched.run();
    const span = wire.at(-1)! - wire[0]!;
    const gbps = ((n - COSTS.vebRateBurstBytes.ns / 1514) * 1514 * 8) / span;
    expect(gbps).toBeGreaterThan(0.95);
    expect(gbps).toBeLessThan(1.05);
  });
});

describe('PF↔VF mailbox', () => {
  function ask(pf: PfDriver, vf: number, req: Parameters<typeof encodeRequest>[0]): Uint32Array {
    pf.buffers.get(vf)!.set(encodeRequest(req));
    let reply: Uint32Array | undefined;
    pf.vfRequest(vf, pf.env.sched.now, (r) => (reply = r));
    pf.env.sched.run();
    pf.vfAck(vf);
    return reply!;
  }

  it('messages are ixgbe words: SET_MAC_ADDR with the MAC from word 1, VLAN with add in msginfo; encode/decode round trip', () => {
    const b = encodeRequest({ type: 'set-mac', mac: '02:11:22:33:44:55' });
    expect(b[0]).toBe(IXGBE_VF_SET_MAC_ADDR);
    expect(Array.from(new Uint8Array(b.buffer, 4, 6))).toEqual([2, 0x11, 0x22, 0x33, 0x44, 0x55]);
    for (const r of [{ type: 'set-vlan', vid: 42, add: true }, { type: 'set-vlan', vid: 7, add: false }, { type: 'set-multicast', hashes: [1, 2, 0xfff] }, { type: 'reset' }] satisfies VfRequest[]) {
      expect(decodeRequest(encodeRequest(r))).toEqual(r);
    }
  });

  it('reset is ACKed with CTS and the VF\'s MAC; a VLAN add is ACKed and programs the pool filter', () => {
    const { pf, veb } = setup();
    const r = ask(pf, 1, { type: 'reset' });
    expect(r[0]).toBe((IXGBE_VF_RESET | IXGBE_VT_MSGTYPE_ACK | IXGBE_VT_MSGTYPE_CTS) >>> 0);
    expect(Array.from(new Uint8Array(r.buffer, 4, 6))).toEqual(Array.from(macBytes(MAC(1))));
    const v = ask(pf, 1, { type: 'set-vlan', vid: 300, add: true });
    expect(v[0]! & IXGBE_VT_MSGTYPE_ACK).toBeTruthy();
    expect([...veb.pool(1).vlans]).toEqual([300]);
    expect(pf.env.sched.now).toBe(2 * COSTS.pfMailboxMessage.ns);
  });

  it('a malicious VF trying to take another VF\'s MAC is NACKed; its filter is unchanged and it still cannot send as that MAC', () => {
    const { veb, env } = setup();
    // VF 2's MAC was not set by the administrator here (a fresh PF driver), so only the duplicate rule applies.
    const free = new PfDriver(env, veb);
    free.addVf(2);
    veb.pool(2).mac = MAC(2);
    const r = ask(free, 2, { type: 'set-mac', mac: MAC(0) });
    expect(r[0]).toBe((IXGBE_VF_SET_MAC_ADDR | IXGBE_VT_MSGTYPE_NACK) >>> 0);
    expect(veb.pool(2).mac).toBe(MAC(2));
    expect(free.refusals[0]!.reason).toBe(`VF 2 attempted to take MAC address ${MAC(0)} of VF 0`);
    expect(veb.transmit(2, frame('02:00:00:00:00:99', MAC(0)), 0)).toBe(false);
    // A fresh, unused MAC is accepted.
    const ok = ask(free, 2, { type: 'set-mac', mac: '02:00:00:00:00:42' });
    expect(ok[0]! & IXGBE_VT_MSGTYPE_ACK).toBeTruthy();
    expect(veb.pool(2).mac).toBe('02:00:00:00:00:42');
  });

  it('the administrator\'s MAC and port VLAN cannot be overridden; multicast and zero MACs are refused', () => {
    const { pf } = setup();
    expect(ask(pf, 0, { type: 'set-mac', mac: '02:00:00:00:00:42' })[0]! & IXGBE_VT_MSGTYPE_NACK).toBeTruthy();
    pf.setVfVlan(0, 10);
    expect(ask(pf, 0, { type: 'set-vlan', vid: 20, add: true })[0]! & IXGBE_VT_MSGTYPE_NACK).toBeTruthy();
    expect(pf.refusals.map((r) => r.reason)).toEqual([
      `VF 0 attempted to override administratively set MAC address ${MAC(0)}`,
      'VF 0 attempted to override administratively set VLAN configuration',
    ]);
    const { pf: p2 } = setup(0);
    p2.addVf(5);
    expect(ask(p2, 5, { type: 'set-mac', mac: '01:00:5e:00:00:01' })[0]! & IXGBE_VT_MSGTYPE_NACK).toBeTruthy();
    expect(ask(p2, 5, { type: 'set-mac', mac: '00:00:00:00:00:00' })[0]! & IXGBE_VT_MSGTYPE_NACK).toBeTruthy();
  });

  it('the policy is replaceable (a lab\'s learner code): a policy refusing all VLANs is obeyed', () => {
    const { pf, veb } = setup();
    const strict: PfPolicy = (vf, req) => (req.type === 'set-vlan' ? { ok: false, reason: `no VLANs for VF ${vf}` } : { ok: true });
    pf.policy = strict;
    expect(ask(pf, 1, { type: 'set-vlan', vid: 5, add: true })[0]! & IXGBE_VT_MSGTYPE_NACK).toBeTruthy();
    expect(veb.pool(1).vlans.size).toBe(0);
  });

  it('a second REQ before the reply is refused with a diagnostic', () => {
    const { pf, env } = setup();
    pf.buffers.get(0)!.set(encodeRequest({ type: 'reset' }));
    const replies: number[] = [];
    pf.vfRequest(0, 0, (_r, t) => replies.push(t));
    pf.vfRequest(0, 0, (_r, t) => replies.push(t));
    env.sched.run();
    expect(replies).toEqual([COSTS.pfMailboxMessage.ns]);
    expect(pf.stats.busy).toBe(1);
    expect(env.diagnostics.some((d) => d.code === 'mailbox-busy')).toBe(true);
  });
});
