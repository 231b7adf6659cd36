import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRun } from '../../export/export-run.js';
import { makeRun } from './export-fixtures.js';
const root = mkdtempSync(join(tmpdir(), 'd-'));
const r = await makeRun(root, (process.argv[2] ?? 'resnet8'));
const res = await exportRun(r.dir, { embedding: true });
console.log(res.path);
//# sourceMappingURL=tmp-dump.js.map