// Checkpoint file (format 2): "ECLCKPT2" | u32 header length | JSON header | float32 payload | sha256 trailer.
// The header carries the model spec, the run config, the training position and a sha256 of the payload; the
// 32-byte trailer is the sha256 of every byte before it, so a change anywhere — the stored normalisation, the
// epoch counter, a weight — is caught before anything is used. Format 1 files ("ECLCKPT1", payload digest only)
// are still read. Writes are atomic.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LossWeightRecord } from '../losses/weights.js';
import type { ModelSpec } from '../spec.js';
import { writeFileAtomic } from './atomic-write.js';

const MAGIC = 'ECLCKPT2';
const MAGIC_V1 = 'ECLCKPT1';
const TRAILER = 32;

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements into the payload. */
  offset: number;
  length: number;
}

export interface CheckpointMeta {
  version: 1;
  spec: ModelSpec;
  /** The resolved run configuration (free-form; see pipeline/train/config.ts). */
  config: Record<string, unknown>;
  /** Number of completed epochs. */
  epoch: number;
  /** Number of completed optimiser steps. */
  step: number;
  backend: string;
  classNames: string[];
  classCounts: number[];
  createdAt: string;
  /** --loss-weights normalised, once epoch 0 is over: the epoch-0 term averages and the weights they give. */
  lossWeights?: LossWeightRecord;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** Model parameters, including BatchNorm moving statistics. */
  params: Map<string, { shape: number[]; data: Float32Array }>;
  /** Optimiser state (momentum buffers), keyed by parameter name. */
  optimizer: Map<string, { shape: number[]; data: Float32Array }>;
}

interface Header extends CheckpointMeta {
  params: TensorEntry[];
  optimizer: TensorEntry[];
  payloadBytes: number;
  payloadSha256: string;
}

export function encodeCheckpoint(ck: Checkpoint): Buffer {
  let offset = 0;
  const chunks: Float32Array[] = [];
  const entries = (m: Checkpoint['params']): TensorEntry[] =>
    [...m.entries()].map(([name, t]) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (n !== t.data.length) throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
      const e = { name, shape: t.shape, offset, length: n };
      offset += n;
      chunks.push(t.data);
      return e;
    });
  const params = entries(ck.params);
  const optimizer = entries(ck.optimizer);
  const payload = Buffer.alloc(offset * 4);
  let o = 0;
  for (const c of chunks) {
    Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(payload, o);
    o += c.byteLength;
  }
  const header: Header = {
    ...ck.meta,
    params,
    optimizer,
    payloadBytes: payload.length,
    payloadSha256: createHash('sha256').update(payload).digest('hex'),
  };
  const hbytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(hbytes.length);
  const body = Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, hbytes, payload]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeCheckpoint(file: Buffer, source = 'checkpoint'): Checkpoint {
  let buf = file;
  const bad = (why: string) => new Error(`corrupt checkpoint ${source}: ${why}`);
  const magic = buf.length >= 12 ? buf.subarray(0, 8).toString('ascii') : '';
  if (magic !== MAGIC && magic !== MAGIC_V1) throw bad(`not an ECL checkpoint (bad magic)`);
  const trailer = magic === MAGIC ? TRAILER : 0;
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen + trailer > buf.length) throw bad(`truncated header (${buf.length} bytes, header needs ${12 + hlen})`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Header;
  } catch {
    throw bad('header is not valid JSON');
  }
  if (!Number.isInteger(header.payloadBytes) || header.payloadBytes < 0) throw bad('header has no valid payload size');
  const have = buf.length - 12 - hlen - trailer;
  if (have !== header.payloadBytes) throw bad(have < header.payloadBytes ? `truncated payload (${have} of ${header.payloadBytes} bytes)` : `${have - header.payloadBytes} unexpected bytes after the payload`);
  if (trailer) {
    const body = buf.subarray(0, buf.length - trailer);
    if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - trailer)))
      throw bad('checksum mismatch: the file was changed or damaged after it was written (header or weights)');
    buf = body;
  }
  if (header.version !== 1) throw bad(`unsupported version ${String(header.version)}`);
  const payload = buf.subarray(12 + hlen);
  const sha = createHash('sha256').update(payload).digest('hex');
  if (sha !== header.payloadSha256) throw bad('payload checksum mismatch');
  // Copy into an aligned buffer so Float32Array views are valid.
  const aligned = new Float32Array(payload.length / 4);
  new Uint8Array(aligned.buffer).set(payload);
  const read = (es: TensorEntry[]) => new Map(es.map((e) => [e.name, { shape: e.shape, data: aligned.slice(e.offset, e.offset + e.length) }]));
  const { params, optimizer, payloadBytes: _b, payloadSha256: _s, ...meta } = header;
  return { meta: meta as CheckpointMeta, params: read(params), optimizer: read(optimizer) };
}

export function checkpointSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function readCheckpoint(path: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `checkpoint not found: ${path}` : `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return decodeCheckpoint(buf, path);
}

export function writeCheckpoint(path: string, ck: Checkpoint): void {
  writeFileAtomic(path, encodeCheckpoint(ck));
}
