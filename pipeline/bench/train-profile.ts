// Per-kernel profile of one training step on the wasm backend (`ecl bench-train --profile`, `make
// profile-train`): for each case, the trainer's own step (one-step.ts) under tf.profile after a warm-up step;
// ms and calls per kernel name, written as JSON and printed as a markdown table, so kernel work can show its
// before/after on the same cases.
import { cpus, loadavg } from 'node:os';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import type { ModelFamily } from '../../models/spec.js';
import { type KernelTime, oneStepInputs, profileOneStep } from './one-step.js';
import type { BenchLoss } from './train-report.js';

export interface ProfileCase {
  model: ModelFamily;
  loss: BenchLoss;
}

export interface ProfileRow extends ProfileCase {
  batch: number;
  backend: string;
  backendDetail: string;
  /** Wall time of the profiled step (profiling adds a little). */
  stepMs: number;
  /** Sum over kernels (nested kernels count in their callers too, so this can exceed stepMs). */
  kernelMs: number;
  kernels: KernelTime[];
}

export interface ProfileReport {
  generatedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; loadavgBefore: number[]; loadavgAfter: number[] };
  results: ProfileRow[];
}

/** Markdown: one column per case, one row per kernel (the top `top` kernels of any case), ms per step. */
export function formatProfileTable(r: ProfileReport, top = 15): string {
  const cases = r.results;
  const names = new Set<string>();
  for (const c of cases) for (const k of c.kernels.slice(0, top)) names.add(k.name);
  const byName = (c: ProfileRow, n: string) => c.kernels.find((k) => k.name === n);
  const order = [...names].sort((a, b) => cases.reduce((s, c) => s + (byName(c, b)?.ms ?? 0), 0) - cases.reduce((s, c) => s + (byName(c, a)?.ms ?? 0), 0));
  const head = ['kernel', ...cases.map((c) => `${c.model} ${c.loss} (ms, calls)`)];
  const lines = [`| ${head.join(' | ')} |`, `|---|${cases.map(() => '---:').join('|')}|`];
  for (const n of order) lines.push(`| ${n} | ${cases.map((c) => (byName(c, n) ? `${byName(c, n)!.ms.toFixed(1)} (${byName(c, n)!.calls})` : '–')).join(' | ')} |`);
  lines.push(`| **all kernels** | ${cases.map((c) => c.kernelMs.toFixed(0)).join(' | ')} |`);
  lines.push(`| **step wall ms** | ${cases.map((c) => c.stepMs.toFixed(0)).join(' | ')} |`);
  return lines.join('\n');
}

export async function profileTrain(o: { cases: ProfileCase[]; batch: number; out: string; log: (l: string) => void }): Promise<ProfileReport> {
  const { selectBackend } = await import('../backend/select.js');
  const { backendDetail } = await import('./trainer-run.js');
  const choice = await selectBackend('wasm');
  const la = () => loadavg().map((x) => Number(x.toFixed(2)));
  const before = la();
  const results: ProfileRow[] = [];
  for (const c of o.cases) {
    o.log(`profile: ${c.model} ${c.loss} batch ${o.batch} (1 warm-up step, 1 profiled)`);
    const p = await profileOneStep(oneStepInputs({ model: c.model, loss: c.loss, batch: o.batch }), 1);
    results.push({ ...c, batch: o.batch, backend: choice.name, backendDetail: backendDetail(choice.details), stepMs: Number(p.stepMs.toFixed(1)), kernelMs: Number(p.kernelMs.toFixed(1)), kernels: p.kernels });
  }
  const report: ProfileReport = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version, loadavgBefore: before, loadavgAfter: la() },
    results,
  };
  writeFileAtomic(o.out, JSON.stringify(report, null, 2) + '\n');
  const table = formatProfileTable(report);
  writeFileAtomic(o.out.replace(/\.json$/, '') + '.md', `${table}\n`);
  o.log('');
  o.log(table);
  o.log(`wrote ${o.out} and its .md table`);
  return report;
}
