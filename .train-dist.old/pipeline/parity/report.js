const sci = (v) => (v === 0 ? '0' : !Number.isFinite(v) ? String(v) : v.toExponential(1));
const pct = (v) => `${(100 * v).toFixed(1)}%`;
const triple = (s, kind) => kind === 'abs' ? `${sci(s.maxAbs)} / ${sci(s.meanAbs)} / ${sci(s.p99Abs)}` : `${sci(s.maxRel)} / ${sci(s.meanRel)} / ${sci(s.p99Rel)}`;
const cell = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const STATUS = { pass: 'PASS', fail: '**FAIL**', unavailable: 'unavailable', error: '**ERROR**' };
export function formatParityMarkdown(r) {
    const lines = [];
    lines.push(`# Parity: ${r.run}`);
    lines.push('');
    lines.push(`Reference: the trained tfjs model (backend ${r.reference.backend}) on ${r.dataset.samples} of ${r.dataset.size} ${r.dataset.name} test images ` +
        `(WebGPU runtimes: ${r.dataset.webgpuSamples}); reference accuracy ${pct(r.reference.accuracy)}. ` +
        `Model ${r.model.path.split('/').slice(-2).join('/')} (sha256 ${r.model.sha256.slice(0, 12)}…), checkpoint epoch ${r.checkpoint.epoch}.`);
    lines.push(`Pass: every logit and probability within |a − r| ≤ atol + rtol·|r| (CPU/WASM atol ${r.tolerances.cpu.atol}, GPU atol ${r.tolerances.gpu.atol}, rtol ${r.tolerances.cpu.rtol}). ` +
        `Errors are max / mean / p99; relative error is |a − r| / max(|r|, atol).`);
    lines.push('');
    lines.push('| runtime | status | ran on | n | logits abs err | logits rel err | probs abs err | probs rel err | cos min | top-1 agree | accuracy | ms/img |');
    lines.push('|---|---|---|---:|---|---|---|---|---:|---:|---:|---:|');
    lines.push(`| tfjs (${r.reference.backend}, reference) | ref | tfjs ${r.reference.backend} backend | ${r.dataset.samples} | – | – | – | – | – | – | ${pct(r.reference.accuracy)} | ${(r.reference.inferenceMs / Math.max(1, r.dataset.samples)).toFixed(2)} |`);
    for (const x of r.results) {
        const c = x.comparison;
        if (!c) {
            const why = (x.reason ?? '').length > 90 ? `${(x.reason ?? '').slice(0, 87)}…` : (x.reason ?? '');
            lines.push(`| ${x.runtime} | ${STATUS[x.status]} | ${cell(why)} | – | – | – | – | – | – | – | – | – |`);
            continue;
        }
        lines.push(`| ${x.runtime} | ${STATUS[x.status]} | ${cell(x.ranOn ?? '')} | ${c.count} | ${triple(c.logits, 'abs')} | ${triple(c.logits, 'rel')} | ` +
            `${triple(c.probs, 'abs')} | ${triple(c.probs, 'rel')} | ${c.cosine.min.toFixed(6)} | ${pct(c.top1Agreement)} | ${pct(c.accuracy)} | ` +
            `${((x.inferenceMs ?? 0) / Math.max(1, c.count)).toFixed(2)} |`);
    }
    const notes = r.results.filter((x) => x.status !== 'pass');
    if (notes.length) {
        lines.push('');
        for (const x of notes) {
            if (x.status === 'unavailable')
                lines.push(`- ${x.runtime} (${x.label}) unavailable: ${x.reason}`);
            else if (x.status === 'error')
                lines.push(`- ${x.runtime} (${x.label}) error: ${x.reason}`);
            else {
                const w = x.comparison?.worst;
                const worst = w ? `; worst: ${w.output}[${w.sample}][${w.classIndex}] = ${w.value} vs reference ${w.reference} (|Δ| ${sci(w.absError)} > allowed ${sci(w.allowed)})` : '';
                lines.push(`- ${x.runtime} (${x.label}) FAILED: ${(x.failures ?? []).join('; ')}${worst}`);
            }
        }
    }
    lines.push('');
    lines.push(r.passed ? `**Result: PASS** (${r.results.filter((x) => x.status === 'pass').length} runtimes passed, ${r.results.filter((x) => x.status === 'unavailable').length} unavailable here)` : `**Result: FAIL** — ${r.failures.join('; ')}`);
    return lines.join('\n') + '\n';
}
//# sourceMappingURL=report.js.map