/**
 * Entry of the Gradescope bundle (grader/autograder.mjs, built by src/build/package-autograder.mjs):
 * reads config.json next to it ({lab, salt?}), grades AUTOGRADER_ROOT (default /autograder).
 * Always exits 0 once results.json is written: a failing submission is a result, not a crash.
 */
import { readFileSync } from 'node:fs';
import { runAutograder, type AutograderConfig } from './autograder.ts';

const cfgUrl = new URL(process.env['IOVLAB_AUTOGRADER_CONFIG'] ? `file://${process.env['IOVLAB_AUTOGRADER_CONFIG']}` : './config.json', import.meta.url);
const cfg = JSON.parse(readFileSync(cfgUrl, 'utf8')) as AutograderConfig;
const root = process.env['AUTOGRADER_ROOT'] || '/autograder';
const r = await runAutograder(root, cfg);
console.log(`IOV Lab autograder (${cfg.lab}): ${r.score}/${String((r.extra_data['iovlab'] as { max_score: number }).max_score)}`);
