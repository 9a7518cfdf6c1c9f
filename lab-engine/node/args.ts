/** Command-line parsing shared by the `grade` and `sim` commands (DESIGN.md §8: bad usage exits 2). */

/** Bad usage or bad input: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {}

export const USAGE = `usage:
  npm run grade -- [--lab <id>] <file.ts | submission.json | folder> [--json <path|->] [--seed-salt <secret>] [--out <dir>] [--jobs N]
  npm run sim -- --list
  npm run sim -- <scenario> [--seed N] [--packets N] [--size BYTES] [--vms N] [--param key=value]... [--json]`;

export type FlagKind = 'value' | 'bool' | 'multi';
export type Options = Record<string, string | boolean | string[]>;

export function parseArgs(argv: string[], flags: Record<string, FlagKind>): { opts: Options; rest: string[] } {
  const opts: Options = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const kind = flags[name];
      if (!kind) throw new UsageError(`unknown option --${name}`);
      if (kind === 'bool') opts[name] = true;
      else {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        if (kind === 'multi') opts[name] = [...((opts[name] as string[]) ?? []), v];
        else opts[name] = v;
      }
    } else rest.push(a);
  }
  return { opts, rest };
}

export function intOpt(opts: Options, name: string): number | undefined {
  const v = opts[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${String(v)}'`);
  return n;
}
