// `ecl export-check runs/<name>`: the exported ONNX model against the tfjs model on the run's full test set.
import { join } from 'node:path';
import { readCheckpoint } from './checkpoint.js';
import { loadDataset } from './data/registry.js';
import { selectBackend, describeBackend } from './backend.js';
import { CHECKPOINT_FILE } from './trainer.js';
export async function runExportCheck(runDir, opts) {
    const ck = readCheckpoint(join(runDir, CHECKPOINT_FILE));
    const cfg = ck.meta.config;
    const backend = await selectBackend(opts.backend);
    console.log(describeBackend(backend));
    const data = await loadDataset(cfg.dataset, { imbalance: cfg.imbalance, seed: cfg.seed, root: cfg.dataRoot, valPerClass: cfg.valPerClass });
    const n = opts.limit && opts.limit > 0 ? Math.min(opts.limit, data.test.count) : data.test.count;
    const { exportCheck } = (await import('../export/compare.js'));
    // The reference runs on the selected backend (wasm: ~10x faster than cpu for these convnets).
    const r = await exportCheck(runDir, data.test.images, data.test.labels, n, { backend: backend.name, batchSize: 200 });
    return r.passed;
}
//# sourceMappingURL=export-check.js.map