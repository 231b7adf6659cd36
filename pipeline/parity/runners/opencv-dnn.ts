// OpenCV DNN: a second ONNX implementation that shares no code with onnxruntime (its own importer, graph and
// kernels), run through Debian's python3-opencv (/usr/bin/python3, as export/validate.ts runs the ONNX
// checker). The images go to the child as a raw uint8 file and the outputs come back as raw float32 files:
// nothing is parsed from its stdout but one JSON status line.
import { type ExecFileException, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTPUT_LOGITS, OUTPUT_PROBS } from '../../../models/onnx-contract.js';
import { softmaxRows } from '../metrics.js';
import type { RunnerOutput, Samples, Unavailable } from './types.js';

export const DEFAULT_OPENCV_PYTHON = '/usr/bin/python3';

export interface OpenCvRunOptions {
  /** [H, W, C] of one image. */
  shape: [number, number, number];
  numClasses: number;
  batchSize: number;
  /** Interpreter with cv2 (default /usr/bin/python3). */
  python?: string;
  timeoutMs?: number;
}

// argv: model, pixels file, N, H, W, C, batch, out dir. Prints one JSON line.
const SCRIPT = String.raw`
import sys, json, time
try:
    import cv2, numpy as np
except Exception as e:
    print(json.dumps({"unavailable": "cannot import cv2/numpy (%s: %s); install Debian's python3-opencv" % (type(e).__name__, e)})); sys.exit(0)
model, pix, n, h, w, c, bs, out = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8]), sys.argv[8]
try:
    net = cv2.dnn.readNetFromONNX(model)
except Exception as e:
    print(json.dumps({"error": "OpenCV %s cannot import the model: %s" % (cv2.__version__, " ".join(str(e).split())[-600:])})); sys.exit(0)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
x = np.fromfile(pix, dtype=np.uint8).reshape(n, h, w, c)
names = list(net.getUnconnectedOutLayersNames())
want = [o for o in ("${OUTPUT_LOGITS}", "${OUTPUT_PROBS}") if o in names]
if "${OUTPUT_LOGITS}" not in want:
    print(json.dumps({"error": "OpenCV sees outputs %s, no '${OUTPUT_LOGITS}'" % names})); sys.exit(0)
res = {o: [] for o in want}
ms = 0.0
try:
    for s in range(0, n, bs):
        net.setInput(x[s:s + bs])
        t0 = time.perf_counter()
        outs = net.forward(want)
        ms += (time.perf_counter() - t0) * 1000
        for o, v in zip(want, outs): res[o].append(np.asarray(v, dtype=np.float32).reshape(min(bs, n - s), -1))
except Exception as e:
    print(json.dumps({"error": "OpenCV %s forward failed: %s" % (cv2.__version__, " ".join(str(e).split())[-600:])})); sys.exit(0)
for o in want: np.concatenate(res[o]).astype("<f4").tofile("%s/%s.f32" % (out, o))
print(json.dumps({"ok": True, "ms": ms, "version": cv2.__version__, "outputs": want}))
`;

function f32File(path: string, expect: number): Float32Array {
  const size = statSync(path).size;
  if (size !== expect * 4) throw new Error(`OpenCV wrote ${size} bytes to ${path}, expected ${expect * 4}`);
  const b = readFileSync(path);
  const out = new Float32Array(expect);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export async function runOpenCvDnn(modelPath: string, s: Samples, opts: OpenCvRunOptions): Promise<RunnerOutput | Unavailable> {
  const python = opts.python ?? DEFAULT_OPENCV_PYTHON;
  const [H, W, C] = opts.shape;
  const K = opts.numClasses;
  const dir = mkdtempSync(join(tmpdir(), 'ecl-opencv-'));
  try {
    const pix = join(dir, 'pixels.u8');
    writeFileSync(pix, s.images.subarray(0, s.count * H * W * C));
    const args = ['-c', SCRIPT, modelPath, pix, String(s.count), String(H), String(W), String(C), String(Math.max(1, opts.batchSize)), dir];
    const r = await new Promise<{ err: ExecFileException | null; stdout: string; stderr: string }>((resolve) =>
      execFile(python, args, { timeout: opts.timeoutMs ?? 600_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => resolve({ err, stdout: String(stdout), stderr: String(stderr) })),
    );
    if (r.err?.code === 'ENOENT') return { unavailable: `${python} not found (OpenCV DNN runs through Debian's python3-opencv)` };
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let status: { ok?: boolean; unavailable?: string; error?: string; ms?: number; version?: string; outputs?: string[] };
    try {
      status = JSON.parse(line) as typeof status;
    } catch {
      const why = (r.stderr.trim() || r.stdout.trim() || String(r.err?.message ?? '')).split('\n').slice(-3).join(' ');
      throw new Error(`OpenCV DNN child failed${r.err?.killed ? ' (timed out)' : ''}: ${why.slice(0, 600)}`);
    }
    if (status.unavailable) return { unavailable: status.unavailable };
    if (status.error) throw new Error(status.error);
    const logits = f32File(join(dir, `${OUTPUT_LOGITS}.f32`), s.count * K);
    const probs = status.outputs?.includes(OUTPUT_PROBS) ? f32File(join(dir, `${OUTPUT_PROBS}.f32`), s.count * K) : softmaxRows(logits, s.count, K);
    return { out: { logits, probs }, ms: status.ms ?? 0, ranOn: `OpenCV ${status.version} DNN (backend OpenCV, target CPU)` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
