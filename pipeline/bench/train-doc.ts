// The generated part of docs/training-speed.md: the bench-train table (from bench/train.json) between two
// marker comments, so `ecl bench-train --doc docs/training-speed.md` refreshes it and nothing else.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { type BenchTrainReport, formatTable } from './train-report.js';
import { describeCpuFeatures } from './cpu-features.js';

export const DOC_BEGIN = '<!-- bench-train table: generated from bench/train.json by `ecl bench-train --doc`; do not edit -->';
export const DOC_END = '<!-- end of the bench-train table -->';

/** The table, the machine line, the peak and the steadiness warnings of a report, as markdown. */
export function formatTrainDoc(r: BenchTrainReport): string {
  const m = r.machine;
  const lines = [formatTable(r.results), ''];
  lines.push(
    `Measured ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC${m.note ? ` (${m.note})` : ''}: ${m.cpus} CPUs (${m.cpuModel}${m.cpuFeatures !== undefined ? `; ${describeCpuFeatures(m.cpuFeatures)}` : ''}), load average ` +
      `${m.loadavgBefore.join(' ')} → ${m.loadavgAfter.join(' ')}; Node ${m.node.replace(/^v/, '')}, tfjs ${m.tfjs}, ` +
      `${m.torch ? `torch ${m.torch} (${m.torchThreads} threads, mkldnn on)` : 'torch unavailable'}; ${r.config.rounds} interleaved rounds × ${r.config.steps} timed steps ` +
      `after ${r.config.warmup} warm-up. \`${r.command.replace(/^.*?(bench-train)/, 'ecl $1')}\``,
  );
  if (m.simdPeak) {
    const p = m.simdPeak;
    lines.push(
      '',
      `wasm SIMD peak (f32x4 mul+add loop, \`pipeline/bench/simd-peak.ts\`): ${p.gflopsOneThread.toFixed(1)} GFLOP/s on 1 thread, ` +
        `${p.gflopsAllThreads.toFixed(1)} on ${p.threads}${p.relaxedMaddGflopsOneThread !== null ? `; relaxed_madd ${p.relaxedMaddGflopsOneThread.toFixed(1)} on 1 thread` : ''}. ` +
        'Useful GFLOP/s = conv + dense FLOPs of the step (forward + backward, as a direct method counts them) / median step time.',
    );
  }
  const perRound = r.results.flatMap((row) => {
    const f = (s: typeof row.tfjs | undefined) => (s?.available ? s.roundImgPerSec.map((x) => x.toFixed(0)).join(' ') : '–');
    return [`- ${row.model} ${row.loss}: tfjs ${f(row.tfjs)}; PyTorch channels_last ${f(row.torch)}; NCHW ${f(row.torchNchw)}`];
  });
  lines.push('', 'Per-round img/s:', '', ...perRound);
  const warnings = r.results.flatMap((row) => (row.warnings ?? []).map((w) => `- ${row.model} ${row.loss}: ${w}`));
  if (warnings.length) lines.push('', 'Unsteady rounds (> 15% apart):', '', ...warnings);
  return lines.join('\n');
}

/** Replaces the text between the markers (appends a marked section when the file has none). */
export function replaceGenerated(doc: string, generated: string): string {
  const block = `${DOC_BEGIN}\n\n${generated}\n\n${DOC_END}`;
  const a = doc.indexOf(DOC_BEGIN);
  const b = doc.indexOf(DOC_END);
  if (a >= 0 && b > a) return doc.slice(0, a) + block + doc.slice(b + DOC_END.length);
  if (a >= 0 || b >= 0) throw new Error('the bench-train markers are incomplete or out of order');
  return `${doc.trimEnd()}\n\n${block}\n`;
}

export function writeTrainingSpeedDoc(path: string, r: BenchTrainReport): void {
  let doc: string;
  try {
    doc = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--doc ${path}: ${(e as Error).message}`);
  }
  writeFileAtomic(path, replaceGenerated(doc, formatTrainDoc(r)));
}
