/**
 * The IOV Lab command line (DESIGN.md §8): `grade` and `sim`. Text to stdout, errors to stderr,
 * exit 2 on bad usage or bad input, exit 0 whenever grading ran (whatever the score).
 */
import { USAGE, UsageError } from './args.ts';
import { grade } from './grade-command.ts';
import { sim } from './sim-command.ts';

async function main(): Promise<number> {
  const [cmd, ...argv] = process.argv.slice(2);
  try {
    if (cmd === 'grade') return await grade(argv);
    if (cmd === 'sim') return sim(argv);
    throw new UsageError(cmd ? `unknown command '${cmd}'` : 'missing command');
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n${USAGE}`);
      return 2;
    }
    console.error(`error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = await main();
