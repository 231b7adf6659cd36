// The HTTP floor of `serve` for bench-serve: a child process running a fastify server with the real server's
// fastify options and content-type parsers (serve/node/server.ts fastifyOptions, addBodyParsers), on the same route
// path, answering every request with a fixed small v2 response (10 FP32 probabilities, the size of cnn28's).
// What it leaves out is everything past "the body is parsed": admission control, request validation, tensor
// decoding, batching, inference, the per-request metrics hook, the response encoding of real outputs.
// So served throughput / this floor is the share of HTTP-level capacity the rest of the hot path keeps.
//   node dist/pipeline/bench/http-floor-server.js [--body-limit BYTES]   -> prints "listening on <url>"
import Fastify from 'fastify';
import { SERVE_DEFAULTS } from '../../serve/node/defaults.js';
import { addBodyParsers, fastifyOptions } from '../../serve/node/server.js';

/** The fixed answer: a v2 infer response with 10 probabilities (cnn28's output), serialised once. */
export const FLOOR_RESPONSE = JSON.stringify({
  model_name: 'floor',
  outputs: [{ name: 'probs', shape: [1, 10], datatype: 'FP32', data: [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] }],
});

export async function startFloorServer(bodyLimit: number): Promise<{ url: string; close: () => Promise<void> }> {
  // The server's own fastify options and body parsers (no admission fast path: nothing is refused here).
  const app = Fastify(fastifyOptions(bodyLimit, SERVE_DEFAULTS.bodyTimeoutMs));
  addBodyParsers(app, bodyLimit);
  app.post('/v2/models/:name/infer', async (req, reply) => {
    // Touch the parsed body as a handler would (its size), so nothing can skip the parse.
    const size = Buffer.isBuffer(req.body) ? req.body.length : typeof req.body === 'object' && req.body ? 1 : 0;
    if (size === 0) return reply.code(400).send({ error: 'empty body' });
    return reply.type('application/json').send(FLOOR_RESPONSE);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}

// As a child process (bench-serve): start, print the URL, stop on SIGTERM.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const i = process.argv.indexOf('--body-limit');
  const bodyLimit = i > 0 ? Number(process.argv[i + 1]) : SERVE_DEFAULTS.bodyLimit;
  startFloorServer(bodyLimit).then(
    (s) => {
      process.stdout.write(`listening on ${s.url}\n`);
      process.once('SIGTERM', () => void s.close().then(() => process.exit(0)));
    },
    (e: unknown) => {
      process.stderr.write(`http-floor-server: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
