import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRun } from '../../export/export-run.js';
import { readCheckpoint, writeCheckpoint } from '../../pipeline/checkpoint.js';
import { makeRun } from './export-fixtures.js';
const root = mkdtempSync(join(tmpdir(), 'm-'));
const r = await makeRun(root, 'cnn28');
writeFileSync(join(r.dir, 'model.onnx'), 'x');
const show = async (o, dir = r.dir) => { try {
    const x = await exportRun(dir, o);
    console.log('OK', x.path, x.validation);
}
catch (e) {
    console.log('-', e.message);
} };
await show({ output: join(r.dir, 'model.onnx', 'm.onnx') });
await show({ output: '/nonexistent/dir/m.onnx' });
await show({ output: r.dir });
await show({}, '/nonexistent-run');
const p = join(r.dir, 'checkpoint.ckpt');
const ck = readCheckpoint(p);
ck.meta.spec.projector.push({ kind: 'gelu', name: 'g' });
writeCheckpoint(p, ck);
await show({});
await show({ embedding: true });
truncateSync(p, 1000);
await show({});
//# sourceMappingURL=tmp-msgs.js.map