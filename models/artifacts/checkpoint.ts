// Checkpoint file: "ECLCKPT1" | u32 header length | JSON header | float32 payload.
// The header carries the model spec, the run config, the training position and a sha256 of the payload,
// so a truncated or corrupted file is detected before any weights are used. Writes are atomic.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ModelSpec } from '../spec.js';
import { writeFileAtomic } from './atomic-write.js';

const MAGIC = 'ECLCKPT1';

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
  return Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, hbytes, payload]);
}

export function decodeCheckpoint(buf: Buffer, source = 'checkpoint'): Checkpoint {
  const bad = (why: string) => new Error(`corrupt checkpoint ${source}: ${why}`);
  if (buf.length < 12 || buf.subarray(0, 8).toString('ascii') !== MAGIC) throw bad(`not an ECL checkpoint (bad magic)`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw bad(`truncated header (${buf.length} bytes, header needs ${12 + hlen})`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Header;
  } catch {
    throw bad('header is not valid JSON');
  }
  if (header.version !== 1) throw bad(`unsupported version ${String(header.version)}`);
  const payload = buf.subarray(12 + hlen);
  if (payload.length !== header.payloadBytes)
    throw bad(`truncated payload (${payload.length} of ${header.payloadBytes} bytes)`);
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
