import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnnxModel, exportRun } from '../../export/export-run.js';
import { runOnnxChecker, runOrtCpuSmoke } from '../../export/validate.js';
import { makeRun } from './export-fixtures.js';
const root = mkdtempSync(join(tmpdir(), 'exp-'));
for (const fam of (process.argv[2] ?? 'cnn28').split(',')) {
    let t = Date.now();
    const r = makeRun(root, fam);
    console.log('makeRun', Date.now() - t);
    t = Date.now();
    buildOnnxModel(r.spec, r.params, { embedding: true });
    console.log('build', Date.now() - t);
    t = Date.now();
    const res = await exportRun(r.dir, { embedding: true, validate: false });
    console.log('export novalidate', Date.now() - t);
    t = Date.now();
    console.log(await runOnnxChecker(res.path), Date.now() - t);
    t = Date.now();
    console.log(await runOnnxChecker(res.path), Date.now() - t);
    t = Date.now();
    await runOrtCpuSmoke(res.path);
    console.log('ort', Date.now() - t);
    t = Date.now();
}
//# sourceMappingURL=export-smoke-tmp.js.map