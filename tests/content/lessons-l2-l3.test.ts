/** L2 (virtio) and L3 (back-ends) embed what the syllabus asks and correct what it lists. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

const read = (p: string): string => readFileSync(new URL(`../../content/lessons/${p}`, import.meta.url), 'utf8');
const l2 = read('02-paravirt/l2-virtio.mdx');
const l3 = read('03-backends/l3-backends.mdx');

describe('L2 — Paravirtualization and virtio', () => {
  it('is module 2 with slug l2-virtio and corrects #2, #5, #14, #15', () => {
    expect(l2).toMatch(/^module: 2$/m);
    expect(l2).toMatch(/^slug: l2-virtio$/m);
    expect(l2).toMatch(/^corrects: \[2, 5, 14, 15\]$/m);
  });
  it('embeds the virtio-backend lab, the EVENT_IDX cell and ring diagrams from engine snapshots', () => {
    expect(l2).toMatch(/<Lab id="virtio-backend" \/>/);
    expect(l2).toMatch(/<Cell id="l2-event-idx" [^>]*code=\{eventIdx\}/);
    expect(l2).toMatch(/cells\/l2-event-idx\.ts\?raw/);
    for (const step of ['driver-added', 'device-used', 'wrapped']) expect(l2).toContain(`<RingDiagram step="${step}"`);
  });
  it('cites virtio 1.2 section numbers with the version', () => {
    for (const sec of ['2.7.5', '2.7.13', '2.7.7', '3.1.1', '2.8']) expect(l2).toContain(`virtio 1.2 §${sec}`);
  });
  it('has two to four quizzes', () => {
    const n = l2.match(/<Quiz\b/g)?.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
});

describe('L3 — Moving the backend', () => {
  it('is module 3 with slug l3-backends and corrects #13', () => {
    expect(l3).toMatch(/^module: 3$/m);
    expect(l3).toMatch(/^slug: l3-backends$/m);
    expect(l3).toMatch(/^corrects: \[13\]$/m);
  });
  it('embeds the vhost-poll lab and the back-ends cell', () => {
    expect(l3).toMatch(/<Lab id="vhost-poll" \/>/);
    expect(l3).toMatch(/<Cell id="l3-backends" [^>]*code=\{backends\}/);
    expect(l3).toMatch(/cells\/l3-backends\.ts\?raw/);
  });
  it('compares the back-ends with build-time reference runs, never with typed-in measurements', () => {
    for (const b of ['qemu', 'vhost-net', 'vhost-user', 'xen-netback', 'vmxnet3']) expect(l3).toContain(`backend: "${b}"`);
    expect(l3).toContain('guestPmd: true');
    expect(l3).toMatch(/scenario="virtio-rr"/);
  });
  it('has two to four quizzes', () => {
    const n = l3.match(/<Quiz\b/g)?.length ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
});
