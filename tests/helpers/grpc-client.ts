// An independent Open Inference Protocol gRPC client for tests: built from KServe's proto file with proto-loader
// and grpc-js, none of the server's code. Longs as strings (the server uses numbers), keepCase so the field
// names are the proto's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT } from './serve-helpers.js';

export const PROTO = join(REPO_ROOT, 'serve', 'node', 'proto', 'grpc_predict_v2.proto');
const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const Service = (grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } }).inference.GRPCInferenceService;

export type GrpcClient = grpc.Client & Record<string, unknown>;
const clients: grpc.Client[] = [];

export function connect(address: string): GrpcClient {
  const c = new Service(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 }) as unknown as GrpcClient;
  clients.push(c);
  return c;
}

/** Closes every client connect() made. */
export function closeClients(): void {
  for (const c of clients.splice(0)) c.close();
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
/** A unary call; the deadline turns a call the server never answers into a failure (DEADLINE_EXCEEDED) instead of a hung test. */
export const call = <T = Record<string, unknown>>(c: GrpcClient, method: string, req: unknown): Promise<T> =>
  new Promise((resolve, reject) =>
    (c[method] as unknown as Unary).call(c, req, new grpc.Metadata(), { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res as T))),
  );

/** The call fails with this status code and a message matching `details`. */
export async function assertStatus(p: Promise<unknown>, code: grpc.status, details: RegExp): Promise<void> {
  await assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    assert.match(e.details, details);
    return true;
  });
}

export interface OutTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: { fp32_contents: number[] } | null;
}
export interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, { string_param?: string; int64_param?: string }>;
  outputs: OutTensor[];
  raw_output_contents: Buffer[];
}

export const floatsLE = (b: Buffer) => Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4));
