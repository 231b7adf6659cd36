// --save-outputs / --load-outputs (Polygraphy's practice): every runtime's outputs with what identifies them
// (the model's sha256, the dataset positions or the image files' sha256), so that outputs from another machine
// come back as extra rows compared with this machine's reference. Loaded files are checked field by field
// and bounded in size; a file for another model or other inputs is refused with the reason.
import { hostname } from 'node:os';
import { readFileSync, statSync } from 'node:fs';
import type { RuntimeClass } from '../../serve/shared/ep-policy.js';
import { UsageError } from '../cli/errors.js';

export const SAVED_FORMAT = 'ecl-parity-outputs';
export const SAVED_VERSION = 1;
/** Largest outputs file read (JSON with base64 float32). */
export const MAX_SAVED_BYTES = 256 * 1024 * 1024;

export type InputsId = { kind: 'dataset'; name: string; split: 'test'; positions: number[] } | { kind: 'images'; files: { name: string; sha256: string }[] };

export interface SavedRow {
  runtime: string;
  label: string;
  class: RuntimeClass;
  ranOn: string;
  /** Indices into the inputs' list that the row ran on (null: all of them). */
  rows: number[] | null;
  /** base64 little-endian float32 [rows, C]; logits null for probability-only runtimes. */
  logits: string | null;
  probs: string;
  inferenceMs: number;
}

export interface SavedOutputs {
  format: typeof SAVED_FORMAT;
  version: typeof SAVED_VERSION;
  model: { sha256: string };
  inputs: InputsId;
  numClasses: number;
  reference: SavedRow;
  rows: SavedRow[];
  machine: { hostname: string; platform: string; arch: string; node: string };
  createdAt: string;
}

export const f32ToB64 = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function b64ToF32(b64: string, expect: number, what: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== expect * 4) throw new UsageError(`${what}: ${buf.length} bytes, expected ${expect} float32 values`);
  const out = new Float32Array(expect);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function savedOutputs(args: Omit<SavedOutputs, 'format' | 'version' | 'machine' | 'createdAt'>): SavedOutputs {
  return {
    format: SAVED_FORMAT,
    version: SAVED_VERSION,
    ...args,
    machine: { hostname: hostname(), platform: process.platform, arch: process.arch, node: process.version },
    createdAt: new Date().toISOString(),
  };
}

export interface LoadedRow {
  runtime: string;
  label: string;
  class: RuntimeClass;
  ranOn: string;
  /** Indices into the CURRENT inputs' list, and the outputs on them (row-major). */
  index: number[];
  logits?: Float32Array;
  probs: Float32Array;
  inferenceMs: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a saved outputs file and maps its rows onto the current inputs (the ones both runs share). Throws
 * UsageError naming the problem: wrong format, another model, no shared inputs, inconsistent arrays.
 */
export function loadSavedOutputs(path: string, current: { modelSha256: string; inputs: InputsId; numClasses: number }): { source: string; rows: LoadedRow[]; shared: number } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`--load-outputs ${path}: no such file`);
  }
  if (size > MAX_SAVED_BYTES) throw new UsageError(`--load-outputs ${path}: ${size} bytes, more than the ${MAX_SAVED_BYTES}-byte limit`);
  let d: unknown;
  try {
    d = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--load-outputs ${path}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const bad = (why: string) => new UsageError(`--load-outputs ${path}: ${why}`);
  if (!isObj(d) || d.format !== SAVED_FORMAT || d.version !== SAVED_VERSION) throw bad(`not an ${SAVED_FORMAT} v${SAVED_VERSION} file (write one with ecl parity --save-outputs)`);
  const s = d as unknown as SavedOutputs;
  if (!isObj(s.model) || s.model.sha256 !== current.modelSha256)
    throw bad(`saved for model sha256 ${String(isObj(s.model) ? s.model.sha256 : '?').slice(0, 12)}…, this model is ${current.modelSha256.slice(0, 12)}…`);
  if (s.numClasses !== current.numClasses) throw bad(`${String(s.numClasses)} classes, the model has ${current.numClasses}`);
  if (!isObj(s.inputs) || s.inputs.kind !== current.inputs.kind) throw bad(`saved for ${isObj(s.inputs) ? String(s.inputs.kind) : '?'} inputs, this run uses ${current.inputs.kind} inputs`);
  // Saved input i -> current input index (or undefined when this run does not have it).
  let map: (i: number) => number | undefined;
  let savedCount: number;
  if (s.inputs.kind === 'dataset' && current.inputs.kind === 'dataset') {
    if (s.inputs.name !== current.inputs.name) throw bad(`saved on dataset ${s.inputs.name}, this run uses ${current.inputs.name}`);
    if (!Array.isArray(s.inputs.positions) || !s.inputs.positions.every((p) => Number.isInteger(p) && p >= 0)) throw bad('inputs.positions is not a list of indices');
    const at = new Map(current.inputs.positions.map((p, i) => [p, i]));
    const pos = s.inputs.positions;
    savedCount = pos.length;
    map = (i) => at.get(pos[i]!);
  } else if (s.inputs.kind === 'images' && current.inputs.kind === 'images') {
    if (!Array.isArray(s.inputs.files) || !s.inputs.files.every((f) => isObj(f) && typeof f.sha256 === 'string')) throw bad('inputs.files is not a list of {name, sha256}');
    const at = new Map(current.inputs.files.map((f, i) => [f.sha256, i]));
    const files = s.inputs.files;
    savedCount = files.length;
    map = (i) => at.get(files[i]!.sha256);
  } else throw bad('inconsistent inputs');
  const C = current.numClasses;
  const rows: LoadedRow[] = [];
  let shared = 0;
  for (const [k, r] of [s.reference, ...(Array.isArray(s.rows) ? s.rows : [])].entries()) {
    if (!isObj(r) || typeof r.runtime !== 'string' || typeof r.probs !== 'string') throw bad(`row ${k} is malformed`);
    const own = r.rows === null ? Array.from({ length: savedCount }, (_, i) => i) : r.rows;
    if (!Array.isArray(own) || !own.every((i) => Number.isInteger(i) && i >= 0 && i < savedCount)) throw bad(`row ${r.runtime}: rows are not indices into its ${savedCount} inputs`);
    const probs = b64ToF32(r.probs, own.length * C, `${path} row ${r.runtime} probs`);
    const logits = r.logits === null ? undefined : b64ToF32(String(r.logits), own.length * C, `${path} row ${r.runtime} logits`);
    const keep = own.map((i, j) => [map(i), j] as const).filter((x): x is readonly [number, number] => x[0] !== undefined);
    shared = Math.max(shared, keep.length);
    const pick = (a: Float32Array) => {
      const o = new Float32Array(keep.length * C);
      keep.forEach(([, j], t) => o.set(a.subarray(j * C, (j + 1) * C), t * C));
      return o;
    };
    rows.push({
      runtime: r.runtime,
      label: String(r.label ?? r.runtime),
      class: r.class === 'gpu' ? 'gpu' : 'cpu',
      ranOn: String(r.ranOn ?? ''),
      index: keep.map(([c]) => c),
      ...(logits ? { logits: pick(logits) } : {}),
      probs: pick(probs),
      inferenceMs: Number(r.inferenceMs) || 0,
    });
  }
  if (shared === 0) throw bad('none of its inputs is among this run\'s inputs (other dataset positions or image files)');
  const m: Record<string, unknown> = isObj(s.machine) ? s.machine : {};
  return { source: `${String(m.hostname ?? 'unknown')} ${String(s.createdAt ?? '')}`.trim(), rows, shared };
}
