/**
 * The VFIO migration v2 device-state machine (include/uapi/linux/vfio.h `enum
 * vfio_device_mig_state`; drivers/vfio/vfio_main.c `vfio_mig_get_next_state()`, CALIBRATION §4).
 * User space asks for a target state with VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE; the core breaks
 * a combination transition into single arcs with `vfio_from_fsm_table` and the variant driver
 * implements only those arcs. ERROR is never a target: it is what an arc that is not allowed
 * returns (-EINVAL).
 */

/** enum vfio_device_mig_state (include/uapi/linux/vfio.h). */
export const VFIO_STATE = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;
export type VfioState = (typeof VFIO_STATE)[keyof typeof VFIO_STATE];

const NAMES = ['ERROR', 'STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P'] as const;
/** 'PRE_COPY' for 6, as the uAPI enum names it. */
export const vfioStateName = (s: number): string => NAMES[s] ?? `state ${s}`;

/** VFIO_MIGRATION_* flags (struct vfio_device_feature_migration). */
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
export const VFIO_MIGRATION_P2P = 1 << 1;
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VFIO_STATE;

/** vfio_from_fsm_table[cur][target] = the next state on the way (the kernel's table, row by row). */
const FROM_FSM: Record<number, Record<number, number>> = {
  [STOP]: { [STOP]: STOP, [RUNNING]: RUNNING_P2P, [PRE_COPY]: RUNNING_P2P, [PRE_COPY_P2P]: RUNNING_P2P, [STOP_COPY]: STOP_COPY, [RESUMING]: RESUMING, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [RUNNING]: { [STOP]: RUNNING_P2P, [RUNNING]: RUNNING, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: RUNNING_P2P, [STOP_COPY]: RUNNING_P2P, [RESUMING]: RUNNING_P2P, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [PRE_COPY]: { [STOP]: RUNNING, [RUNNING]: RUNNING, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: PRE_COPY_P2P, [RESUMING]: RUNNING, [RUNNING_P2P]: RUNNING, [ERROR]: ERROR },
  [PRE_COPY_P2P]: { [STOP]: RUNNING_P2P, [RUNNING]: RUNNING_P2P, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: STOP_COPY, [RESUMING]: RUNNING_P2P, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [STOP_COPY]: { [STOP]: STOP, [RUNNING]: STOP, [PRE_COPY]: ERROR, [PRE_COPY_P2P]: ERROR, [STOP_COPY]: STOP_COPY, [RESUMING]: STOP, [RUNNING_P2P]: STOP, [ERROR]: ERROR },
  [RESUMING]: { [STOP]: STOP, [RUNNING]: STOP, [PRE_COPY]: STOP, [PRE_COPY_P2P]: STOP, [STOP_COPY]: STOP, [RESUMING]: RESUMING, [RUNNING_P2P]: STOP, [ERROR]: ERROR },
  [RUNNING_P2P]: { [STOP]: STOP, [RUNNING]: RUNNING, [PRE_COPY]: RUNNING, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: STOP, [RESUMING]: STOP, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [ERROR]: { [STOP]: ERROR, [RUNNING]: ERROR, [PRE_COPY]: ERROR, [PRE_COPY_P2P]: ERROR, [STOP_COPY]: ERROR, [RESUMING]: ERROR, [RUNNING_P2P]: ERROR, [ERROR]: ERROR },
};

/** state_flags_table: the migration flags a state needs the device to support. */
const STATE_FLAGS: Record<number, number> = {
  [STOP]: VFIO_MIGRATION_STOP_COPY,
  [RUNNING]: VFIO_MIGRATION_STOP_COPY,
  [PRE_COPY]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  [PRE_COPY_P2P]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
  [STOP_COPY]: VFIO_MIGRATION_STOP_COPY,
  [RESUMING]: VFIO_MIGRATION_STOP_COPY,
  [RUNNING_P2P]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  [ERROR]: 0xffffffff,
};

const supports = (flags: number, s: number): boolean => ((STATE_FLAGS[s]! & flags) >>> 0) === STATE_FLAGS[s]! >>> 0;

/**
 * vfio_mig_get_next_state(): the next single arc from `cur` towards `target` for a device with
 * `flags`, skipping states the device does not support; ERROR when the request is not allowed.
 */
export function vfioNextState(flags: number, cur: number, target: number): number {
  if (!(cur in FROM_FSM) || !supports(flags, cur)) return ERROR;
  if (!(target in FROM_FSM) || !supports(flags, target)) return ERROR;
  let next = FROM_FSM[cur]![target]!;
  // Skip over optional states the device lacks; ERROR ends the walk (the arc is not allowed).
  while (next !== ERROR && !supports(flags, next)) next = FROM_FSM[next]![target]!;
  return next;
}

/** The single arcs a driver implements (the table's entries that reach their target in one step), for a device with `flags`. */
export function vfioDirectArcs(flags: number): [number, number][] {
  const out: [number, number][] = [];
  for (const cur of Object.keys(FROM_FSM).map(Number)) {
    if (cur === ERROR || !supports(flags, cur)) continue;
    for (const target of Object.keys(FROM_FSM).map(Number)) {
      if (target === cur || target === ERROR || !supports(flags, target)) continue;
      if (vfioNextState(flags, cur, target) === target) out.push([cur, target]);
    }
  }
  return out;
}

/** An arc or a target state the VFIO migration FSM does not allow (the ioctl's EINVAL). */
export class VfioFsmError extends Error {
  override name = 'VfioFsmError';
}

/**
 * One migratable device's state as its variant driver keeps it. `arc()` is a single driver arc
 * (refused unless it is one the core would ever ask for); `setState()` is what user space calls:
 * it walks vfio_mig_get_next_state() one arc at a time, as vfio_ioctl_device_feature_mig_device_state does.
 */
export class VfioMigrationDevice {
  readonly label: string;
  readonly flags: number;
  #state: number = RUNNING;
  /** Every arc taken, 'label FROM → TO'. */
  readonly arcs: string[] = [];
  readonly #direct: Set<string>;

  constructor(label: string, flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY) {
    if (!(flags & VFIO_MIGRATION_STOP_COPY)) throw new VfioFsmError(`${label}: VFIO_MIGRATION_STOP_COPY is mandatory for a migratable device`);
    this.label = label;
    this.flags = flags;
    this.#direct = new Set(vfioDirectArcs(flags).map(([a, b]) => `${a}>${b}`));
  }

  get state(): number {
    return this.#state;
  }

  /** A single driver arc; throws (the device's state unchanged) when the FSM has no such arc. */
  arc(to: number): void {
    const from = this.#state;
    if (!this.#direct.has(`${from}>${to}`)) {
      throw new VfioFsmError(`${this.label}: ${vfioStateName(from)} → ${vfioStateName(to)} is not an arc of the VFIO migration FSM (vfio_mig_get_next_state() never takes it; the ioctl fails with EINVAL)`);
    }
    this.#state = to;
    this.arcs.push(`${this.label} ${vfioStateName(from)} → ${vfioStateName(to)}`);
  }

  /** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE with `target`: one arc after another until it is reached. */
  setState(target: number): void {
    let guard = 0;
    while (this.#state !== target) {
      const next = vfioNextState(this.flags, this.#state, target);
      if (next === ERROR) throw new VfioFsmError(`${this.label}: no way from ${vfioStateName(this.#state)} to ${vfioStateName(target)} (vfio_mig_get_next_state() returns ERROR: EINVAL)`);
      this.arc(next);
      if (++guard > 8) throw new VfioFsmError(`${this.label}: FSM walk did not reach ${vfioStateName(target)}`);
    }
  }
}
