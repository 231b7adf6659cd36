// Admission control, body timeouts and the drain, all decided in fastify's onRequest hook: before a byte
// of the body is read or parsed. A rejection then costs a header parse and a 100-byte answer, far less than
// an answer (JSON parse of the pixels or an image decode, then the model), so under overload the event
// loop keeps feeding the model instead of parsing requests that will be refused anyway (issue 17: goodput
// fell to 6% of capacity at 2x load when the queue-full check ran after the JSON parse).
//
// Queue policy, compared with Triton's dynamic-batcher queue policy:
//   - max_queue_size -> --max-queue (requests waiting for the model) plus --max-inflight (admitted requests
//     not yet answered, whose bodies are still being read or decoded): Triton counts only enqueued requests,
//     after the body was received; we also count the ones on their way and refuse before the body.
//   - default_timeout_microseconds -> --queue-timeout-ms, measured from the request's arrival (headers), not
//     from the enqueue, so body reading and decoding count too; expired requests are shed when a batch is
//     formed, before they take a slot in it. Beyond Triton: a request whose expected wait (the batches ahead of
//     it at their calibrated cost, batch-cost.ts) already exceeds the deadline is refused on arrival, before
//     its body is read, instead of being parsed and then shed.
//   - timeout_action: REJECT (503 + Retry-After), not DELAY: a late answer is wasted model time.
//   - allow_timeout_override: no. A client cannot extend the deadline (nor shorten it: not needed here).
//   - Priority levels: none; refusal is of the newest (reject on arrival when full), plus the deadline.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServeContext } from './context.js';
import type { DynamicBatcher } from './batcher.js';
import { INFERENCE_ROUTES, type ModelTarget, targetOf } from './model-route.js';

export interface AdmissionLimits {
  /** Admitted inference requests not yet answered (reading body, decoding, queued, running). */
  maxInflight: number;
  /** Inference requests in flight on one connection (HTTP/1.1 pipelining). */
  maxInflightPerConnection: number;
  /** Most requests waiting in the batcher (the batcher enforces it too). */
  maxQueue: number;
  /** A request body not fully received after this long: 408 and the connection closed, its buffers freed. */
  bodyTimeoutMs: number;
}


interface AdmittedRequest {
  eclArrivedAt?: number;
  eclRelease?: () => void;
}

/**
 * For the route, just before it submits to the batcher: when the request's headers arrived (performance.now(),
 * for the queue deadline). Also ends the request's reservation in its batcher's queue (batcher.reserve), which
 * the submit replaces with the request's real images.
 */
export const submitting = (req: FastifyRequest): number => {
  const r = req as unknown as AdmittedRequest;
  r.eclRelease?.();
  return r.eclArrivedAt ?? performance.now();
};

/** Why a model version's batcher refuses a new request now (null: it has room): a full queue, or an expected wait past the deadline. */
function batcherRefusal(b: DynamicBatcher | undefined, maxQueue: number): 'queue_full' | 'queue_timeout' | null {
  if (!b) return null;
  if (b.queuedRequests >= maxQueue) return 'queue_full';
  return b.wouldMissDeadline ? 'queue_timeout' : null;
}

/** POST paths of the inference routes, as fastify matches them (trailing slash ignored): model, version, query. */
const INFERENCE_PATH = /^\/(v1\/classify|v2\/models\/([^/?]+)(\/versions\/([^/?]+))?\/infer)\/?(\?.*)?$/;

/** The batcher of the model version a request addresses (undefined when it is not loaded: the route answers 404/503). */
function batcherFor(ctx: ServeContext, target: () => ModelTarget): DynamicBatcher | undefined {
  try {
    const t = target();
    return ctx.repository.resolve(t.name, t.version).batcher;
  } catch {
    return undefined;
  }
}

/** The model an inference path addresses, from the raw URL (before routing). */
function targetOfPath(m: RegExpExecArray, defaultModel: string): ModelTarget {
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (m[2] !== undefined) return { name: dec(m[2]), ...(m[4] !== undefined ? { version: dec(m[4]) } : {}) };
  return targetOf({}, Object.fromEntries(new URLSearchParams(m[5] ?? '')), defaultModel);
}

export interface Admission {
  /**
   * The fast path, called by the HTTP server before fastify sees the request: when the server is full it
   * answers an inference request 503 from prebuilt bytes (no routing, hooks or serialisation) and returns
   * true. At 2x capacity most requests are refused, so this is what keeps the event loop for the model.
   */
  shed(req: IncomingMessage, res: ServerResponse): boolean;
  /** Admitted inference requests not yet answered. */
  readonly inflight: number;
  /** Every request (any route) not yet answered. */
  readonly active: number;
  /** Resolves when no request is active. */
  idle(): Promise<void>;
  /**
   * For inference requests that do not come through fastify (gRPC, grpc.ts): the same drain and --max-inflight
   * checks as an HTTP inference request (the queue limit is the addressed version's batcher's: it refuses a full queue). Admitted: counted in `inflight` and `active` (so the
   * drain waits for it) until `release` is called (once, when answered). Refused: why, counted in the metrics.
   */
  acquire(): { release: () => void } | AdmissionRefusal;
}

export interface AdmissionRefusal {
  reason: 'shutting_down' | 'queue_full' | 'inflight_full';
  message: string;
}

const bodyPending = (req: FastifyRequest): boolean => {
  const h = req.headers;
  const len = h['content-length'];
  return !req.raw.complete && ((len !== undefined && len !== '0') || h['transfer-encoding'] !== undefined);
};

export function installAdmission(app: FastifyInstance, ctx: ServeContext, limits: AdmissionLimits, isDraining: () => boolean): Admission {
  let inflight = 0;
  let active = 0;
  const perSocket = new WeakMap<Socket, number>();
  let idleWaiters: Array<() => void> = [];
  const notifyIdle = () => {
    if (active === 0 && idleWaiters.length) {
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    }
  };

  const refuse = (reply: FastifyReply, reason: string, message: string, retryAfterS: number, close: boolean) => {
    ctx.metrics.rejected.inc({ reason });
    void reply.code(503).header('retry-after', String(retryAfterS));
    if (close) void reply.header('connection', 'close');
    return reply.send({ error: message });
  };

  app.addHook('onRequest', async (req, reply) => {
    const raw = req.raw;
    const res = reply.raw;
    active++;
    let counted = false;
    res.once('close', () => {
      active--;
      if (counted) {
        inflight--;
        const s = raw.socket;
        if (s) perSocket.set(s, (perSocket.get(s) ?? 1) - 1);
      }
      notifyIdle();
    });

    // A body that does not arrive in time (stalled, or dripped a byte at a time) is cut: the connection is
    // destroyed, which drops whatever the body parser has buffered. This covers refused requests too, whose
    // unread bodies node drains after the answer.
    if (bodyPending(req)) {
      const timer = setTimeout(() => {
        if (raw.complete) return;
        ctx.metrics.rejected.inc({ reason: 'body_timeout' });
        const sock = raw.socket;
        if (!res.headersSent && sock && !sock.destroyed) {
          const body = JSON.stringify({ error: `request body not received within ${limits.bodyTimeoutMs} ms (--body-timeout-ms)` });
          sock.end(`HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
          setTimeout(() => sock.destroy(), 1000).unref();
        } else sock?.destroy();
        raw.destroy();
      }, limits.bodyTimeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      // Not on the answer: a refused request's body is still drained after it, and must not drip forever.
      raw.once('end', clear);
      raw.once('close', clear);
    }

    const route = req.routeOptions.url;
    if (req.method !== 'POST' || route === undefined || !INFERENCE_ROUTES.has(route)) return;
    if (isDraining()) return refuse(reply, 'shutting_down', 'server is shutting down; retry on another instance', 5, true);
    // --max-queue is per model version (each has its own batcher); the in-flight limits are global.
    const batcher = batcherFor(ctx, () => targetOf(req.params, req.query, ctx.defaultModel));
    const why = batcherRefusal(batcher, limits.maxQueue);
    if (why === 'queue_full') return refuse(reply, 'queue_full', `server busy: the inference queue is full (${batcher!.queuedRequests} requests waiting, --max-queue); retry later`, 1, false);
    if (why === 'queue_timeout')
      return refuse(reply, 'queue_timeout', `server busy: the expected wait (${Math.round(batcher!.expectedWaitMs)} ms) exceeds the admission limit of ${Math.round(batcher!.admissionLimitMs)} ms (--admission-wait-ms, --queue-timeout-ms); retry later`, 1, false);
    if (inflight >= limits.maxInflight) return refuse(reply, 'inflight_full', `server busy: ${inflight} requests in flight (--max-inflight); retry later`, 1, false);
    const sock = raw.socket;
    const mine = (sock && perSocket.get(sock)) ?? 0;
    if (mine >= limits.maxInflightPerConnection)
      return refuse(reply, 'connection_inflight_full', `too many requests in flight on this connection (${mine}, --max-inflight-per-connection)`, 1, false);
    counted = true;
    inflight++;
    if (sock) perSocket.set(sock, mine + 1);
    const admitted = req as unknown as AdmittedRequest;
    admitted.eclArrivedAt = performance.now();
    if (batcher) {
      // Released at submit (submitting) or, for a request that never gets there (bad body, timeout), at its end.
      const release = batcher.reserve();
      admitted.eclRelease = release;
      res.once('close', release);
    }
  });

  const prebuilt = (error: string) => {
    const body = JSON.stringify({ error });
    return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'retry-after': '1' } };
  };
  const queueFull = prebuilt(`server busy: the inference queue is full (${limits.maxQueue} requests waiting, --max-queue); retry later`);
  const inflightFull = prebuilt(`server busy: ${limits.maxInflight} requests in flight (--max-inflight); retry later`);
  const deadline = prebuilt('server busy: the expected wait exceeds the admission limit (--admission-wait-ms, --queue-timeout-ms); retry later');
  return {
    shed(req, res) {
      if (req.method !== 'POST' || isDraining()) return false;
      const m = INFERENCE_PATH.exec(req.url ?? '');
      if (!m) return false;
      const batcher = batcherFor(ctx, () => targetOfPath(m, ctx.defaultModel));
      const why = batcherRefusal(batcher, limits.maxQueue) ?? (inflight >= limits.maxInflight ? 'inflight_full' : null);
      if (!why) return false;
      const t0 = performance.now();
      ctx.metrics.rejected.inc({ reason: why });
      const r = why === 'queue_full' ? queueFull : why === 'queue_timeout' ? deadline : inflightFull;
      // The unread body is discarded by node after the answer, without parsing; the connection stays open.
      res.writeHead(503, r.headers).end(r.body);
      const route = m[1] === 'v1/classify' ? '/v1/classify' : m[3] ? '/v2/models/:model/versions/:version/infer' : '/v2/models/:model/infer';
      ctx.metrics.observeRequest(route, 'POST', 503, (performance.now() - t0) / 1000);
      return true;
    },
    get inflight() {
      return inflight;
    },
    get active() {
      return active;
    },
    idle: () => (active === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r))),
    acquire() {
      let refusal: AdmissionRefusal | null = null;
      if (isDraining()) refusal = { reason: 'shutting_down', message: 'server is shutting down; retry on another instance' };
      // The queue limit is per model version: its batcher refuses a full queue (QueueFullError -> RESOURCE_EXHAUSTED).
      else if (inflight >= limits.maxInflight) refusal = { reason: 'inflight_full', message: `server busy: ${inflight} requests in flight (--max-inflight); retry later` };
      if (refusal) {
        ctx.metrics.rejected.inc({ reason: refusal.reason });
        return refusal;
      }
      inflight++;
      active++;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          inflight--;
          active--;
          notifyIdle();
        },
      };
    },
  };
}
