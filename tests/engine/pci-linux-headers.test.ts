/**
 * hw/pci/regs.ts against the real thing: a tiny C program compiled against Linux's
 * <linux/pci_regs.h> prints every constant the engine defines under the same name; the engine
 * must agree on each one. Then the 82599 model's configuration space is read the way a driver
 * reads it (type 0 header, capability list, MSI-X capability, BAR sizing) with those offsets.
 *
 * The function-like macros (PCI_EXT_CAP_ID/VER/NEXT, PCI_SRIOV_CAP_INTR, …) are evaluated by the
 * same program on sample words, and the SR-IOV models' 4 KiB configuration spaces are handed to
 * it as bytes: C walks the extended list with PCI_EXT_CAP_NEXT and reads the SR-IOV registers at
 * the header's offsets, and must read what the engine wrote.
 *
 * Needs a C compiler (`cc`, or $CC) and the kernel's uapi headers; missing either is a failure,
 * not a skip: on Debian, `apt-get install gcc linux-libc-dev`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as P from '../../lab-engine/hw/pci/regs.ts';
import { Ixgbe } from '../../lab-engine/hw/ixgbe/device.ts';
import { physicalPort } from '../../lab-engine/hw/ixgbe/dma.ts';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { newHostEnv } from '../../lab-engine/scenarios/run-common.ts';
import { PciConfigSpace } from '../../lab-engine/hw/pci/config-space.ts';
import { findExtCapability, listExtCapabilities } from '../../lab-engine/hw/pci/ext-caps.ts';
import { MODEL_82599, MODEL_XL710 } from '../../lab-engine/hw/sriov-nic/models.ts';

const INSTALL_HINT = "install the Debian packages 'gcc' and 'linux-libc-dev' (sudo apt-get install gcc linux-libc-dev)";
/** Exports of regs.ts that pci_regs.h does not define (configuration mechanism #1 is x86 platform code). */
const ENGINE_ONLY = new Set(['PCI_CONFIG_ADDRESS_PORT', 'PCI_CONFIG_DATA_PORT', 'PCI_CONFIG_ENABLE']);

const numeric = Object.entries(P).filter(([k, v]) => typeof v === 'number' && !ENGINE_ONLY.has(k)) as [string, number][];
/** pci_regs.h's function-like macros the engine defines as functions, with the words to try them on. */
const MACROS = ['PCI_EXT_CAP_ID', 'PCI_EXT_CAP_VER', 'PCI_EXT_CAP_NEXT', 'PCI_SRIOV_CAP_INTR', 'PCI_SRIOV_VFM_BIR', 'PCI_SRIOV_VFM_OFFSET', 'PCI_ARI_CAP_NFN'] as const;
const SAMPLES = [0, 1, 0x00010001, 0x14010010, 0x16020003, 0xfff1ffff, 0xffffffff, 0x0180_0000, 0x0000ff00, 0x12345678, 0x87654321];
const macro = (name: (typeof MACROS)[number]) => P[name] as (x: number) => number;
/** The SR-IOV models' PF and VF configuration spaces, as C reads them. */
const SPACES = [['pf82599', new PciConfigSpace(MODEL_82599.pf)], ['pfXL710', new PciConfigSpace(MODEL_XL710.pf)]] as const;
const SRIOV_FIELDS = [
  ['CAP', 4], ['CTRL', 2], ['STATUS', 2], ['INITIAL_VF', 2], ['TOTAL_VF', 2], ['NUM_VF', 2], ['FUNC_LINK', 1], ['VF_OFFSET', 2], ['VF_STRIDE', 2],
  ['VF_DID', 2], ['SUP_PGSIZE', 4], ['SYS_PGSIZE', 4], ['BAR', 4], ['VFM', 4],
] as const;

const dir = mkdtempSync(join(tmpdir(), 'iov-pci-headers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let values: Map<string, number> | undefined;

function linux(): Map<string, number> {
  if (values) return values;
  const cc = process.env.CC || 'cc';
  const src = join(dir, 'pci_facts.c');
  const exe = join(dir, 'pci_facts');
  writeFileSync(src, [
    '#include <stdio.h>',
    '#include <linux/pci_regs.h>',
    '#include <stdint.h>',
    '#define K(name) printf("%s=%u\\n", #name, (unsigned)(name))',
    '#define F(name, x) printf("%s(%u)=%u\\n", #name, (unsigned)(x), (unsigned)(name((uint32_t)(x))))',
    'static uint32_t rd(const uint8_t *c, int o, int w) { uint32_t v = 0; for (int i = w - 1; i >= 0; i--) v = v << 8 | c[o + i]; return v; }',
    'static void walk(const char *tag, const uint8_t *c) {',
    '  int pos = PCI_CFG_SPACE_SIZE, ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;',
    '  uint32_t h = rd(c, pos, 4);',
    '  while (h && ttl-- > 0) {',
    '    printf("%s.ext@%d=%u.%u\\n", tag, pos, PCI_EXT_CAP_ID(h), PCI_EXT_CAP_VER(h));',
    '    if (PCI_EXT_CAP_ID(h) == PCI_EXT_CAP_ID_SRIOV) {',
    ...SRIOV_FIELDS.map(([f, w]) => `      printf("%s.SRIOV_${f}=%u\\n", tag, rd(c, pos + PCI_SRIOV_${f}, ${w}));`),
    '      printf("%s.SRIOV_BAR3=%u\\n", tag, rd(c, pos + PCI_SRIOV_BAR + 4 * 3, 4));',
    '    }',
    '    pos = PCI_EXT_CAP_NEXT(h);',
    '    if (pos < PCI_CFG_SPACE_SIZE) break;',
    '    h = rd(c, pos, 4);',
    '  }',
    '}',
    ...SPACES.map(([tag, cfg]) => `static const uint8_t ${tag}[${cfg.bytes.length}] = {${Array.from(cfg.bytes).join(',')}};`),
    'int main(void) {',
    ...numeric.map(([k]) => `  K(${k});`),
    ...MACROS.flatMap((m) => SAMPLES.map((x) => `  F(${m}, ${x}u);`)),
    ...SPACES.map(([tag]) => `  walk("${tag}", ${tag});`),
    '  return 0;',
    '}',
  ].join('\n'));
  try {
    execFileSync(cc, ['-std=c11', '-O1', '-Wall', '-o', exe, src], { stdio: 'pipe' });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message);
    throw new Error(`${cc} could not compile the probe against <linux/pci_regs.h>: ${INSTALL_HINT}.\n${stderr}`);
  }
  values = new Map();
  for (const line of execFileSync(exe, { encoding: 'utf8' }).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), Number(line.slice(eq + 1)));
  }
  return values;
}

describe('hw/pci/regs.ts against Linux uapi <linux/pci_regs.h>', () => {
  it('every numeric constant has the value Linux gives the same name', () => {
    expect(numeric.length).toBeGreaterThan(50);
    const diffs = numeric.map(([k, v]) => ({ k, engine: v >>> 0, linux: linux().get(k) })).filter((d) => d.engine !== d.linux);
    expect(diffs).toEqual([]);
  });

  it('the function-like macros (PCI_EXT_CAP_ID/VER/NEXT, PCI_SRIOV_CAP_INTR, PCI_SRIOV_VFM_*, PCI_ARI_CAP_NFN) compute what Linux computes', () => {
    const diffs = MACROS.flatMap((m) => SAMPLES.map((x) => ({ m, x, engine: macro(m)(x) >>> 0, linux: linux().get(`${m}(${x >>> 0})`) })))
      .filter((d) => d.engine !== d.linux);
    expect(diffs).toEqual([]);
  });

  it('C walks the SR-IOV models\' extended lists with PCI_EXT_CAP_NEXT and reads every SR-IOV register where the engine put it', () => {
    for (const [tag, cfg] of SPACES) {
      const walked = [...linux().entries()].filter(([k]) => k.startsWith(`${tag}.ext@`)).map(([k, v]) => [Number(k.slice(tag.length + 5)), v]);
      const engine = listExtCapabilities(cfg).map(([o, id, ver]) => [o, Number(`${id}.${ver}`)]);
      expect(walked).toEqual(engine);
      const cap = findExtCapability(cfg, P.PCI_EXT_CAP_ID_SRIOV);
      expect(cap).toBe(0x160);
      for (const [f, w] of SRIOV_FIELDS) {
        expect([f, linux().get(`${tag}.SRIOV_${f}`)]).toEqual([f, cfg.read(cap + (P as unknown as Record<string, number>)[`PCI_SRIOV_${f}`]!, w)]);
      }
      expect(linux().get(`${tag}.SRIOV_BAR3`)).toBe(cfg.read(cap + P.PCI_SRIOV_BAR + 12, 4));
    }
    expect(linux().get('pf82599.SRIOV_TOTAL_VF')).toBe(64);
    expect(linux().get('pf82599.SRIOV_VF_OFFSET')).toBe(0x80);
    expect(linux().get('pf82599.SRIOV_VF_STRIDE')).toBe(2);
    expect(linux().get('pf82599.SRIOV_VF_DID')).toBe(0x10ed);
    expect(linux().get('pfXL710.SRIOV_VF_DID')).toBe(0x154c);
  });
});

describe('the 82599 model\'s configuration space, read as a driver reads it', () => {
  const env = newHostEnv(1);
  const nic = new Ixgbe(env, { vectors: 10, pcieGBps: 7.88, port: physicalPort(new GuestMemory(1 << 20)) });
  const cfg = nic.config;

  it('type 0 header: Intel 82599ES SFP+ (8086:10fb), Ethernet class, capability list', () => {
    expect(cfg.read(P.PCI_VENDOR_ID, 2)).toBe(0x8086);
    expect(cfg.read(P.PCI_DEVICE_ID, 2)).toBe(0x10fb);
    expect(cfg.read(P.PCI_VENDOR_ID, 4)).toBe(0x10fb8086);
    expect(cfg.read(P.PCI_CLASS_DEVICE, 2)).toBe(0x0200);
    expect(cfg.read(P.PCI_HEADER_TYPE, 1)).toBe(P.PCI_HEADER_TYPE_NORMAL);
    expect(cfg.read(P.PCI_STATUS, 2) & P.PCI_STATUS_CAP_LIST).toBe(P.PCI_STATUS_CAP_LIST);
    expect(cfg.bytes.length).toBe(P.PCI_CFG_SPACE_SIZE);
  });

  it('the capability list walks PM → MSI-X → PCI Express; MSI-X has table size N−1, BIR 3, table at 0, PBA at 0x2000', () => {
    const found: [number, number][] = [];
    for (let cap = cfg.read(P.PCI_CAPABILITY_LIST, 1); cap; cap = cfg.read(cap + P.PCI_CAP_LIST_NEXT, 1)) found.push([cap, cfg.read(cap + P.PCI_CAP_LIST_ID, 1)]);
    expect(found).toEqual([[0x40, P.PCI_CAP_ID_PM], [0x70, P.PCI_CAP_ID_MSIX], [0xa0, P.PCI_CAP_ID_EXP]]);
    const msix = 0x70;
    expect(cfg.read(msix + P.PCI_MSIX_FLAGS, 2) & P.PCI_MSIX_FLAGS_QSIZE).toBe(9);
    const table = cfg.read(msix + P.PCI_MSIX_TABLE, 4);
    expect(table & P.PCI_MSIX_TABLE_BIR).toBe(3);
    expect((table & P.PCI_MSIX_TABLE_OFFSET) >>> 0).toBe(0);
    const pba = cfg.read(msix + P.PCI_MSIX_PBA, 4);
    expect([pba & P.PCI_MSIX_PBA_BIR, (pba & P.PCI_MSIX_PBA_OFFSET) >>> 0]).toEqual([3, 0x2000]);
    // Only ENABLE and MASKALL are writable; the table size is read-only.
    cfg.write(msix + P.PCI_MSIX_FLAGS, 2, 0xffff);
    expect(cfg.read(msix + P.PCI_MSIX_FLAGS, 2)).toBe(P.PCI_MSIX_FLAGS_ENABLE | P.PCI_MSIX_FLAGS_MASKALL | 9);
    expect(nic.msix.enabled && nic.msix.functionMasked).toBe(true);
    cfg.write(msix + P.PCI_MSIX_FLAGS, 2, 0);
  });

  it('BARs size as PCI 3.0 §6.2.5.1 says: 64-bit memory BAR0 of 128 KiB and BAR3 of 16 KiB', () => {
    cfg.write(P.PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    expect(cfg.read(P.PCI_BASE_ADDRESS_0, 4)).toBe((~(128 * 1024 - 1) & P.PCI_BASE_ADDRESS_MEM_MASK | P.PCI_BASE_ADDRESS_MEM_TYPE_64) >>> 0);
    cfg.write(P.PCI_BASE_ADDRESS_3, 4, 0xffffffff);
    expect(cfg.read(P.PCI_BASE_ADDRESS_3, 4)).toBe((~(16 * 1024 - 1) & P.PCI_BASE_ADDRESS_MEM_MASK | P.PCI_BASE_ADDRESS_MEM_TYPE_64) >>> 0);
    cfg.assignBar(0, 0x3_f000_0000);
    expect(cfg.barAddress(0)).toBe(0x3_f000_0000);
    expect(cfg.read(P.PCI_BASE_ADDRESS_2, 4)).toBe(0); // BAR2 not implemented
  });

  it('command bits enable decoding and bus mastering; status error bits are write-1-to-clear', () => {
    cfg.write(P.PCI_COMMAND, 2, P.PCI_COMMAND_MEMORY | P.PCI_COMMAND_MASTER | 0x8);
    expect(cfg.read(P.PCI_COMMAND, 2)).toBe(P.PCI_COMMAND_MEMORY | P.PCI_COMMAND_MASTER); // SPECIAL is not implemented
    expect(cfg.busMaster && cfg.memoryEnabled).toBe(true);
    cfg.bytes[P.PCI_STATUS + 1] = cfg.bytes[P.PCI_STATUS + 1]! | 0x20; // Received Master Abort, set by hardware
    cfg.write(P.PCI_STATUS, 2, 0x2000);
    expect(cfg.read(P.PCI_STATUS, 2)).toBe(P.PCI_STATUS_CAP_LIST);
  });
});
