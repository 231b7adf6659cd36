// Which model version an HTTP request addresses, and the lease that keeps it loaded until the answer:
//   /v2/models/{name}[/versions/{v}]/...   the path;
//   /v1/classify?model={name}[&version={v}]  the query, else the default model (ServeContext.defaultModel).
// Inference requests take their lease in onRequest, right after admission and before the body is read: an
// unload then waits for every admitted request (body still arriving, decoding, queued or running), and a
// request for an unknown or unloaded model is refused at once, without reading its body.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServeContext } from './context.js';
import { HttpError, badRequest, notFound, unavailable } from './errors.js';
import { ModelNotFoundError, ModelUnavailableError, type ModelRepository, type ServedModel } from './model-repository.js';

export interface ModelTarget {
  name: string;
  version?: string;
}

/** The inference routes, as fastify names them (admission.ts counts the same ones). */
export const INFERENCE_ROUTES = new Set(['/v1/classify', '/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer']);

const oneQueryValue = (q: Record<string, unknown>, key: string): string | undefined => {
  const v = q[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw badRequest(`give ?${key}= once, as a string`);
  return v;
};

/** The model (and version) a request names; /v1/classify without ?model= gets the default model. */
export function targetOf(params: unknown, query: unknown, defaultModel: string): ModelTarget {
  const p = (params ?? {}) as { model?: string; version?: string };
  if (p.model !== undefined) return { name: p.model, ...(p.version !== undefined ? { version: p.version } : {}) };
  const q = (query ?? {}) as Record<string, unknown>;
  const name = oneQueryValue(q, 'model');
  const version = oneQueryValue(q, 'version');
  return { name: name ?? defaultModel, ...(version !== undefined ? { version } : {}) };
}

/** Repository lookup errors as HTTP: unknown model or version 404, not ready (loading, unloading, unloaded, failed) 503. */
export function modelHttpError(e: unknown): unknown {
  if (e instanceof ModelNotFoundError) return notFound(e.message);
  if (e instanceof ModelUnavailableError) return unavailable(e.message, 5);
  return e;
}

/** repository.resolve with its errors as HTTP errors. */
export function resolveHttp(repo: ModelRepository, t: ModelTarget): ServedModel {
  try {
    return repo.resolve(t.name, t.version);
  } catch (e) {
    throw modelHttpError(e);
  }
}

const LEASED = Symbol('eclModel');
type WithLease = { [LEASED]?: ServedModel };

/** Leases the addressed model for every admitted inference request (after admission.ts's onRequest hook). */
export function installModelLeases(app: FastifyInstance, ctx: ServeContext): void {
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (req.method !== 'POST' || route === undefined || !INFERENCE_ROUTES.has(route)) return;
    const t = targetOf(req.params, req.query, ctx.defaultModel);
    let lease;
    try {
      lease = ctx.repository.lease(t.name, t.version);
    } catch (e) {
      throw modelHttpError(e);
    }
    (req as unknown as WithLease)[LEASED] = lease.model;
    // The response's close: answered, or the client went away (its queued batch still runs: retire() drains the batcher).
    reply.raw.once('close', lease.release);
  });
}

/** The model leased for this inference request (installModelLeases). */
export function leasedModel(req: FastifyRequest): ServedModel {
  const m = (req as unknown as WithLease)[LEASED];
  if (!m) throw new HttpError(500, 'no model leased for this request');
  return m;
}
