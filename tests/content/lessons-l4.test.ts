/** L4 (direct device assignment) embeds what the syllabus asks and corrects what it lists. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

const l4 = readFileSync(new URL('../../content/lessons/04-passthrough/l4-passthrough.mdx', import.meta.url), 'utf8');

describe('L4 — Direct device assignment', () => {
  it('is module 4 with slug l4-passthrough and corrects #4, #11, #12', () => {
    expect(l4).toMatch(/^module: 4$/m);
    expect(l4).toMatch(/^slug: l4-passthrough$/m);
    expect(l4).toMatch(/^corrects: \[4, 11, 12\]$/m);
  });
  it('embeds the iommu-assign lab and the three cells the syllabus lists', () => {
    expect(l4).toMatch(/<Lab id="iommu-assign" \/>/);
    for (const [id, name] of [['l4-posted-interrupts', 'posted'], ['l4-iotlb-pages', 'iotlbPages'], ['l4-invalidation', 'invalidation']]) {
      expect(l4).toMatch(new RegExp(`<Cell id="${id}" [^>]*code=\\{${name}\\}`));
      expect(l4).toContain(`cells/${id}.ts?raw`);
    }
  });
  it('has no engine TODOs left and quotes simulator figures only through build-time reference runs', () => {
    expect(l4).not.toMatch(/TODO/);
    expect(l4).toMatch(/<ReferenceRun\s+scenario="passthrough-/);
    for (const irq of ['remapped', 'apicv', 'posted']) expect(l4).toContain(`irq: "${irq}"`);
    expect(l4).toContain('setup: "baremetal"');
  });
  it('covers the syllabus concepts: VT-d remapping, VFIO flow, remaining exits, ELI/DID, migration answers', () => {
    for (const s of ['VMDirectPath', 'VFIO', 'Xen', 'root table', 'context', 'IOTLB', 'strict', 'deferred', 'IRTE', 'posted-interrupt descriptor', 'EXTERNAL_INTERRUPT', 'ELI', 'DID', 'net_failover', 'VFIO migration', 'vDPA', 'pinned']) {
      expect(l4, s).toContain(s);
    }
  });
  it('has two to four quizzes', () => {
    const n = l4.match(/<Quiz\b/g)?.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
});
