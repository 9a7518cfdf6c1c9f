/** Storage as the first lab UI (schema 1, no iovlab:meta) left it: shared by the migration and import tests. */
/** What the first lab UI (schema 1) stored after one Grade of emulated-nic. */
export function v1Data(): Record<string, string> {
  const results = { score: 70, max_score: 100, output: '', visibility: 'visible', stdout_visibility: 'visible', tests: [{ name: 'a', number: '1', score: 70, max_score: 70, status: 'passed', output: '', tags: [], visibility: 'visible' }], iovlab: { schema: 'iovlab.grade/1', lab: 'emulated-nic', labVersion: 'lv1', engineVersion: '0.1.0', mode: 'grade', seeds: [1, 2, 3, 77], codeHash: 'x' } };
  return {
    'iovlab:v1:lab:emulated-nic:code': JSON.stringify({ schema: 'iovlab.code/1', code: 'my code', version: 'lv1', savedAt: 10 }),
    'iovlab:v1:lab:emulated-nic:best': JSON.stringify({ schema: 'iovlab.best/1', score: 70, maxScore: 100, seeds: [1, 2, 3, 77], at: 1_700_000_000_000, codeHash: 'x', labVersion: 'lv1' }),
    'iovlab:v1:lab:emulated-nic:submission': JSON.stringify({ schema: 'iovlab.submission/1', lab: 'emulated-nic', code: 'graded code', seeds: [1, 2, 3, 77], mode: 'grade', results }),
    'iovlab:v1:progress': JSON.stringify({ labs: { 'emulated-nic': { bestScore: 70, maxScore: 100, completed: false } }, lessonsVisited: { l1: true } }),
    'iovlab:v1:theme': 'dark',
  };
}
