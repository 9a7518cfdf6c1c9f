/**
 * VFIO as the host sees it when QEMU assigns a PCI device to a VM (CALIBRATION §3.7; Linux
 * Documentation/driver-api/vfio.rst "VFIO Usage Example"): IOMMU groups and their viability,
 * the container, the type-1 IOMMU backend, MAP_DMA of guest RAM (pinned), the device file
 * descriptor, region info for the BARs, and one eventfd per MSI-X vector. Every step taken out of
 * order returns the error value a real host would give (as an errno name plus a sentence), never
 * throws: QEMU (or the learner's host code) decides what to do with it.
 *
 * Simplifications: one container per VM; the type-1 backend only (no iommufd cdev path, no
 * no-IOMMU mode); regions are the BARs and the config space; the IOMMU programming itself (page
 * tables, IOTLB) belongs to the IOMMU model, which `onMap`/`onUnmap` reach.
 */

export type Errno = 'EINVAL' | 'EPERM' | 'EBUSY' | 'ENODEV' | 'EEXIST' | 'ENOENT';
export interface VfioError {
  ok: false;
  errno: Errno;
  message: string;
}
export type VfioResult<T> = ({ ok: true } & T) | VfioError;

const fail = (errno: Errno, message: string): VfioError => ({ ok: false, errno, message });

/** linux/vfio.h: VFIO_API_VERSION and the type-1 IOMMU extension. */
export const VFIO_API_VERSION = 0;
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_TYPE1v2_IOMMU = 3;
/** VFIO_PCI_*_REGION_INDEX: BAR0–5, then ROM and config space. */
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
/** VFIO_PCI_MSIX_IRQ_INDEX. */
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;

/** Who a PCI function is bound to on the host. */
export type Binding = 'vfio-pci' | 'host-driver' | 'none';

export interface PciFunctionInfo {
  /** "dddd:bb:dd.f" */
  address: string;
  group: number;
  binding: Binding;
  /** BAR sizes in bytes (0 = not implemented), BAR0–BAR5. */
  bars: number[];
  msixVectors: number;
  /** The MSI-X table's BAR and offset: that page stays trapped even when the BAR is mmapped. */
  msixTable: { bar: number; offset: number; bytes: number };
}

export interface DmaMapping {
  iova: number;
  size: number;
  /** Host virtual address of the guest RAM backing it (QEMU's mapping). */
  vaddr: number;
  read: boolean;
  write: boolean;
}

/** Page size of the type-1 backend's IOVA granularity (VFIO_IOMMU_GET_INFO iova_pgsizes). */
export const VFIO_PAGE = 4096;

export interface VfioHostHooks {
  /** The IOMMU must now translate [iova, iova+size) → the pages behind vaddr (pinned). */
  onMap?(m: DmaMapping): void;
  onUnmap?(m: DmaMapping): void;
}

/** The host's VFIO state: devices, groups, containers and open device fds. */
export class VfioHost {
  readonly devices: Map<string, PciFunctionInfo>;
  readonly hooks: VfioHostHooks;
  /** Device address → the container (VM) that holds its fd. */
  readonly #openBy = new Map<string, VfioContainer>();
  readonly #groupContainer = new Map<number, VfioContainer>();

  constructor(devices: PciFunctionInfo[], hooks: VfioHostHooks = {}) {
    this.devices = new Map(devices.map((d) => [d.address, { ...d, bars: [...d.bars] }]));
    this.hooks = hooks;
  }

  /** open("/dev/vfio/vfio"). */
  openContainer(owner: string): VfioContainer {
    return new VfioContainer(this, owner);
  }

  /**
   * open("/dev/vfio/N"). The group file is single-open (Linux vfio_group_fops_open: "Do we need
   * multiple instances of the group open? Seems not." → EBUSY): while a container holds the
   * group, another VM's QEMU cannot even open it.
   */
  openGroup(n: number): VfioResult<{ group: VfioGroup }> {
    const members = [...this.devices.values()].filter((d) => d.group === n);
    if (members.length === 0) return fail('ENOENT', `/dev/vfio/${n}: no such IOMMU group`);
    const holder = this.#groupContainer.get(n);
    if (holder) return fail('EBUSY', `/dev/vfio/${n}: group ${n} is already open by ${holder.owner} (its devices are assigned there): one device, one VM`);
    return { ok: true, group: new VfioGroup(this, n) };
  }

  /** Rebind a function (unbind, driver_override, bind), as an administrator would before assignment. */
  bind(address: string, to: Binding): VfioResult<object> {
    const d = this.devices.get(address);
    if (!d) return fail('ENODEV', `${address}: no such PCI function`);
    if (this.#openBy.has(address)) return fail('EBUSY', `${address} is open by ${this.#openBy.get(address)!.owner}; it cannot be rebound while assigned`);
    d.binding = to;
    return { ok: true };
  }

  groupMembers(n: number): PciFunctionInfo[] {
    return [...this.devices.values()].filter((d) => d.group === n);
  }

  /** VFIO_GROUP_FLAGS_VIABLE: every function in the group is bound to vfio-pci or to no driver. */
  viable(n: number): boolean {
    return this.groupMembers(n).every((d) => d.binding === 'vfio-pci' || d.binding === 'none');
  }

  containerOf(n: number): VfioContainer | undefined {
    return this.#groupContainer.get(n);
  }

  /** @internal */
  setGroupContainer(n: number, c: VfioContainer | undefined): void {
    if (c) this.#groupContainer.set(n, c);
    else this.#groupContainer.delete(n);
  }

  /** @internal */
  claim(address: string, c: VfioContainer): VfioResult<object> {
    const holder = this.#openBy.get(address);
    if (holder && holder !== c) return fail('EBUSY', `${address} is already assigned to ${holder.owner}: one device, one VM`);
    if (holder === c) return fail('EBUSY', `${address} is already open in ${c.owner}`);
    this.#openBy.set(address, c);
    return { ok: true };
  }

  /** @internal */
  release(address: string): void {
    this.#openBy.delete(address);
  }
}

export class VfioGroup {
  readonly host: VfioHost;
  readonly id: number;
  container: VfioContainer | undefined;

  constructor(host: VfioHost, id: number) {
    this.host = host;
    this.id = id;
  }

  /** VFIO_GROUP_GET_STATUS. */
  status(): { viable: boolean; containerSet: boolean } {
    return { viable: this.host.viable(this.id), containerSet: this.container !== undefined };
  }

  /** VFIO_GROUP_SET_CONTAINER. */
  setContainer(c: VfioContainer): VfioResult<object> {
    if (!this.host.viable(this.id)) {
      const bad = this.host.groupMembers(this.id).filter((d) => d.binding === 'host-driver').map((d) => d.address);
      return fail('EPERM', `group ${this.id} is not viable: ${bad.join(', ')} still bound to a host driver (every function of the group must be bound to vfio-pci or to none)`);
    }
    if (this.container || this.host.containerOf(this.id)) return fail('EINVAL', `group ${this.id} is already in a container`);
    if (c.iommuSet && c.groups.length > 0 && !c.groups.every((g) => g.host === this.host)) return fail('EINVAL', 'groups of one container must share the IOMMU');
    this.container = c;
    c.groups.push(this);
    this.host.setGroupContainer(this.id, c);
    return { ok: true };
  }

  /** VFIO_GROUP_GET_DEVICE_FD("dddd:bb:dd.f"). */
  getDeviceFd(address: string): VfioResult<{ device: VfioDevice }> {
    const d = this.host.devices.get(address);
    if (!d || d.group !== this.id) return fail('ENODEV', `${address} is not a function of group ${this.id}`);
    if (!this.container) return fail('EINVAL', `group ${this.id} has no container yet: VFIO_GROUP_SET_CONTAINER first`);
    if (!this.container.iommuSet) return fail('EINVAL', `the container of group ${this.id} has no IOMMU model: VFIO_SET_IOMMU first`);
    if (d.binding !== 'vfio-pci') return fail('ENODEV', `${address} is not bound to vfio-pci`);
    const claimed = this.host.claim(address, this.container);
    if (!claimed.ok) return claimed;
    return { ok: true, device: new VfioDevice(this, d) };
  }
}

export class VfioContainer {
  readonly host: VfioHost;
  /** Who opened it (the VM's name, for messages). */
  readonly owner: string;
  readonly groups: VfioGroup[] = [];
  iommuSet = false;
  readonly mappings: DmaMapping[] = [];
  /** Pages pinned for DMA (they can no longer be swapped or ballooned away). */
  pinnedPages = 0;

  constructor(host: VfioHost, owner: string) {
    this.host = host;
    this.owner = owner;
  }

  /** VFIO_GET_API_VERSION. */
  apiVersion(): number {
    return VFIO_API_VERSION;
  }

  /** VFIO_CHECK_EXTENSION. */
  checkExtension(ext: number): boolean {
    return ext === VFIO_TYPE1_IOMMU || ext === VFIO_TYPE1v2_IOMMU;
  }

  /** VFIO_SET_IOMMU. */
  setIommu(type: number): VfioResult<object> {
    if (this.groups.length === 0) return fail('EINVAL', 'VFIO_SET_IOMMU on a container with no group: VFIO_GROUP_SET_CONTAINER first');
    if (!this.checkExtension(type)) return fail('EINVAL', `IOMMU type ${type} is not supported (type 1 is)`);
    if (this.iommuSet) return fail('EBUSY', 'the container already has an IOMMU model');
    this.iommuSet = true;
    return { ok: true };
  }

  /** VFIO_IOMMU_MAP_DMA: map and pin [iova, iova+size) to the memory at vaddr. */
  mapDma(m: DmaMapping): VfioResult<object> {
    if (!this.iommuSet) return fail('EINVAL', 'VFIO_IOMMU_MAP_DMA before VFIO_SET_IOMMU');
    if (!(m.read || m.write)) return fail('EINVAL', 'a DMA mapping needs READ, WRITE or both');
    for (const [k, v] of [['iova', m.iova], ['size', m.size], ['vaddr', m.vaddr]] as const) {
      if (!Number.isInteger(v) || v < 0 || v % VFIO_PAGE !== 0) return fail('EINVAL', `${k} 0x${v.toString(16)} is not a multiple of the ${VFIO_PAGE}-byte IOMMU page`);
    }
    if (m.size === 0) return fail('EINVAL', 'a DMA mapping of size 0');
    const clash = this.mappings.find((x) => m.iova < x.iova + x.size && x.iova < m.iova + m.size);
    if (clash) return fail('EEXIST', `IOVA range 0x${m.iova.toString(16)}+0x${m.size.toString(16)} overlaps the existing mapping at 0x${clash.iova.toString(16)}+0x${clash.size.toString(16)}`);
    const mapping = { ...m };
    this.mappings.push(mapping);
    this.pinnedPages += m.size / VFIO_PAGE;
    this.host.hooks.onMap?.(mapping);
    return { ok: true };
  }

  /**
   * VFIO_IOMMU_UNMAP_DMA: remove the mappings wholly inside [iova, iova+size) and unpin them. A
   * range that cuts a mapping in two is refused, as the type-1 backend refuses it.
   */
  unmapDma(iova: number, size: number): VfioResult<{ unmapped: number }> {
    if (!this.iommuSet) return fail('EINVAL', 'VFIO_IOMMU_UNMAP_DMA before VFIO_SET_IOMMU');
    const end = iova + size;
    const cut = this.mappings.find((x) => (x.iova < iova && iova < x.iova + x.size) || (x.iova < end && end < x.iova + x.size));
    if (cut) return fail('EINVAL', `the range 0x${iova.toString(16)}+0x${size.toString(16)} would split the mapping at 0x${cut.iova.toString(16)}+0x${cut.size.toString(16)}`);
    let unmapped = 0;
    for (let i = this.mappings.length - 1; i >= 0; i--) {
      const x = this.mappings[i]!;
      if (x.iova >= iova && x.iova + x.size <= end) {
        this.mappings.splice(i, 1);
        this.pinnedPages -= x.size / VFIO_PAGE;
        unmapped += x.size;
        this.host.hooks.onUnmap?.(x);
      }
    }
    return { ok: true, unmapped };
  }
}

export interface RegionInfo {
  index: number;
  size: number;
  /** Can be mmapped into QEMU and from there into the guest (EPT): doorbells without exits. */
  mmap: boolean;
  /** Parts that stay trapped even when mmap is allowed (the MSI-X table). */
  trapped: { offset: number; bytes: number }[];
}

export class VfioDevice {
  readonly group: VfioGroup;
  readonly info: PciFunctionInfo;
  /** One eventfd (here: a callback id) per MSI-X vector, once SET_IRQS connected them. */
  irqs: (number | undefined)[] = [];
  closed = false;
  resets = 0;

  constructor(group: VfioGroup, info: PciFunctionInfo) {
    this.group = group;
    this.info = info;
  }

  /** VFIO_DEVICE_GET_REGION_INFO. */
  regionInfo(index: number): VfioResult<{ region: RegionInfo }> {
    if (this.closed) return fail('EINVAL', 'the device fd is closed');
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) return { ok: true, region: { index, size: 4096, mmap: false, trapped: [{ offset: 0, bytes: 4096 }] } };
    if (!Number.isInteger(index) || index < 0 || index > 5) return fail('EINVAL', `region index ${index} is not a BAR (0–5) or the config space (${VFIO_PCI_CONFIG_REGION_INDEX})`);
    const size = this.info.bars[index] ?? 0;
    const t = this.info.msixTable;
    const trapped = t.bar === index ? [{ offset: t.offset - (t.offset % 4096), bytes: Math.ceil((t.offset % 4096 + t.bytes) / 4096) * 4096 }] : [];
    return { ok: true, region: { index, size, mmap: size > 0, trapped } };
  }

  /** VFIO_DEVICE_SET_IRQS for MSI-X: connect `eventfds` to vectors start.. (undefined disconnects). */
  setIrqs(index: number, start: number, eventfds: (number | undefined)[]): VfioResult<object> {
    if (this.closed) return fail('EINVAL', 'the device fd is closed');
    if (index !== VFIO_PCI_MSIX_IRQ_INDEX) return fail('EINVAL', `IRQ index ${index}: this model supports MSI-X (${VFIO_PCI_MSIX_IRQ_INDEX})`);
    if (start < 0 || start + eventfds.length > this.info.msixVectors) return fail('EINVAL', `vectors ${start}–${start + eventfds.length - 1} exceed the device's ${this.info.msixVectors} MSI-X vectors`);
    eventfds.forEach((fd, i) => (this.irqs[start + i] = fd));
    return { ok: true };
  }

  /** VFIO_DEVICE_RESET. */
  reset(): VfioResult<object> {
    if (this.closed) return fail('EINVAL', 'the device fd is closed');
    this.resets++;
    return { ok: true };
  }

  /** close(device fd): the device can be assigned again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.irqs = [];
    this.group.host.release(this.info.address);
  }
}

/**
 * The whole flow QEMU runs for `-device vfio-pci,host=<address>` (vfio.rst's example), stopping
 * at the first error. `ram` are the VM's RAM regions (IOVA = guest-physical address).
 */
export function assignDevice(host: VfioHost, owner: string, address: string, ram: { gpa: number; size: number; vaddr: number }[]): VfioResult<{ container: VfioContainer; device: VfioDevice }> {
  const info = host.devices.get(address);
  if (!info) return fail('ENODEV', `${address}: no such PCI function`);
  const container = host.openContainer(owner);
  if (container.apiVersion() !== VFIO_API_VERSION || !container.checkExtension(VFIO_TYPE1_IOMMU)) return fail('EINVAL', 'no type-1 IOMMU support');
  const g = host.openGroup(info.group);
  if (!g.ok) return g;
  const sc = g.group.setContainer(container);
  if (!sc.ok) return sc;
  const si = container.setIommu(VFIO_TYPE1_IOMMU);
  if (!si.ok) return si;
  for (const r of ram) {
    const mr = container.mapDma({ iova: r.gpa, size: r.size, vaddr: r.vaddr, read: true, write: true });
    if (!mr.ok) return mr;
  }
  const df = g.group.getDeviceFd(address);
  if (!df.ok) return df;
  const irq = df.device.setIrqs(VFIO_PCI_MSIX_IRQ_INDEX, 0, Array.from({ length: info.msixVectors }, (_, i) => i));
  if (!irq.ok) return irq;
  const rs = df.device.reset();
  if (!rs.ok) return rs;
  return { ok: true, container, device: df.device };
}
