/**
 * Entry of the Gradescope bundle (grader/autograder.mjs, built by src/build/package-autograder.mjs):
 * reads config.json next to it ({lab, salt?}), grades AUTOGRADER_ROOT (default /autograder).
 * Always exits 0 once results.json is written: a failing submission is a result, not a crash.
 */
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runAutograder, type AutograderConfig } from './autograder.ts';

const cfgUrl = new URL(process.env['IOVLAB_AUTOGRADER_CONFIG'] ? `file://${process.env['IOVLAB_AUTOGRADER_CONFIG']}` : './config.json', import.meta.url);
const cfg = JSON.parse(readFileSync(cfgUrl, 'utf8')) as AutograderConfig;
// On Gradescope every submission runs in a fresh container: run_autograder asks to forget the
// config (it holds the salt) before any learner code runs, so that code cannot read it from disk.
if (process.env['IOVLAB_FORGET_CONFIG'] === '1') rmSync(fileURLToPath(cfgUrl), { force: true });
const root = process.env['AUTOGRADER_ROOT'] || '/autograder';
const r = await runAutograder(root, cfg);
console.log(`IOV Lab autograder (${cfg.lab}): ${r.score}/${String((r.extra_data['iovlab'] as { max_score: number }).max_score)}`);
