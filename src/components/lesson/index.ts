/**
 * The components lessons use. In an MDX lesson at content/lessons/<module-folder>/<file>.mdx:
 *
 *   import { Aside, Quiz, Term, SpecRef, Figure, RegisterTable, ReferenceRun } from '../../../src/components/lesson/index.ts';
 *
 * (Lesson pages also pass these to the MDX body, so the import is optional.)
 *
 * - <Aside kind="note|tip|warning|correction" title="…">…</Aside>
 * - <Quiz question="…" options={["…", "…"]} answer={1} explain="…" />   answer = 0-based index
 * - <Term id="vm-exit">VM exit</Term>            links to glossary/index.html#vm-exit
 * - <SpecRef href="https://…">QEMU hw/net/e1000.c</SpecRef>
 * - <Figure caption="…">…</Figure>  or  <Figure src="figures/x.svg" alt="…" caption="…" />
 * - <RegisterTable />  or  <RegisterTable group="tx" />
 * - <RingDiagram step="driver-added" />   a split virtqueue from the engine's ringSnapshot(step)
 * - <SriovCapability vfs={8} />   the SR-IOV capability read from the engine's config space, before/after enabling VFs
 * - <ReferenceRun scenario="emulation-tx" options={{ size: 64, packets: 2000 }}
 *     rows={[['exitsPerPacket', 'exits per packet'], ['throughputGbps', 'Gbit/s']]} caption="…" />
 *
 * Interactive <Cell> and <Lab> live in src/components/lab/.
 */
export { default as Aside } from './Aside.astro';
export { default as Quiz } from './Quiz.astro';
export { default as Term } from './Term.astro';
export { default as SpecRef } from './SpecRef.astro';
export { default as Figure } from './Figure.astro';
export { default as RegisterTable } from './RegisterTable.astro';
export { default as ReferenceRun } from './ReferenceRun.astro';
export { default as RingDiagram } from './RingDiagram.astro';
export { default as SriovCapability } from './SriovCapability.astro';
