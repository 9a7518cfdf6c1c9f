/**
 * hw/pci/regs.ts against the real thing: a tiny C program compiled against Linux's
 * <linux/pci_regs.h> prints every constant the engine defines under the same name; the engine
 * must agree on each one. Then the 82599 model's configuration space is read the way a driver
 * reads it (type 0 header, capability list, MSI-X capability, BAR sizing) with those offsets.
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

const INSTALL_HINT = "install the Debian packages 'gcc' and 'linux-libc-dev' (sudo apt-get install gcc linux-libc-dev)";
/** Exports of regs.ts that pci_regs.h does not define (configuration mechanism #1 is x86 platform code). */
const ENGINE_ONLY = new Set(['PCI_CONFIG_ADDRESS_PORT', 'PCI_CONFIG_DATA_PORT', 'PCI_CONFIG_ENABLE']);

const numeric = Object.entries(P).filter(([k, v]) => typeof v === 'number' && !ENGINE_ONLY.has(k)) as [string, number][];

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
    '#define K(name) printf("%s=%u\\n", #name, (unsigned)(name))',
    'int main(void) {',
    ...numeric.map(([k]) => `  K(${k});`),
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
