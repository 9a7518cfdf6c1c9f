/**
 * spec.ts against the real thing: a tiny C program compiled against Linux's uapi headers
 * (<linux/virtio_ring.h>, <linux/virtio_net.h>, <linux/virtio_config.h>) prints every constant,
 * struct size and field offset the engine also defines, the ring layout vring_init() produces for
 * several queue sizes, and vring_need_event() evaluated on thousands of (event, new, old) triples.
 * The engine must agree on every one.
 *
 * Needs a C compiler (`cc`, or $CC) and the kernel's uapi headers. Missing either is a failure,
 * not a skip: on Debian, `apt-get install gcc linux-libc-dev` (./iov test installs them as root).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as S from '../../lab-engine/hw/virtio/spec.ts';
import { layoutQueue, queueBytes } from '../../lab-engine/hw/virtio/split-ring.ts';
import { Rng } from '../../lab-engine/sim/rng.ts';

const INSTALL_HINT = "install the Debian packages 'gcc' and 'linux-libc-dev' (sudo apt-get install gcc linux-libc-dev), or run ./iov test as root, which does it";
const QUEUE_SIZES = [1, 2, 8, 256, 1024, 32768];

/** engine name → Linux name, for the numeric constants both define. */
const SAME_AS_LINUX: Record<string, string> = {
  VIRTQ_DESC_F_NEXT: 'VRING_DESC_F_NEXT',
  VIRTQ_DESC_F_WRITE: 'VRING_DESC_F_WRITE',
  VIRTQ_DESC_F_INDIRECT: 'VRING_DESC_F_INDIRECT',
  VIRTQ_USED_F_NO_NOTIFY: 'VRING_USED_F_NO_NOTIFY',
  VIRTQ_AVAIL_F_NO_INTERRUPT: 'VRING_AVAIL_F_NO_INTERRUPT',
  VIRTIO_F_INDIRECT_DESC: 'VIRTIO_RING_F_INDIRECT_DESC',
  VIRTIO_F_EVENT_IDX: 'VIRTIO_RING_F_EVENT_IDX',
  VIRTIO_F_VERSION_1: 'VIRTIO_F_VERSION_1',
  VIRTIO_F_ACCESS_PLATFORM: 'VIRTIO_F_ACCESS_PLATFORM',
  VIRTIO_F_RING_PACKED: 'VIRTIO_F_RING_PACKED',
  VIRTIO_F_IN_ORDER: 'VIRTIO_F_IN_ORDER',
  STATUS_ACKNOWLEDGE: 'VIRTIO_CONFIG_S_ACKNOWLEDGE',
  STATUS_DRIVER: 'VIRTIO_CONFIG_S_DRIVER',
  STATUS_DRIVER_OK: 'VIRTIO_CONFIG_S_DRIVER_OK',
  STATUS_FEATURES_OK: 'VIRTIO_CONFIG_S_FEATURES_OK',
  STATUS_NEEDS_RESET: 'VIRTIO_CONFIG_S_NEEDS_RESET',
  STATUS_FAILED: 'VIRTIO_CONFIG_S_FAILED',
  VIRTIO_NET_F_CSUM: 'VIRTIO_NET_F_CSUM',
  VIRTIO_NET_F_GUEST_CSUM: 'VIRTIO_NET_F_GUEST_CSUM',
  VIRTIO_NET_F_MAC: 'VIRTIO_NET_F_MAC',
  VIRTIO_NET_F_GUEST_TSO4: 'VIRTIO_NET_F_GUEST_TSO4',
  VIRTIO_NET_F_HOST_TSO4: 'VIRTIO_NET_F_HOST_TSO4',
  VIRTIO_NET_F_MRG_RXBUF: 'VIRTIO_NET_F_MRG_RXBUF',
  VIRTIO_NET_F_STATUS: 'VIRTIO_NET_F_STATUS',
  VIRTIO_NET_F_CTRL_VQ: 'VIRTIO_NET_F_CTRL_VQ',
  VIRTIO_NET_F_MQ: 'VIRTIO_NET_F_MQ',
  VIRTIO_NET_F_MTU: 'VIRTIO_NET_F_MTU',
  VIRTIO_NET_F_STANDBY: 'VIRTIO_NET_F_STANDBY',
  NET_HDR_F_NEEDS_CSUM: 'VIRTIO_NET_HDR_F_NEEDS_CSUM',
  NET_HDR_F_DATA_VALID: 'VIRTIO_NET_HDR_F_DATA_VALID',
  NET_HDR_GSO_NONE: 'VIRTIO_NET_HDR_GSO_NONE',
  NET_HDR_GSO_TCPV4: 'VIRTIO_NET_HDR_GSO_TCPV4',
  DESC_ALIGN: 'VRING_DESC_ALIGN_SIZE',
  AVAIL_ALIGN: 'VRING_AVAIL_ALIGN_SIZE',
  USED_ALIGN: 'VRING_USED_ALIGN_SIZE',
  // struct layouts (the C program prints sizeof/offsetof under these names)
  DESC_SIZE: 'sizeof_vring_desc',
  DESC_ADDR: 'offsetof_vring_desc_addr',
  DESC_LEN: 'offsetof_vring_desc_len',
  DESC_FLAGS: 'offsetof_vring_desc_flags',
  DESC_NEXT: 'offsetof_vring_desc_next',
  AVAIL_FLAGS: 'offsetof_vring_avail_flags',
  AVAIL_IDX: 'offsetof_vring_avail_idx',
  AVAIL_RING: 'offsetof_vring_avail_ring',
  AVAIL_ELEM_SIZE: 'sizeof_vring_avail_ring_0',
  USED_FLAGS: 'offsetof_vring_used_flags',
  USED_IDX: 'offsetof_vring_used_idx',
  USED_RING: 'offsetof_vring_used_ring',
  USED_ELEM_SIZE: 'sizeof_vring_used_elem',
  NET_HDR_SIZE: 'sizeof_virtio_net_hdr_v1',
};
/** Numeric exports of spec.ts with no Linux uapi counterpart (kept explicit so a new constant is not silently unchecked). */
const ENGINE_ONLY: Record<string, string> = {
  MAX_QUEUE_SIZE: 'the 32768 limit is spec prose (§2.7), not a uapi macro',
};
/** NET_HDR field → member of struct virtio_net_hdr_v1. */
const NET_HDR_FIELDS: Record<keyof typeof S.NET_HDR, string> = {
  flags: 'flags', gsoType: 'gso_type', hdrLen: 'hdr_len', gsoSize: 'gso_size', csumStart: 'csum_start', csumOffset: 'csum_offset', numBuffers: 'num_buffers',
};

const C_SOURCE = String.raw`
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_net.h>
#include <linux/virtio_config.h>

#define K(name) printf("%s=%lld\n", #name, (long long)(name))
#define SZ(key, expr) printf("%s=%zu\n", key, (size_t)(expr))

int main(int argc, char **argv) {
  K(VRING_DESC_F_NEXT); K(VRING_DESC_F_WRITE); K(VRING_DESC_F_INDIRECT);
  K(VRING_USED_F_NO_NOTIFY); K(VRING_AVAIL_F_NO_INTERRUPT);
  K(VIRTIO_RING_F_INDIRECT_DESC); K(VIRTIO_RING_F_EVENT_IDX);
  K(VIRTIO_F_VERSION_1); K(VIRTIO_F_ACCESS_PLATFORM); K(VIRTIO_F_RING_PACKED); K(VIRTIO_F_IN_ORDER);
  K(VIRTIO_CONFIG_S_ACKNOWLEDGE); K(VIRTIO_CONFIG_S_DRIVER); K(VIRTIO_CONFIG_S_DRIVER_OK);
  K(VIRTIO_CONFIG_S_FEATURES_OK); K(VIRTIO_CONFIG_S_NEEDS_RESET); K(VIRTIO_CONFIG_S_FAILED);
  K(VIRTIO_NET_F_CSUM); K(VIRTIO_NET_F_GUEST_CSUM); K(VIRTIO_NET_F_MAC); K(VIRTIO_NET_F_GUEST_TSO4);
  K(VIRTIO_NET_F_HOST_TSO4); K(VIRTIO_NET_F_MRG_RXBUF); K(VIRTIO_NET_F_STATUS); K(VIRTIO_NET_F_CTRL_VQ);
  K(VIRTIO_NET_F_MQ); K(VIRTIO_NET_F_MTU); K(VIRTIO_NET_F_STANDBY);
  K(VIRTIO_NET_HDR_F_NEEDS_CSUM); K(VIRTIO_NET_HDR_F_DATA_VALID); K(VIRTIO_NET_HDR_GSO_NONE); K(VIRTIO_NET_HDR_GSO_TCPV4);
  K(VRING_DESC_ALIGN_SIZE); K(VRING_AVAIL_ALIGN_SIZE); K(VRING_USED_ALIGN_SIZE);

  SZ("sizeof_vring_desc", sizeof(struct vring_desc));
  SZ("offsetof_vring_desc_addr", offsetof(struct vring_desc, addr));
  SZ("offsetof_vring_desc_len", offsetof(struct vring_desc, len));
  SZ("offsetof_vring_desc_flags", offsetof(struct vring_desc, flags));
  SZ("offsetof_vring_desc_next", offsetof(struct vring_desc, next));
  SZ("offsetof_vring_avail_flags", offsetof(struct vring_avail, flags));
  SZ("offsetof_vring_avail_idx", offsetof(struct vring_avail, idx));
  SZ("offsetof_vring_avail_ring", offsetof(struct vring_avail, ring));
  SZ("sizeof_vring_avail_ring_0", sizeof(((struct vring_avail *)0)->ring[0]));
  SZ("offsetof_vring_used_flags", offsetof(struct vring_used, flags));
  SZ("offsetof_vring_used_idx", offsetof(struct vring_used, idx));
  SZ("offsetof_vring_used_ring", offsetof(struct vring_used, ring));
  SZ("sizeof_vring_used_elem", sizeof(struct vring_used_elem));
  SZ("offsetof_vring_used_elem_id", offsetof(struct vring_used_elem, id));
  SZ("offsetof_vring_used_elem_len", offsetof(struct vring_used_elem, len));
  SZ("alignof_vring_desc_t", _Alignof(vring_desc_t));
  SZ("alignof_vring_avail_t", _Alignof(vring_avail_t));
  SZ("alignof_vring_used_t", _Alignof(vring_used_t));
  SZ("sizeof_virtio_net_hdr_v1", sizeof(struct virtio_net_hdr_v1));
  SZ("net_hdr.flags", offsetof(struct virtio_net_hdr_v1, flags));
  SZ("net_hdr.gso_type", offsetof(struct virtio_net_hdr_v1, gso_type));
  SZ("net_hdr.hdr_len", offsetof(struct virtio_net_hdr_v1, hdr_len));
  SZ("net_hdr.gso_size", offsetof(struct virtio_net_hdr_v1, gso_size));
  SZ("net_hdr.csum_start", offsetof(struct virtio_net_hdr_v1, csum_start));
  SZ("net_hdr.csum_offset", offsetof(struct virtio_net_hdr_v1, csum_offset));
  SZ("net_hdr.num_buffers", offsetof(struct virtio_net_hdr_v1, num_buffers));

  /* vring_init() from a page-aligned base with align 4: offsets from the base are what base 0 gives. */
  static const unsigned sizes[] = { ${QUEUE_SIZES.join(', ')} };
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    unsigned n = sizes[k];
    size_t bytes = vring_size(n, 4);
    char *base = aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    if (!base) return 3;
    struct vring vr;
    vring_init(&vr, n, base, 4);
    printf("layout.%u.desc=%td\n", n, (char *)vr.desc - base);
    printf("layout.%u.avail=%td\n", n, (char *)vr.avail - base);
    printf("layout.%u.used=%td\n", n, (char *)vr.used - base);
    printf("layout.%u.used_event=%td\n", n, (char *)&vring_used_event(&vr) - base);
    printf("layout.%u.avail_event=%td\n", n, (char *)&vring_avail_event(&vr) - base);
    printf("layout.%u.vring_size=%zu\n", n, bytes);
    free(base);
  }

  /* vring_need_event() on every "event new old" line of argv[1]: one 0/1 character each. */
  FILE *f = fopen(argv[1], "r");
  if (!f) return 4;
  unsigned e, nw, o;
  fputs("need_event=", stdout);
  while (fscanf(f, "%u %u %u", &e, &nw, &o) == 3) putchar(vring_need_event((__u16)e, (__u16)nw, (__u16)o) ? '1' : '0');
  putchar('\n');
  fclose(f);
  (void)argc;
  return 0;
}
`;

/** (event_idx, new_idx, old) triples: every combination of the wrap-around edges, then seeded random ones, some near each other. */
function triples(): [number, number, number][] {
  const edges = [0, 1, 2, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffd, 0xfffe, 0xffff];
  const out: [number, number, number][] = [];
  for (const e of edges) for (const n of edges) for (const o of edges) out.push([e, n, o]);
  const rng = new Rng(0x5eed);
  const u16 = (): number => rng.int(0, 0xffff);
  const near = (v: number): number => (v + rng.int(-3, 3)) & 0xffff;
  for (let i = 0; i < 3000; i++) out.push([u16(), u16(), u16()]);
  for (let i = 0; i < 3000; i++) {
    // The interesting region: old, event and new within a few steps of each other, anywhere on the circle.
    const old = u16();
    const nw = (old + rng.int(0, 8)) & 0xffff;
    out.push([rng.chance(1, 2) ? near(old) : near(nw), nw, old]);
  }
  return out;
}

interface LinuxFacts {
  values: Map<string, number>;
  needEvent: string;
  triples: [number, number, number][];
}

const dir = mkdtempSync(join(tmpdir(), 'iov-virtio-headers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let facts: LinuxFacts | undefined;

/** Compile and run the C program once; throw (fail, never skip) with what to install when the toolchain is missing. */
function linux(): LinuxFacts {
  if (facts) return facts;
  const cc = process.env.CC || 'cc';
  try {
    execFileSync(cc, ['--version'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`no C compiler: running '${cc} --version' failed (${(e as Error).message.split('\n')[0]}). This test compiles a C program against <linux/virtio_ring.h>: ${INSTALL_HINT}.`);
  }
  const src = join(dir, 'virtio_facts.c');
  const exe = join(dir, 'virtio_facts');
  const input = join(dir, 'triples.txt');
  writeFileSync(src, C_SOURCE);
  try {
    execFileSync(cc, ['-std=c11', '-O1', '-Wall', '-o', exe, src], { stdio: 'pipe' });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '');
    const missing = /linux\/virtio_\w+\.h|No such file/.test(stderr);
    throw new Error(`${cc} could not compile the probe${missing ? ' (the Linux uapi headers are missing)' : ''}: ${INSTALL_HINT}.\n${stderr}`);
  }
  const ts = triples();
  writeFileSync(input, ts.map((t) => t.join(' ')).join('\n') + '\n');
  const stdout = execFileSync(exe, [input], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const values = new Map<string, number>();
  let needEvent = '';
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const val = line.slice(eq + 1);
    if (key === 'need_event') needEvent = val;
    else values.set(key, Number(val));
  }
  facts = { values, needEvent, triples: ts };
  return facts;
}

function linuxValue(name: string): number {
  const v = linux().values.get(name);
  if (v === undefined || !Number.isFinite(v)) throw new Error(`the C probe printed no value for ${name}`);
  return v;
}

describe('spec.ts against Linux uapi <linux/virtio_*.h>', () => {
  it('the toolchain is there: cc compiles a program against <linux/virtio_ring.h>', () => {
    expect(linux().values.size).toBeGreaterThan(50);
  });

  it('every numeric constant spec.ts exports equals its Linux counterpart (or is listed as engine-only)', () => {
    const numeric = Object.entries(S).filter(([, v]) => typeof v === 'number') as [string, number][];
    expect(numeric.length).toBeGreaterThan(40);
    const unmapped = numeric.map(([k]) => k).filter((k) => !(k in SAME_AS_LINUX) && !(k in ENGINE_ONLY));
    expect(unmapped, 'new constants in spec.ts: map them to a Linux name in SAME_AS_LINUX, or list them in ENGINE_ONLY').toEqual([]);
    const diffs = numeric.filter(([k]) => k in SAME_AS_LINUX).map(([k, v]) => ({ engine: k, value: v, linux: SAME_AS_LINUX[k]!, linuxValue: linuxValue(SAME_AS_LINUX[k]!) }))
      .filter((d) => d.value !== d.linuxValue);
    expect(diffs).toEqual([]);
  });

  it('descriptor, ring and used-element structs: sizes, offsets and alignments', () => {
    expect(linuxValue('offsetof_vring_used_elem_id')).toBe(0);
    expect(linuxValue('offsetof_vring_used_elem_len')).toBe(4); // addUsed writes len at +4
    expect(linuxValue('alignof_vring_desc_t')).toBe(S.DESC_ALIGN);
    expect(linuxValue('alignof_vring_avail_t')).toBe(S.AVAIL_ALIGN);
    expect(linuxValue('alignof_vring_used_t')).toBe(S.USED_ALIGN);
  });

  it('struct virtio_net_hdr_v1: size and every field offset, num_buffers included', () => {
    expect(S.NET_HDR_SIZE).toBe(linuxValue('sizeof_virtio_net_hdr_v1'));
    expect(Object.keys(NET_HDR_FIELDS).sort()).toEqual(Object.keys(S.NET_HDR).sort());
    for (const [field, member] of Object.entries(NET_HDR_FIELDS) as [keyof typeof S.NET_HDR, string][]) {
      expect(S.NET_HDR[field], `NET_HDR.${field} vs offsetof(struct virtio_net_hdr_v1, ${member})`).toBe(linuxValue(`net_hdr.${member}`));
    }
  });

  it.each(QUEUE_SIZES)('queue size %i: vring_init(align 4) and the vring_used_event/vring_avail_event macros agree with spec.ts helpers and layoutQueue', (n) => {
    const L = (part: string): number => linuxValue(`layout.${n}.${part}`);
    const desc = L('desc');
    const avail = L('avail');
    const used = L('used');
    // spec.ts sizes and event offsets
    expect(S.descTableBytes(n), 'descTableBytes').toBe(avail - desc);
    expect(S.usedEventOffset(n), 'usedEventOffset').toBe(L('used_event') - avail);
    expect(S.availRingBytes(n), 'availRingBytes').toBe(L('used_event') + 2 - avail);
    expect(S.availEventOffset(n), 'availEventOffset').toBe(L('avail_event') - used);
    expect(S.usedRingBytes(n), 'usedRingBytes').toBe(L('avail_event') + 2 - used);
    // layoutQueue from 0 is vring_init's placement (used at ALIGN(desc + avail bytes, 4)), and from a page-aligned base it shifts by the base.
    expect(layoutQueue(0, n)).toEqual({ size: n, desc, avail, used });
    expect(used % S.USED_ALIGN).toBe(0);
    expect(queueBytes(layoutQueue(0, n)), 'queueBytes vs vring_size(n, 4)').toBe(L('vring_size'));
    const base = 0x12_3000;
    expect(layoutQueue(base, n)).toEqual({ size: n, desc: base + desc, avail: base + avail, used: base + used });
  });

  it("vringNeedEvent agrees with Linux's vring_need_event() on every triple (edges and wrap-around included)", () => {
    const { needEvent, triples: ts } = linux();
    expect(ts.length).toBeGreaterThanOrEqual(2000);
    expect(needEvent.length, 'the C program answered every triple').toBe(ts.length);
    // The edge set covers new == old and new < old (mod 2^16) with the event on both sides.
    expect(ts.some(([, n, o]) => n === o)).toBe(true);
    expect(ts.some(([, n, o]) => n < o)).toBe(true);
    const answers = new Set(needEvent);
    expect(answers).toEqual(new Set(['0', '1'])); // both outcomes exercised
    const bad = ts.findIndex(([e, n, o], i) => S.vringNeedEvent(e, n, o) !== (needEvent[i] === '1'));
    if (bad >= 0) {
      const [e, n, o] = ts[bad]!;
      expect.fail(`first mismatch at triple #${bad}: vringNeedEvent(event_idx=${e}, new_idx=${n}, old=${o}) = ${S.vringNeedEvent(e, n, o)}, Linux vring_need_event = ${needEvent[bad] === '1'}`);
    }
  });
});
