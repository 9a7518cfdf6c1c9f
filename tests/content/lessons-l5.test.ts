/** L5 (SR-IOV) embeds what the syllabus asks and corrects what it lists. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

const l5 = readFileSync(new URL('../../content/lessons/05-sriov/l5-sriov.mdx', import.meta.url), 'utf8');

describe('L5 — SR-IOV', () => {
  it('is module 5 with slug l5-sriov and corrects #1, #3, #6, #7, #8', () => {
    expect(l5).toMatch(/^module: 5$/m);
    expect(l5).toMatch(/^slug: l5-sriov$/m);
    const corrects = /^corrects: \[([^\]]*)\]$/m.exec(l5)![1]!.split(',').map((x) => Number(x.trim()));
    for (const n of [1, 3, 6, 7, 8]) expect(corrects).toContain(n);
  });
  it('embeds the sriov-pf lab, the two cells and the capability read from the engine', () => {
    expect(l5).toMatch(/<Lab id="sriov-pf" \/>/);
    for (const [id, name] of [['l5-scaling', 'scaling'], ['l5-hairpin', 'hairpin']]) {
      expect(l5).toMatch(new RegExp(`<Cell id="${id}" [^>]*code=\\{${name}\\}`));
      expect(l5).toContain(`cells/${id}.ts?raw`);
    }
    expect(l5).toMatch(/<SriovCapability vfs=\{\d+\}/);
  });
  it('has no engine TODOs left and quotes simulator figures through build-time reference runs', () => {
    expect(l5).not.toMatch(/TODO/);
    expect(l5).toMatch(/<ReferenceRun\s+scenario="sriov-rx"/);
    for (const mode of ['sriov', 'vmdq', 'vmdq-off', 'vhost-net']) expect(l5).toContain(`mode: "${mode}"`);
    expect(l5).toMatch(/<ReferenceRun\s+scenario="sriov-ovs-offload"/);
  });
  it('covers the syllabus: PF/VF, capability offsets, RIDs, VF BARs, Hyper-V, embedded switch, mailbox, VMDq/VMDc, limits', () => {
    for (const s of ['PCI-SIG', 'TotalVFs', 'NumVFs', 'First VF Offset', 'VF Stride', 'VF Device ID', '0x14', '0x16', '0x1A', 'routing ID', 'ARI', '0xFFFF', 'miniport', 'vport', 'embedded switch', 'anti-spoof', 'mailbox', 'VMDq', 'VMDc', '9.3', '4.2', 'ToR', 'SDN', 'smart NIC', 'OVS', 'net_failover', '82576', '82599', 'XL710']) {
      expect(l5.toLowerCase(), s).toContain(s.toLowerCase());
    }
  });
  it('has two to four quizzes', () => {
    const n = l5.match(/<Quiz\b/g)?.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
});

describe('L5 worked example: the extended list the lesson walks is the engine PF\'s', () => {
  it('every header, ID, version and next pointer in the table matches sriovCapabilitySnapshot()', async () => {
    const { sriovCapabilitySnapshot } = await import('../../lab-engine/index.ts');
    const s = sriovCapabilitySnapshot(8);
    const rows = [...l5.matchAll(/^\| (0x1[0-9A-F]{2}) \| (0x[0-9A-F_]+) \| \**(0x[0-9A-F]{4})[^|]*\| (\d+) \| (0x[0-9A-F]+|0 \(end\)) \|$/gm)];
    expect(rows).toHaveLength(s.list.length);
    rows.forEach((m, i) => {
      const c = s.list[i]!;
      const header = parseInt(m[2]!.replaceAll('_', ''), 16);
      expect(parseInt(m[1]!, 16)).toBe(c.offset);
      expect(header & 0xffff).toBe(c.id);
      expect(parseInt(m[3]!, 16)).toBe(c.id);
      expect(Number(m[4])).toBe(c.version);
      expect(m[5]!.startsWith('0 ') ? 0 : parseInt(m[5]!, 16)).toBe(c.next);
      expect(header >>> 20).toBe(c.next);
    });
  });
});
