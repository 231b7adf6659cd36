// The last step of scripts/gpu-check.sh: one line per stage from what the stages left in OUT (stages/<name>.status,
// the result JSON files, logs/<name>.log): its numbers, "skipped: <why>" or "failed: exit N, last log line".
// Writes OUT/summary.md and OUT/summary.json; exits 1 when a stage failed.
// Usage: node dist/scripts/gpu-check-summary.js OUT --stages "a b c"
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';

export type StageState = 'result' | 'skipped' | 'failed' | 'not-selected';
export interface StageLine {
  name: string;
  state: StageState;
  line: string;
  exit?: number;
  seconds?: number;
  /** The stage ran on the CPU instead (dry run without a GPU). */
  dryRun?: boolean;
}

type Json = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const f0 = (v: unknown) => (Number.isFinite(num(v)) ? num(v).toFixed(0) : '?');
const f2 = (v: unknown) => (Number.isFinite(num(v)) ? num(v).toFixed(2) : '?');
/** img/s: whole numbers, one decimal below 10 (a dry run on SwiftShader). */
const ips = (v: unknown) => (Number.isFinite(num(v)) ? num(v).toFixed(num(v) < 10 ? 1 : 0) : '?');
const e1 = (v: unknown) => (Number.isFinite(num(v)) ? num(v).toExponential(1) : '?');

function readJson(path: string): Json | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return null;
  }
}

function readStatus(path: string): Record<string, string> | null {
  if (!existsSync(path)) return null;
  const kv: Record<string, string> = {};
  for (const l of readFileSync(path, 'utf8').split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) kv[l.slice(0, i)] = l.slice(i + 1);
  }
  return kv;
}

function logLines(out: string, name: string): string[] {
  const p = join(out, 'logs', `${name}.log`);
  return existsSync(p)
    ? readFileSync(p, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
}

interface ServeLevel {
  concurrency: number;
  reqPerSec: number;
  latencyP99Ms: number;
  meanBatch: number;
  ceilingImgPerSec: number;
  ratio: number;
  non2xx: number;
  errors: number;
}

/** bench-serve's report holds one result per payload (gpu-check asks for the binary one); older files were one result. */
const serveResult = (j: Json): Json => ((j.results as Json[] | undefined)?.[0] ?? j);

function serveLine(report: Json): string {
  const j = serveResult(report);
  const levels = (j.levels as ServeLevel[]) ?? [];
  const cells = levels.map(
    (l) => `c=${l.concurrency}: ${f0(l.reqPerSec)} req/s vs session.run ${f0(l.ceilingImgPerSec)} img/s = ${f2(l.ratio)}× (p99 ${f0(l.latencyP99Ms)} ms, batch ${l.meanBatch.toFixed(1)})`,
  );
  const c64 = levels.find((l) => l.concurrency === 64);
  const bad = levels.reduce((s, l) => s + l.non2xx + l.errors, 0);
  return `ep ${String(j.ep)}, ${String(j.payload)} payload, max-batch ${String(j.maxBatch)}; ${cells.join('; ')}${c64 ? `; at c=64 ${f2(c64.ratio)}× of session.run (target ≥ 0.85)` : ''}${bad ? `; ${bad} non-2xx/errors` : ''}`;
}

interface TorchLevel {
  batch: number;
  hostImgPerSec: number;
  deviceImgPerSec: number;
}

function torchLine(j: Json, serveReport: Json | null): string {
  const serve = serveReport && serveResult(serveReport);
  const check = j.check as { maxAbsDiff: number; maxAbsRef: number; argmaxAgree: number; images: number; reference: string } | undefined;
  const levels = (j.levels as TorchLevel[]) ?? [];
  const ort = new Map(((serve?.levels as ServeLevel[]) ?? []).map((l) => [l.concurrency, l.ceilingImgPerSec]));
  const tf32 = j.tf32 as { matmul: boolean; cudnn: boolean } | null;
  const parts = [
    `torch ${String(j.torch)} on ${String(j.device)}${tf32 ? ` (TF32 matmul ${tf32.matmul ? 'on' : 'off'}, cuDNN ${tf32.cudnn ? 'on' : 'off'})` : ''}, built from the ONNX graph`,
    check ? `logits vs ${check.reference} max|Δ| ${e1(check.maxAbsDiff)} (max|logit| ${f2(check.maxAbsRef)}, argmax agree ${(check.argmaxAgree * 100).toFixed(0)}%, ${check.images} images)` : 'no logits check',
    ...levels.map((l) => {
      const o = ort.get(l.batch);
      const vs = o !== undefined ? `; onnxruntime-node ${String(serve?.ep)} session.run ${f0(o)} img/s = ${f2(o / l.hostImgPerSec)}× torch` : '';
      return `batch ${l.batch}: ${ips(l.hostImgPerSec)} img/s host→host (${ips(l.deviceImgPerSec)} on device)${vs}`;
    }),
  ];
  return parts.join('; ') + (ort.size ? ' (target ≥ 1.0× at batch 64 and 256)' : '');
}

interface ParityResult {
  runtime: string;
  status: string;
  reason?: string;
  ranOn?: string;
  samples?: number;
  comparison?: { logits?: { maxAbs: number }; probs?: { maxAbs: number }; top1Agreement?: number };
  failures?: string[];
}

function parityLine(j: Json): string {
  const ref = j.reference as { runtime: string; backend: string; accuracy: number } | undefined;
  const ds = j.dataset as { name: string; samples: number; size: number } | undefined;
  const rows = ((j.results as ParityResult[]) ?? []).map((r) => {
    if (r.status === 'unavailable' || r.status === 'error') return `${r.runtime} ${r.status} (${r.reason ?? '?'})`;
    const c = r.comparison;
    return `${r.runtime} ${r.status.toUpperCase()} on ${r.samples ?? '?'} images, max|Δ| logits ${e1(c?.logits?.maxAbs)} probs ${e1(c?.probs?.maxAbs)}, top-1 agree ${f2(c?.top1Agreement)} [${r.ranOn ?? '?'}]`;
  });
  return `${j.passed ? 'PASS' : 'FAIL'} vs ${ref?.runtime ?? '?'} ${ref?.backend ?? ''} (accuracy ${f2(ref?.accuracy)}) on ${ds ? `${ds.name} test ${ds.samples}/${ds.size}` : '?'}: ${rows.join('; ')}`;
}

interface TrainSide {
  available: boolean;
  imgPerSec?: number;
  reason?: string;
}
interface TrainRow {
  model: string;
  batch: number;
  loss: string;
  backend: string;
  backendDetail?: string;
  torchDevice?: string;
  tfjs: TrainSide;
  torch: TrainSide;
  ratio?: number;
}

function trainLine(j: Json): string {
  const rows = (j.results as TrainRow[]) ?? [];
  const where = rows[0]?.backendDetail ? ` [webgpu adapter: ${rows[0].backendDetail}]` : '';
  const target = (r: TrainRow) => (r.model === 'cnn28' ? 0.35 : 0.5);
  return rows
    .map((r) => {
      const tf = r.tfjs.available ? `${ips(r.tfjs.imgPerSec)} img/s` : `unavailable (${r.tfjs.reason ?? '?'})`;
      const pt = r.torch.available ? `${ips(r.torch.imgPerSec)} img/s on ${r.torchDevice ?? '?'}` : `unavailable (${r.torch.reason ?? '?'})`;
      const ratio = Number.isFinite(num(r.ratio)) ? ` = ${f2(r.ratio)}× (target ≥ ${target(r)}× on CUDA)` : '';
      return `${r.model} b${r.batch} ${r.loss}: tfjs ${r.backend} ${tf} vs torch ${pt}${ratio}`;
    })
    .join('; ') + where;
}

function numericsLine(j: Json): string {
  const o = j.options as { model: string; loss?: string; backends: string[]; steps: number; tol: number; data: string } | undefined;
  const ran = (j.ran as { backend: string; detail: string }[] | undefined)?.map((r) => `${r.backend}: ${r.detail.split(',')[0]}`).join('; ');
  return `${j.pass ? 'pass' : 'FAIL'}: ${o?.model ?? '?'} ${o?.loss ?? 'la-ce'} ${o?.data ?? ''} ${o?.steps ?? '?'} steps, ${o?.backends?.join(' vs ') ?? '?'}, max rel loss diff ${e1(j.maxRelDiff)} (tol ${o?.tol ?? '?'}) [${ran ?? '?'}]`;
}

/** The stage's numbers from its result files (or its log, for the step benchmarks), or null when missing. */
function resultOf(out: string, name: string, files: string[]): string | null {
  const j = files.length ? readJson(join(out, files[0]!)) : null;
  if (files.length && !j) return null;
  if (name.startsWith('serve-')) return serveLine(j!);
  if (name.startsWith('torch-infer-')) return torchLine(j!, readJson(join(out, `serve-${name.slice('torch-infer-'.length)}.json`)));
  if (name.startsWith('parity')) return parityLine(j!);
  if (name.startsWith('bench-')) return trainLine(j!);
  if (name.startsWith('numerics-')) return numericsLine(j!);
  // profile / baseline-stock: bench-wasm-step prints its median step and, with --profile, the top kernels.
  const lines = logLines(out, name);
  const median = lines.find((l) => l.startsWith('median:'));
  if (!median) return null;
  const backend = lines.find((l) => l.startsWith('backend '));
  const prof = lines.findIndex((l) => l.startsWith('profile'));
  return [...(backend ? [backend.split(';')[0]!] : []), median, ...(prof >= 0 ? lines.slice(prof, prof + 4) : [])].join(' | ');
}

export function stageLine(out: string, name: string, selected: Set<string>): StageLine {
  if (!selected.has(name)) return { name, state: 'not-selected', line: 'not run: not selected (GPU_CHECK_STAGES / arguments)' };
  const st = readStatus(join(out, 'stages', `${name}.status`));
  if (!st) return { name, state: 'failed', line: 'failed: no status written (the script stopped before this stage)' };
  if (st.state === 'skipped') return { name, state: 'skipped', line: `skipped: ${st.reason ?? '?'}` };
  const exit = Number(st.exit);
  const seconds = Number(st.seconds);
  const files = (st.results ?? '').split(/\s+/).filter(Boolean);
  const dry = st.dry;
  const base = { name, exit, seconds, ...(dry ? { dryRun: true } : {}) };
  const lines = logLines(out, name);
  const last = lines.length ? lines[lines.length - 1]! : '(no output)';
  if (exit !== 0) {
    const why = exit === 124 || exit === 137 ? `exit ${exit}: time limit ${st.limit ?? '?'} s` : `exit ${exit}`;
    const partial = resultOf(out, name, files);
    return { ...base, state: 'failed', line: `failed${dry ? ` (dry run on the CPU; ${dry.replace(/; dry run.*$/, '')})` : ''}: ${why} after ${seconds} s; last log line: ${last}${partial ? ` | ${partial}` : ''}` };
  }
  const res = resultOf(out, name, files);
  if (!res) return { ...base, state: 'failed', line: `failed: exit 0 but no result (${files.length ? `${files.join(', ')} missing or unreadable` : 'no median line in the log'}); last log line: ${last}` };
  if (dry) return { ...base, state: 'skipped', line: `skipped: ${dry}: ${res}` };
  return { ...base, state: 'result', line: `${res} (${seconds} s)` };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { stages: { type: 'string' } } });
  const out = positionals[0];
  if (!out || !values.stages) throw new Error('usage: gpu-check-summary OUT --stages "a b c"');
  const all = values.stages.split(/\s+/).filter(Boolean);
  const selFile = join(out, 'stages', 'selected');
  const selected = new Set(existsSync(selFile) ? readFileSync(selFile, 'utf8').split(/\s+/).filter(Boolean) : all);
  const probe = readJson(join(out, 'probe.json')) ?? {};
  const lines = all.map((n) => stageLine(out, n, selected));
  const probeLines = Object.entries(probe)
    .filter(([, v]) => typeof v === 'object' && v !== null)
    .map(([k, v]) => {
      const p = v as { ok: boolean; detail: string; software?: boolean };
      return `${k}: ${p.ok ? 'yes' : 'no'} (${p.detail}${p.software ? ', software adapter' : ''})`;
    });
  const md = [
    `# gpu-check summary (${new Date().toISOString()})`,
    '',
    `What this machine has: ${probeLines.length ? probeLines.join('; ') : 'not probed'}`,
    '',
    ...lines.map((l) => `- **${l.name}**: ${l.line}`),
    '',
  ].join('\n');
  writeFileAtomic(join(out, 'summary.md'), md);
  writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), probe, stages: lines }, null, 2)}\n`);
  process.stdout.write(md);
  if (lines.some((l) => l.state === 'failed')) process.exitCode = 1;
}

try {
  main();
} catch (e) {
  process.stderr.write(`gpu-check-summary: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
