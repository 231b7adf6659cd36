// What every parity runner takes and returns. Runners only run a model; comparing is metrics.ts's job
// (Polygraphy's split: runners know nothing about comparison).

/** uint8 NHWC images, `count` of them, with their labels. */
export interface Samples {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
}

/** Per-image outputs, row-major [count, C] (embedding [count, D] when asked for and present). */
export interface ModelOutputs {
  logits: Float32Array;
  probs: Float32Array;
  embedding?: Float32Array;
}

export interface RunnerOutput {
  out: ModelOutputs;
  /** Inference time for all samples, excluding session creation. */
  ms: number;
  /** What really ran (backend or execution provider, placement). */
  ranOn: string;
}

/** A runtime that cannot run here, with the reason (never dropped from a report). */
export interface Unavailable {
  unavailable: string;
}

export function concatRows(parts: readonly Float32Array[]): Float32Array {
  const o = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    o.set(p, off);
    off += p.length;
  }
  return o;
}

/** The rows `rows` of a [n, c] matrix. */
export function sliceRows(a: Float32Array, rows: readonly number[], c: number): Float32Array {
  const out = new Float32Array(rows.length * c);
  rows.forEach((r, i) => out.set(a.subarray(r * c, (r + 1) * c), i * c));
  return out;
}

/** The first non-empty line of an error, at most 500 characters (for report cells). */
export const errText = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e))
    .split('\n')
    .find((l) => l.trim())
    ?.trim()
    .slice(0, 500) ?? String(e);
