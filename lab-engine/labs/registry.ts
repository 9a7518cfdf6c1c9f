/** Every lab, by id. Adding a lab = one folder under labs/ plus one line here. */
import type { LabInfo, SeedOutcome } from './types.ts';
import * as emulatedNic from './emulated-nic/lab.ts';
import * as virtioBackend from './virtio-backend/lab.ts';
import * as vhostPoll from './vhost-poll/lab.ts';
import * as iommuAssign from './iommu-assign/lab.ts';
import * as sriovPf from './sriov-pf/lab.ts';
import * as chooseIoModel from './choose-io-model/lab.ts';

export interface LabDefinition {
  info: LabInfo;
  runSeed(source: string, seed: number): SeedOutcome;
}

const LABS: LabDefinition[] = [
  { info: emulatedNic.LAB_INFO, runSeed: emulatedNic.runSeed },
  { info: virtioBackend.LAB_INFO, runSeed: virtioBackend.runSeed },
  { info: vhostPoll.LAB_INFO, runSeed: vhostPoll.runSeed },
  { info: iommuAssign.LAB_INFO, runSeed: iommuAssign.runSeed },
  { info: sriovPf.LAB_INFO, runSeed: sriovPf.runSeed },
  { info: chooseIoModel.LAB_INFO, runSeed: chooseIoModel.runSeed },
];

export function listLabs(): LabInfo[] {
  return LABS.map((l) => l.info);
}

export function getLabInfo(id: string): LabInfo | undefined {
  return LABS.find((l) => l.info.id === id)?.info;
}

export function getLab(id: string): LabDefinition | undefined {
  return LABS.find((l) => l.info.id === id);
}
