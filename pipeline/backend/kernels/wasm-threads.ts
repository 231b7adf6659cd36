// Multi-threaded tfjs-backend-wasm (XNNPACK's pthreadpool) in Node.
//
// tfjs 4.22 turns threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE,
// tensorflow/tfjs#3830). Three things stand in the way, each worked around here before the backend starts:
//  1. The threaded module hands its pthread workers Blob URLs (the worker script, and the module's own
//     source as `mainScriptUrlOrBlob`); Node's worker_threads cannot load those. Blob construction and
//     URL.createObjectURL are shimmed to write the worker script to a temp file, and the workers import the
//     threaded module from its file in the package (the stringified copy in the bundle refers to rollup's
//     `require$$N` helpers, which a worker does not have).
//  2. The C++ side caps the pool at emscripten_num_logical_cores()/2, read once at start-up from
//     os.cpus().length: 1 thread on a 2-core machine. os.cpus is widened while the module starts so the
//     cap is the requested count.
//  3. The feature flag itself.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const requireFromHere = createRequire(import.meta.url);

/**
 * XNNPACK's pool threads live for the whole process and emscripten keeps their workers ref'd, so Node would
 * never exit on its own; unref them once the backend has started (they still run while the process does).
 */
export function unrefWasmWorkers(): number {
  const pt = (tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] } } }).wasm?.PThread;
  if (!pt) return 0;
  const all = [...pt.runningWorkers, ...pt.unusedWorkers];
  for (const w of all) w.unref();
  return all.length;
}

/** Installs the shims; returns a function that restores os.cpus once the backend has started. */
export function prepareWasmThreads(threads: number): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'ecl-wasm-threads-'));
  const threadedJs = join(dirname(requireFromHere.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const RealBlob = globalThis.Blob;
  class TextBlob extends RealBlob {
    readonly text_: string;
    constructor(parts: BlobPart[], opts?: BlobPropertyBag) {
      super(parts, opts);
      this.text_ = parts.map(String).join('');
    }
  }
  globalThis.Blob = TextBlob as unknown as typeof Blob;
  const realCreate = URL.createObjectURL.bind(URL);
  let n = 0;
  URL.createObjectURL = (obj: Blob | MediaSource) => {
    if (!(obj instanceof TextBlob)) return realCreate(obj as Blob);
    const path = join(dir, `blob${n++}.js`);
    // Inside the worker, the module arrives as a Blob too; point it at the package's file instead.
    const text = obj.text_.includes('importScripts') ? `URL.createObjectURL=()=>${JSON.stringify(threadedJs)};${obj.text_}` : obj.text_;
    writeFileSync(path, text);
    return path;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  const realCpus = os.cpus;
  const cpus = realCpus();
  const widened = Array.from({ length: Math.max(cpus.length, 2 * threads) }, (_, i) => cpus[i % cpus.length]!);
  (os as { cpus: typeof os.cpus }).cpus = () => widened;
  return () => {
    (os as { cpus: typeof os.cpus }).cpus = realCpus;
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreate;
  };
}
