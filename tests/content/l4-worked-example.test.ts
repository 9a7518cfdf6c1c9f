/**
 * L4's "one DMA, walked by hand" example is prose with numbers in it. This test writes the same
 * root entry, context entry and page-table entries into host memory at the lesson's addresses and
 * lets the engine's VT-d walker (hw/iommu/dma-remap.ts) translate the lesson's IOVA: every entry
 * address, every value and the result must be the ones the lesson prints. Its two IRTE examples are
 * decoded by the engine's irq-remap.ts the same way.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { HostRam, VtdIommu, createTablePool, PAGE_2M } from '../../lab-engine/hw/iommu/dma-remap.ts';
import * as V from '../../lab-engine/hw/iommu/vtd-spec.ts';
import { decodeIrte, encodeRemappableMsi, irteFromHalves } from '../../lab-engine/hw/iommu/irq-remap.ts';

const lesson = readFileSync(new URL('../../content/lessons/04-passthrough/l4-passthrough.mdx', import.meta.url), 'utf8');
/** The lesson writes hex as 0x7F01_2001: strip the separators to compare. */
const hexIn = (text: string): Set<number> => new Set([...text.matchAll(/0x([0-9A-Fa-f_]+)/g)].map((m) => parseInt(m[1]!.replaceAll('_', ''), 16)));
const quoted = hexIn(lesson);

const ROOT_TABLE = 0x7f00_0000;
const CONTEXT_TABLE = 0x7f01_2000;
const L4 = 0x7f0a_0000;
const L3 = 0x7f0b_0000;
const L2 = 0x7f0c_0000;
const L1 = 0x7f0d_0000;
const PAGE = 0x8_9abc_d000;
const IOVA = 0x1_2345_6a40;
const SID = V.sourceIdOf(0x3b, V.devfnOf(0, 1)); // 3b:00.1
const DID = 0x2a;

function lessonTables(level2: 'table' | '2MiB') {
  const ram = new HostRam();
  const pool = createTablePool(ram, ROOT_TABLE, 0xe0); // the root table is the pool's first page
  const guest = new GuestMemory(4 * 1024 * 1024);
  const back = ram.addVmRam('guest', 0x8_9a80_0000, guest, 0, guest.size);
  expect(back.ok).toBe(true);
  const iommu = new VtdIommu(ram, pool, {});
  expect(iommu.rootTable).toBe(ROOT_TABLE);
  const w64 = (a: number, v: number): void => void expect(ram.write64(a, v)).toBe(true);
  w64(ROOT_TABLE + 16 * 0x3b, V.encodeRootLo(CONTEXT_TABLE));
  w64(CONTEXT_TABLE + 16 * 1, V.encodeContextLo(L4, V.CONTEXT_TT_MULTI_LEVEL, false));
  w64(CONTEXT_TABLE + 16 * 1 + 8, V.encodeContextHi(DID, V.AGAW_48));
  w64(L4 + 8 * 0, V.encodePte(L3, true, true, false));
  w64(L3 + 8 * 4, V.encodePte(L2, true, true, false));
  if (level2 === 'table') {
    w64(L2 + 8 * 0x11a, V.encodePte(L1, true, true, false));
    w64(L1 + 8 * 0x56, V.encodePte(PAGE, true, true, false));
  } else {
    w64(L2 + 8 * 0x11a, V.encodePte(0x8_9aa0_0000, true, true, true));
  }
  return iommu;
}

describe('L4 worked example: one DMA walked by hand', () => {
  it('splits the IOVA into the 9-bit indices the lesson gives', () => {
    expect([4, 3, 2, 1].map((l) => V.levelIndex(IOVA, l))).toEqual([0, 4, 0x11a, 0x56]);
    expect(IOVA % 4096).toBe(0xa40);
  });

  it('walks root → context → four levels at the lesson\'s addresses, with its values, to 0x8_9ABC_DA40', () => {
    const walk = lessonTables('table').walk(SID, IOVA, 'write');
    expect(walk.ok).toBe(true);
    if (!walk.ok) return;
    expect(walk.hpa).toBe(0x8_9abc_da40);
    expect(walk.domainId).toBe(DID);
    const addrs = walk.steps.map((s) => s.addr);
    expect(addrs).toEqual([0x7f00_03b0, 0x7f01_2010, L4, 0x7f0b_0020, 0x7f0c_08d0, 0x7f0d_02b0]);
    // The values the lesson prints for each entry (low dwords; the leaf's high dword is 0x8).
    expect(walk.steps[0]!.dwords[0]).toBe(0x7f01_2001);
    expect(walk.steps[1]!.dwords[0]).toBe(0x7f0a_0001);
    expect(walk.steps[1]!.dwords[2]).toBe(0x2a02);
    expect(walk.steps.slice(2, 5).map((s) => s.dwords[0])).toEqual([0x7f0b_0003, 0x7f0c_0003, 0x7f0d_0003]);
    expect(walk.steps[5]!.dwords).toEqual([0x9abc_d003, 0x8]);
    for (const n of [0x7f00_03b0, 0x7f01_2010, 0x7f0b_0020, 0x7f0c_08d0, 0x7f0d_02b0, 0x7f01_2001, 0x7f0a_0001, 0x2a02, 0x8_9abc_d003, 0x8_9abc_da40]) {
      expect(quoted.has(n), `the lesson quotes 0x${n.toString(16)}`).toBe(true);
    }
  });

  it('with a 2 MiB leaf at level 2 the same IOVA lands at 0x8_9AA5_6A40, one read fewer', () => {
    const walk = lessonTables('2MiB').walk(SID, IOVA, 'write');
    expect(walk.ok).toBe(true);
    if (!walk.ok) return;
    expect(walk.pageSize).toBe(PAGE_2M);
    expect(walk.hpa).toBe(0x8_9aa5_6a40);
    expect(walk.steps).toHaveLength(5);
    expect(walk.steps[4]!.dwords[0]).toBe(0x9aa0_0083);
    for (const n of [0x8_9aa0_0083, 0x8_9aa5_6a40]) expect(quoted.has(n)).toBe(true);
  });
});

describe('L4 worked examples: a remapped and a posted IRTE', () => {
  it('0x0000000000043B01_0000000300410001 is present, remapped, host vector 0x41 to APIC 3, only from 3b:00.1', () => {
    expect(lesson).toContain('0x0000000000043B01_0000000300410001');
    const e = decodeIrte(irteFromHalves(0x0000000300410001n, 0x0000000000043b01n));
    expect(e).toMatchObject({ mode: 'remapped', present: true, fpd: false, destinationMode: 'physical', trigger: 'edge', deliveryMode: 0, vector: 0x41, destination: 3, sid: 0x3b01, sq: 0, svt: 1 });
  });
  it('0x0000000200043B01_4F8E1A4000258001 posts guest vector 0x25 to the descriptor at 0x2_4F8E_1A40', () => {
    expect(lesson).toContain('0x0000000200043B01_4F8E1A4000258001');
    const e = decodeIrte(irteFromHalves(0x4f8e1a4000258001n, 0x0000000200043b01n));
    expect(e).toMatchObject({ mode: 'posted', present: true, urgent: false, vector: 0x25, pda: 0x2_4f8e_1a40, sid: 0x3b01, svt: 1 });
    expect(quoted.has(0x2_4f8e_1a40)).toBe(true);
  });
  it('handle 0x12 is requested with address 0xFEE0_0258 and data 0', () => {
    expect(encodeRemappableMsi(0x12)).toEqual({ address: 0xfee0_0258, data: 0 });
    expect(quoted.has(0xfee0_0258)).toBe(true);
  });
});
