// parity.md: the parity report as markdown (also printed by `ecl parity`): the runtime table, the tail table
// (per class, rarest first, and per many/medium/few-shot group), and on raw images every image whose top-1 differs.
import type { ParityReport, RuntimeResult } from './harness.js';
import type { ErrorStats } from './metrics.js';

const sci = (v: number): string => (v === 0 ? '0' : !Number.isFinite(v) ? String(v) : v.toExponential(1));
const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
const triple = (s: ErrorStats | null, kind: 'abs' | 'rel'): string =>
  !s ? '–' : kind === 'abs' ? `${sci(s.maxAbs)} / ${sci(s.meanAbs)} / ${sci(s.p99Abs)}` : `${sci(s.maxRel)} / ${sci(s.meanRel)} / ${sci(s.p99Rel)}`;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const STATUS: Record<RuntimeResult['status'], string> = { pass: 'PASS', fail: '**FAIL**', unavailable: 'unavailable', error: '**ERROR**' };

function header(r: ParityReport): string[] {
  const ref = r.reference.runtime === 'tfjs' ? `the trained tfjs model (backend ${r.reference.backend})` : `onnxruntime-node CPU on the model itself (--reference onnx)`;
  const model = `Model ${r.model.path.split('/').slice(-2).join('/')} (sha256 ${r.model.sha256.slice(0, 12)}…)${r.checkpoint ? `, checkpoint epoch ${r.checkpoint.epoch}` : ''}.`;
  const lines: string[] = [];
  if (r.mode === 'images' && r.images) {
    lines.push(
      `Reference: ${ref} on ${r.images.count} image files from ${r.images.dir} (${r.images.labelled} labelled by folder), decoded by the training side: ${r.images.referenceDecode}. ` +
        `Every runtime decodes the original files on its own path (server: POST /v1/classify; browser: window.ecl.classifyBlob; ort-node/OpenCV: ${r.images.runtimeDecode}). ` +
        `Reference accuracy ${pct(r.reference.accuracy)}. ${model}`,
    );
  } else if (r.dataset) {
    lines.push(
      `Reference: ${ref} on ${r.dataset.samples} of ${r.dataset.size} ${r.dataset.name} test images (WebGPU runtimes: ${r.dataset.webgpuSamples}); ` +
        `reference accuracy ${pct(r.reference.accuracy)}. ${model}`,
    );
  }
  lines.push(
    `Pass: every logit and probability within |a − r| ≤ atol + rtol·|r| (CPU/WASM/OpenCV atol ${r.tolerances.cpu.atol}, GPU atol ${r.tolerances.gpu.atol}, rtol ${r.tolerances.cpu.rtol}), ` +
      `no top-1 change, and no class off (tail table). Errors are max / mean / p99; relative error is |a − r| / max(|r|, atol). The server returns probabilities only.`,
  );
  return lines;
}

function tailTable(r: ParityReport): string[] {
  const rows = r.results.filter((x) => x.tail);
  if (!rows.length) return [];
  const lines: string[] = ['', `## Tail: per class, rarest first (training counts from ${r.classCounts.source}; groups: many > 100, medium 20–100, few < 20 training images)`, ''];
  const tail0 = rows[0]!.tail!;
  lines.push(`Images belong to a class by ${tail0.basis === 'label' ? 'their label' : "the reference's top-1 (no labels)"}; a class's column error is its ${tail0.classes[0]?.columnOutput ?? 'logit'} on every image.`);
  lines.push('');
  lines.push(`| class | train n | group | images | ${rows.map((x) => `${x.runtime} top-1 / max abs`).join(' | ')} |`);
  lines.push(`|---|---:|---|---:|${rows.map(() => '---|').join('')}`);
  for (const c of tail0.classes) {
    const cells = rows.map((x) => {
      const k = x.tail!.classes.find((y) => y.classIndex === c.classIndex)!;
      const s = `${pct(k.top1Agreement)} / ${sci(k.column.maxAbs)}${k.columnOutput === 'probs' ? ' (p)' : ''}`;
      return k.pass ? s : `**FAIL** ${s}`;
    });
    lines.push(`| ${c.classIndex} ${cell(c.label)} | ${c.trainCount ?? '?'} | ${c.group ?? '?'} | ${c.images} | ${cells.join(' | ')} |`);
  }
  for (const g of ['few', 'medium', 'many'] as const) {
    const cells = rows.map((x) => {
      const gg = x.tail!.groups.find((y) => y.group === g);
      if (!gg) return '–';
      const s = `${pct(gg.top1Agreement)} / ${sci(gg.maxAbs)}`;
      return gg.pass ? s : `**FAIL** ${s}`;
    });
    const any = rows[0]!.tail!.groups.find((y) => y.group === g);
    if (any) lines.push(`| *${g}-shot* (${any.classes.length} classes) | | ${g} | ${any.images} | ${cells.join(' | ')} |`);
  }
  return lines;
}

export function formatParityMarkdown(r: ParityReport): string {
  const lines: string[] = [`# Parity: ${r.run ?? r.model.path}${r.mode === 'images' ? ' (raw images)' : ''}`, '', ...header(r), ''];
  const raw = r.mode === 'images';
  lines.push(`| runtime | status | ran on | n | logits abs err | logits rel err | probs abs err | probs rel err | cos min | top-1 agree | accuracy |${raw ? ' inputs ≠ ref |' : ''} ms/img |`);
  lines.push(`|---|---|---|---:|---|---|---|---|---:|---:|---:|${raw ? '---:|' : ''}---:|`);
  const n = r.dataset?.samples ?? r.images?.count ?? 0;
  lines.push(
    `| ${r.reference.runtime} (reference) | ref | ${cell(r.reference.ranOn)} | ${n} | – | – | – | – | – | – | ${pct(r.reference.accuracy)} |${raw ? ' – |' : ''} ${(r.reference.inferenceMs / Math.max(1, n)).toFixed(2)} |`,
  );
  for (const x of r.results) {
    const c = x.comparison;
    if (!c) {
      const why = (x.reason ?? '').length > 90 ? `${(x.reason ?? '').slice(0, 87)}…` : (x.reason ?? '');
      lines.push(`| ${x.runtime} | ${STATUS[x.status]} | ${cell(why)} | – | – | – | – | – | – | – | – |${raw ? ' – |' : ''} – |`);
      continue;
    }
    const acc = r.reference.accuracy === null ? '–' : pct(c.accuracy);
    const inputs = raw ? ` ${x.inputsDiffer === null || x.inputsDiffer === undefined ? '?' : x.inputsDiffer} |` : '';
    lines.push(
      `| ${x.runtime} | ${STATUS[x.status]} | ${cell(x.ranOn ?? '')} | ${c.count} | ${triple(c.logits, 'abs')} | ${triple(c.logits, 'rel')} | ` +
        `${triple(c.probs, 'abs')} | ${triple(c.probs, 'rel')} | ${c.cosine.min.toFixed(6)} | ${pct(c.top1Agreement)} | ${acc} |${inputs} ` +
        `${((x.inferenceMs ?? 0) / Math.max(1, c.count)).toFixed(2)} |`,
    );
  }
  const notes = r.results.filter((x) => x.status !== 'pass' || x.source);
  if (notes.length) {
    lines.push('');
    for (const x of notes) {
      if (x.source && x.status === 'pass') lines.push(`- ${x.runtime} (${x.label}) loaded from ${x.source}`);
      else if (x.status === 'unavailable') lines.push(`- ${x.runtime} (${x.label}) unavailable: ${x.reason}`);
      else if (x.status === 'error') lines.push(`- ${x.runtime} (${x.label}) error: ${x.reason}`);
      else {
        const w = x.comparison?.worst;
        const worst = w ? `; worst: ${w.output}[${w.sample}][${w.classIndex}] = ${w.value} vs reference ${w.reference} (|Δ| ${sci(w.absError)} > allowed ${sci(w.allowed)})` : '';
        lines.push(`- ${x.runtime} (${x.label}) FAILED: ${(x.failures ?? []).join('; ')}${worst}`);
      }
    }
  }
  lines.push(...tailTable(r));
  if (raw) {
    const dis = r.results.filter((x) => x.disagreements?.length);
    lines.push('', '## Images whose top-1 differs from the reference', '');
    if (!dis.length) lines.push('None: every runtime gives every image the reference\'s top-1.');
    for (const x of dis) for (const d of x.disagreements!) lines.push(`- ${x.runtime}: \`${cell(d.image ?? String(d.input))}\` reference ${d.reference.label} (${d.reference.index}), runtime ${d.runtime.label} (${d.runtime.index})`);
  }
  lines.push('');
  lines.push(
    r.passed
      ? `**Result: PASS** (${r.results.filter((x) => x.status === 'pass').length} runtimes passed, ${r.results.filter((x) => x.status === 'unavailable').length} unavailable here)`
      : `**Result: FAIL** — ${r.failures.join('; ')}`,
  );
  return lines.join('\n') + '\n';
}
