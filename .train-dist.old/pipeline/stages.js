// Stage implementations behind the CLI. Heavy modules are imported lazily so `ecl --help` is instant and
// a stage only loads what it needs.
import { readFileSync } from 'node:fs';
async function train(cfg, resume) {
    const { train: run } = await import('./trainer.js');
    const r = await run(cfg, { resume });
    const last = r.epochs.at(-1);
    console.log('');
    console.log(`done: ${r.runDir}  (backend ${r.backend.name}, ${r.wallSeconds.toFixed(0)} s wall, ${r.imgPerSec.toFixed(1)} img/s training)`);
    if (last)
        console.log(`final test top-1 ${(100 * last.test.top1).toFixed(2)}%, balanced accuracy ${(100 * last.test.balancedAccuracy).toFixed(2)}%`);
    console.log(`artifacts: ${r.runDir}/checkpoint.ckpt, config.json, metrics.jsonl, run.json, train-summary.json`);
}
async function evalStage(runDir, opts) {
    const { evaluateRun, formatEval } = await import('./eval-run.js');
    const r = await evaluateRun(runDir, opts);
    console.log(formatEval(r));
    console.log(`\nwrote ${runDir}/eval.json`);
}
async function exportStage(runDir, opts) {
    const mod = (await import('../export/export-run.js'));
    const r = await mod.exportRun(runDir, opts);
    console.log(mod.formatExportResult ? mod.formatExportResult(r) : JSON.stringify(r, null, 2));
}
async function exportCheck(runDir, opts) {
    const { runExportCheck } = await import('./export-check.js');
    const ok = await runExportCheck(runDir, opts);
    if (!ok)
        throw new Error('export check failed: the ONNX model does not match the tfjs model (see the table above)');
}
async function lossProbe(input) {
    const { selectBackend } = await import('./backend.js');
    await selectBackend('cpu');
    const { runLossProbe } = await import('./loss-probe.js');
    let text;
    try {
        text = input === '-' ? readFileSync(0, 'utf8') : readFileSync(input, 'utf8');
    }
    catch (e) {
        throw new Error(`cannot read ${input}: ${e.code === 'ENOENT' ? 'file not found' : e.message}`);
    }
    console.log(JSON.stringify(runLossProbe(text)));
}
export const stages = {
    train,
    eval: evalStage,
    export: exportStage,
    exportCheck,
    lossProbe,
};
//# sourceMappingURL=stages.js.map