// Post-export validation: the reference ONNX checker (python onnx, full_check, when available) and an
// onnxruntime-node CPU session that loads the file and runs a dummy batch, checking every output's shape.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { DataType, decodeModel, type Dim, valueInfoShape } from './onnx-builder.js';
import { settings } from '../models/settings.js';

export type CheckerResult = 'passed' | `skipped: ${string}`;

export interface ValidationResult {
  checker: CheckerResult;
  ortCpu: 'passed';
}

export interface ValidateOptions {
  /** Interpreter with the `onnx` package (default $ECL_ONNX_PYTHON or /usr/bin/python3). */
  python?: string;
  /** Dummy batch size for the onnxruntime run (default 2). */
  batch?: number;
}

export const DEFAULT_CHECKER_PYTHON = '/usr/bin/python3';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? (err as { signal?: string }).signal ?? 1) : 0;
      resolve({ code: code as number | string | null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const probes = new Map<string, Promise<string | null>>();

/** Null when `python` can import onnx, else the reason it cannot (cached per interpreter). */
export function onnxPythonUnavailable(python: string): Promise<string | null> {
  let p = probes.get(python);
  if (!p) {
    p = run(python, ['-c', 'import onnx; print(onnx.__version__)'], 60_000).then((r) => {
      if (r.code === 0) return null;
      if (r.code === 'ENOENT') return `${python} not found`;
      const last = r.stderr.trim().split('\n').pop() ?? '';
      return `${python} cannot import onnx (${last || `exit ${String(r.code)}`})`;
    });
    probes.set(python, p);
  }
  return p;
}

const CHECK_SCRIPT = [
  'import sys, onnx',
  'm = onnx.load(sys.argv[1])',
  'onnx.checker.check_model(m, full_check=True)',
  'print("ok ir=%d opset=%d onnx=%s" % (m.ir_version, m.opset_import[0].version, onnx.__version__))',
].join('\n');

/** onnx.checker.check_model(onnx.load(path), full_check=True) through `python`, or the reason it was skipped. */
export async function runOnnxChecker(path: string, python = settings.onnxPython() ?? DEFAULT_CHECKER_PYTHON): Promise<CheckerResult> {
  const why = await onnxPythonUnavailable(python);
  if (why) return `skipped: ${why}`;
  const r = await run(python, ['-c', CHECK_SCRIPT, path], 300_000);
  if (r.code !== 0 || !r.stdout.startsWith('ok')) {
    const msg = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-6).join('\n');
    throw new Error(`onnx.checker rejected ${path}:\n${msg}`);
  }
  return 'passed';
}

function elemTypeName(t: number | null | undefined): 'uint8' | 'float32' {
  if (t === DataType.UINT8) return 'uint8';
  if (t === DataType.FLOAT) return 'float32';
  throw new Error(`unsupported element type ${String(t)} in graph inputs/outputs`);
}

/** Loads `path` in onnxruntime-node (CPU), runs a dummy batch and checks every declared output's shape. */
export async function runOrtCpuSmoke(path: string, batch = 2): Promise<void> {
  const model = decodeModel(readFileSync(path));
  const graph = model.graph;
  if (!graph) throw new Error(`${path}: no graph`);
  const resolve = (s: Dim[]) => s.map((d) => (typeof d === 'number' ? d : batch));
  const feeds: Record<string, ort.Tensor> = {};
  const initNames = new Set((graph.initializer ?? []).map((i) => i.name));
  for (const vi of graph.input ?? []) {
    if (initNames.has(vi.name)) continue;
    const dims = resolve(valueInfoShape(vi));
    const n = dims.reduce((a, b) => a * b, 1);
    const type = elemTypeName(vi.type?.tensorType?.elemType);
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const data = type === 'uint8' ? Uint8Array.from({ length: n }, next) : Float32Array.from({ length: n }, () => next() / 255);
    feeds[vi.name!] = new ort.Tensor(type, data, dims);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (e) {
    throw new Error(`onnxruntime-node (CPU) cannot load ${path}: ${(e as Error).message}`);
  }
  try {
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new Error(`onnxruntime-node (CPU) failed to run ${path} on a dummy batch of ${batch}: ${(e as Error).message}`);
    }
    for (const vi of graph.output ?? []) {
      const want = resolve(valueInfoShape(vi));
      const t = out[vi.name!] as ort.Tensor | undefined;
      if (!t) throw new Error(`onnxruntime-node (CPU): output '${vi.name}' missing from the run of ${path}`);
      if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i]))
        throw new Error(`onnxruntime-node (CPU): output '${vi.name}' has shape [${t.dims.join(', ')}], expected [${want.join(', ')}]`);
      const data = t.data as Float32Array;
      for (let i = 0; i < data.length; i++)
        if (!Number.isFinite(data[i]!)) throw new Error(`onnxruntime-node (CPU): output '${vi.name}' has a non-finite value at ${i}`);
      if (vi.name === 'probs') {
        const k = want[want.length - 1]!;
        for (let r = 0; r * k < data.length; r++) {
          let sum = 0;
          for (let j = 0; j < k; j++) sum += data[r * k + j]!;
          if (Math.abs(sum - 1) > 1e-3) throw new Error(`onnxruntime-node (CPU): 'probs' row ${r} sums to ${sum}, not 1`);
        }
      }
    }
  } finally {
    await session.release();
  }
}

/** Checker (python onnx, full_check) then onnxruntime-node CPU load + dummy batch. Throws on failure. */
export async function validateOnnx(path: string, opts: ValidateOptions = {}): Promise<ValidationResult> {
  const checker = await runOnnxChecker(path, opts.python);
  await runOrtCpuSmoke(path, opts.batch ?? 2);
  return { checker, ortCpu: 'passed' };
}
