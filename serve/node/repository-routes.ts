// The model repository extension of KServe v2 / Triton (docs/protocol/extension_model_repository.md there):
//   POST /v2/repository/index                  [{name, version, state, reason}], state READY | UNAVAILABLE | LOADING | UNLOADING;
//                                              body optional: {"ready": true} lists only READY versions
//   POST /v2/repository/models/{name}/load     (re)loads every version of the model found on disk; body optional
//                                              {"parameters": {...}} (accepted, not used). 400 when a version fails.
//   POST /v2/repository/models/{name}/unload   unloads every version (or {"parameters": {"version": "2"}}, our
//                                              addition: one version); answers once they drained.
// Load and unload answer {name, versions: [{version, state, reason}]}; unknown model 404.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServeContext } from './context.js';
import { badRequest } from './errors.js';
import type { IndexEntry, LoadResult } from './model-repository.js';
import { modelHttpError } from './model-route.js';
import { withoutPaths } from './v2.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An optional JSON object body (absent, or an object). */
function bodyObject(req: FastifyRequest, what: string): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined || b === null || (Buffer.isBuffer(b) && b.length === 0)) return {};
  if (!isRecord(b)) throw badRequest(`${what} request body must be a JSON object`);
  return b;
}

function parametersOf(body: Record<string, unknown>, what: string): Record<string, unknown> {
  if (body.parameters === undefined) return {};
  if (!isRecord(body.parameters)) throw badRequest(`${what}: "parameters" must be an object`);
  return body.parameters;
}

/** The index entries of one model, server paths removed from the reasons. */
const entriesOf = (ctx: ServeContext, name: string) =>
  ctx.repository
    .index()
    .filter((e) => e.name === name && e.version !== undefined)
    .map((e) => ({ version: e.version!, state: e.state, reason: withoutPaths(e.reason) }));

export function registerRepositoryRoutes(app: FastifyInstance, ctx: ServeContext, allow: (url: string, methods: string[]) => void): void {
  app.post('/v2/repository/index', async (req): Promise<IndexEntry[]> => {
    const body = bodyObject(req, 'index');
    if (body.ready !== undefined && typeof body.ready !== 'boolean') throw badRequest('index: "ready" must be a boolean');
    return ctx.repository.index(body.ready === true).map((e) => ({ ...e, reason: withoutPaths(e.reason) }));
  });
  allow('/v2/repository/index', ['POST']);

  app.post('/v2/repository/models/:model/load', async (req) => {
    parametersOf(bodyObject(req, 'load'), 'load');
    const { model } = req.params as { model: string };
    let r: LoadResult;
    try {
      r = await ctx.repository.load(model);
    } catch (e) {
      throw modelHttpError(e);
    }
    if (r.failed.length) throw badRequest(withoutPaths(`failed to load model '${model}': ${r.failed.map((f) => `version ${f.version}: ${f.reason}`).join('; ')}`));
    return { name: model, versions: entriesOf(ctx, model) };
  });
  allow('/v2/repository/models/:model/load', ['POST']);

  app.post('/v2/repository/models/:model/unload', async (req) => {
    const params = parametersOf(bodyObject(req, 'unload'), 'unload');
    const v = params.version;
    if (v !== undefined && typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) throw badRequest('unload: parameters.version must be a string or an integer');
    const { model } = req.params as { model: string };
    try {
      await ctx.repository.unload(model, v === undefined ? undefined : String(v));
    } catch (e) {
      throw modelHttpError(e);
    }
    return { name: model, versions: entriesOf(ctx, model) };
  });
  allow('/v2/repository/models/:model/unload', ['POST']);
}
