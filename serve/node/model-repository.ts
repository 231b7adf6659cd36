// A Triton-style model repository: every served (name, version) has its own onnxruntime runner and
// DynamicBatcher (models may differ in input shape). Sources, combinable:
//   - `--model-repository DIR`: DIR/<name>/<version>/model.onnx, <version> a positive integer directory
//     (other entries are ignored, as Triton does);
//   - `--model [name=]path`: one file; its version is the first 12 hex chars of the file's sha256, so a
//     re-exported file reloads as a new version.
// Loading, unloading and lookup go through this class, for HTTP (v2.ts, classify.ts) and other front ends:
//   resolve(name, version?)  -> the READY ServedModel, or ModelNotFoundError / ModelUnavailableError;
//   lease(name, version?)    -> resolve + count the request in flight, so an unload waits for it;
//   load(name) / unload(name, version?) / index().
// A (re)load swaps atomically: the new runner starts while the old one serves, then requests go to the new one
// and the old one drains (its leased requests and queued batches finish) before its runner closes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { checkpointSha256 } from '../../models/artifacts/checkpoint.js';
import { assertModelFromCheckpoint, runPaths } from '../../models/artifacts/run-dir.js';
import { METADATA_KEYS, buildModelInfo } from '../../models/onnx-contract.js';
import { fastestBySize } from './batch-cost.js';
import { DynamicBatcher } from './batcher.js';
import { AUTO_BATCH_MAX_MS } from './defaults.js';
import type { EpChoice } from './ep.js';
import { errorMessage } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { type ModelInfo, readModelMetadataProps } from './model-info.js';
import { type InferenceMode, type InferenceRunner, startRunner } from './runner.js';

/** Triton's model states (index API). */
export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

/** One entry of POST /v2/repository/index (Triton's $repository_index_response item). */
export interface IndexEntry {
  name: string;
  /** Absent for a repository folder without any version directory. */
  version?: string;
  state: ModelState;
  reason: string;
}

/** No such model, or no such version of it: HTTP 404, gRPC NOT_FOUND. */
export class ModelNotFoundError extends Error {
  readonly kind = 'not-found';
  constructor(message: string) {
    super(message);
    this.name = 'ModelNotFoundError';
  }
}

/** The model (version) exists but cannot serve now (loading, unloading, unloaded, failed): HTTP 503, gRPC UNAVAILABLE. */
export class ModelUnavailableError extends Error {
  readonly kind = 'unavailable';
  constructor(
    message: string,
    readonly state: ModelState,
  ) {
    super(message);
    this.name = 'ModelUnavailableError';
  }
}

/** A model refused because its run folder's checkpoint changed after the export (see staleModelReason). */
export class StaleModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleModelError';
  }
}

/** Model names: a URL path segment and a folder name. */
export const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Triton's version folders: a positive integer. */
const VERSION_DIR = /^[1-9]\d{0,15}$/;

/** A loaded (name, version): what a request needs to run. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly path: string;
  readonly info: ModelInfo;
  readonly runner: InferenceRunner;
  readonly batcher: DynamicBatcher;
  /** READY while it takes new requests; UNLOADING once it drains. */
  readonly state: 'READY' | 'UNLOADING';
  /** Requests leased and not yet released. */
  readonly inflight: number;
}

/** A ServedModel counted in flight until release() (idempotent). */
export interface ModelLease {
  model: ServedModel;
  release(): void;
}

/** One `--model` file. */
export interface ModelFile {
  name: string;
  path: string;
}

export interface ModelRepositoryOptions {
  /** `--model` files (name -> path). */
  files: readonly ModelFile[];
  /** `--model-repository` folder. */
  root?: string;
  ep: EpChoice;
  inference: InferenceMode;
  intraOpThreads: number;
  ortSpin: boolean;
  maxBatch: number;
  preferredBatch: number | 'auto';
  admissionWaitMs: number | 'auto';
  maxDelayMs: number;
  maxQueue: number;
  queueTimeoutMs: number;
  allowStale: boolean;
  metrics: ServeMetrics;
  log?: (line: string) => void;
}

/**
 * Why a model is stale, or null: its metadata checkpoint_sha256 differs from the checkpoint.ckpt next to it
 * (runs/<name>/ was retrained after the export). A model outside a run folder, or without the key, is not stale.
 */
export function staleModelReason(modelPath: string, props: Readonly<Record<string, string>>): string | null {
  const dir = dirname(modelPath);
  const paths = runPaths(dir);
  if (!existsSync(paths.checkpoint)) return null;
  try {
    assertModelFromCheckpoint(modelPath, props[METADATA_KEYS.checkpointSha256], { dir, paths, checkpointSha256: checkpointSha256(paths.checkpoint) });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The version of a `--model` file: the first 12 hex chars of its sha256. */
export function fileVersion(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
}

const isNumeric = (v: string) => /^\d+$/.test(v);

class LoadedModel implements ServedModel {
  state: 'READY' | 'UNLOADING' = 'READY';
  inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private retiring: Promise<void> | null = null;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly path: string,
    readonly info: ModelInfo,
    readonly runner: InferenceRunner,
    readonly batcher: DynamicBatcher,
  ) {}

  lease(): ModelLease {
    this.inflight++;
    let released = false;
    return {
      model: this,
      release: () => {
        if (released) return;
        released = true;
        this.inflight--;
        if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    };
  }

  /** Stop taking requests, let the leased ones and the queue finish, then close the runner. Idempotent. */
  retire(): Promise<void> {
    this.state = 'UNLOADING';
    this.retiring ??= (async () => {
      this.batcher.expedite();
      if (this.inflight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
      await this.batcher.close();
      await this.runner.close();
    })();
    return this.retiring;
  }
}

/** One (name, version) the repository knows of, loaded or not. */
interface Slot {
  name: string;
  version: string;
  path: string;
  state: ModelState;
  reason: string;
  served: LoadedModel | null;
  /** The last load failure (rethrown when the server cannot start with any model). */
  error: unknown;
  /** Counts toward /v2/health/ready: loaded or loading, and not unloaded through the API. */
  wanted: boolean;
  /** Order of the last successful load: "latest" among non-numeric versions (--model files). */
  loadSeq: number;
}

export interface LoadResult {
  name: string;
  versions: Array<{ version: string; state: ModelState; reason: string }>;
  /** Versions found on disk that did not load (the previously loaded one, if any, still serves). */
  failed: Array<{ version: string; reason: string; error: unknown }>;
}

export class ModelRepository {
  private readonly models = new Map<string, Map<string, Slot>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private seq = 0;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ModelRepositoryOptions) {
    this.log = opts.log ?? (() => {});
    const seen = new Set<string>();
    for (const f of opts.files) {
      if (seen.has(f.name)) throw new Error(`model name '${f.name}' given twice (use --model name=path)`);
      seen.add(f.name);
    }
    opts.metrics.queueDepthFn = () => this.loaded().map((m) => ({ model: m.name, version: m.version, depth: m.batcher.queuedRequests }));
  }

  /** Every model name the sources offer: the --model names, then the repository's folders (sorted). */
  names(): string[] {
    const names = this.opts.files.map((f) => f.name);
    for (const n of this.repositoryNames()) if (!names.includes(n)) names.push(n);
    for (const n of this.models.keys()) if (!names.includes(n)) names.push(n);
    return names;
  }

  private repositoryNames(): string[] {
    const root = this.opts.root;
    if (!root) return [];
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      return [];
    }
    return entries.filter((e) => MODEL_NAME.test(e) && isDir(join(root, e))).sort();
  }

  /** Versions on disk for `name`: null when no source offers the name. */
  private discover(name: string): Array<{ version: string; path: string; error?: string }> | null {
    const file = this.opts.files.find((f) => f.name === name);
    if (file) {
      if (!existsSync(file.path)) return [{ version: this.models.get(name)?.keys().next().value ?? 'file', path: file.path, error: `model file not found: ${file.path}` }];
      return [{ version: fileVersion(file.path), path: file.path }];
    }
    const root = this.opts.root;
    if (!root || !MODEL_NAME.test(name) || !isDir(join(root, name))) return null;
    return readdirSync(join(root, name))
      .filter((v) => VERSION_DIR.test(v) && isDir(join(root, name, v)))
      .sort((a, b) => Number(a) - Number(b))
      .map((v) => ({ version: v, path: join(root, name, v, 'model.onnx') }));
  }

  /** Loads every model of every source (at startup). */
  async loadAll(): Promise<LoadResult[]> {
    const results: LoadResult[] = [];
    // One at a time: each model starts a worker and an onnxruntime session; a burst of them competes for the CPU.
    for (const name of this.names()) results.push(await this.load(name));
    return results;
  }

  /**
   * (Re)loads all versions of `name` found on disk. New versions start while the current ones serve; a version
   * that loads replaces its predecessor atomically (which then drains and closes); versions gone from disk are
   * unloaded. A version that fails keeps the predecessor serving, or is UNAVAILABLE with the reason.
   * Throws ModelNotFoundError when no source offers `name`.
   */
  load(name: string): Promise<LoadResult> {
    return this.locked(name, async () => {
      const found = this.discover(name);
      if (!found) throw new ModelNotFoundError(`unknown model '${name}'${this.opts.root ? ` (no folder ${name}/ in the model repository)` : ''}; known: ${this.names().join(', ') || 'none'}`);
      const slots = this.slotsOf(name);
      const result: LoadResult = { name, versions: [], failed: [] };
      if (found.length === 0) {
        this.log(`model '${name}': no version folders (<name>/<positive integer>/model.onnx) in the repository`);
      }
      await Promise.all(
        found.map(async ({ version, path, error }) => {
          let slot = slots.get(version);
          if (!slot) {
            slot = { name, version, path, state: 'LOADING', reason: '', served: null, error: null, wanted: true, loadSeq: 0 };
            slots.set(version, slot);
          }
          slot.path = path;
          slot.wanted = true;
          if (!slot.served) {
            slot.state = 'LOADING';
            slot.reason = '';
          }
          try {
            if (error) throw new Error(error);
            const fresh = await this.start(name, version, path);
            const old = slot.served;
            slot.served = fresh;
            slot.state = 'READY';
            slot.reason = '';
            slot.error = null;
            slot.loadSeq = ++this.seq;
            this.log(`model '${name}' version ${version} ready (${fresh.runner.ep}; input [N, ${fresh.info.input.height}, ${fresh.info.input.width}, ${fresh.info.input.channels}])`);
            if (old) await this.retire(old);
          } catch (e) {
            const reason = errorMessage(e);
            result.failed.push({ version, reason, error: e });
            slot.error = e;
            if (!slot.served) {
              slot.state = 'UNAVAILABLE';
              slot.reason = reason;
              slot.wanted = false;
            }
            this.log(`model '${name}' version ${version} failed to load: ${reason}`);
          }
        }),
      );
      // Versions no longer on disk go once the new ones are in; a --model file's previous version stays until
      // its new content loads (a failed reload keeps the old version serving).
      const present = new Set(found.map((f) => f.version));
      const isFile = this.opts.files.some((f) => f.name === name);
      if (!(isFile && result.failed.length))
        for (const slot of slots.values())
          if (!present.has(slot.version)) {
            if (slot.served) await this.unloadSlot(slot, isFile ? 'replaced by a new version of the file' : 'not in the repository any more');
            // Gone from disk, gone from the index (repeated re-exports of a file would pile up otherwise).
            if (!slot.served) slots.delete(slot.version);
          }
      result.versions = [...slots.values()].map((s) => ({ version: s.version, state: this.stateOf(s), reason: this.reasonOf(s) }));
      return result;
    });
  }

  /**
   * Unloads all versions of `name` (or one): new requests are refused at once (resolve throws
   * ModelUnavailableError), leased ones and the queue finish, then the runner closes. Resolves when done.
   */
  unload(name: string, version?: string): Promise<void> {
    return this.locked(name, async () => {
      const slots = this.models.get(name);
      if (!slots || slots.size === 0) throw new ModelNotFoundError(this.unknownModel(name));
      const targets = version === undefined ? [...slots.values()] : [slots.get(version)];
      if (targets[0] === undefined) throw new ModelNotFoundError(this.unknownVersion(name, version!));
      await Promise.all(targets.map((s) => this.unloadSlot(s!, 'unloaded')));
    });
  }

  /**
   * The READY model for a request: `version` given, exactly that one; otherwise the latest READY version (the
   * highest number in a repository; for a --model file, its current version). Throws ModelNotFoundError for an
   * unknown name or version, ModelUnavailableError for one that cannot serve now (loading, unloading, failed,
   * unloaded, inference worker died). Does not count the request: use lease() for inference.
   */
  resolve(name: string, version?: string): ServedModel {
    const slots = this.models.get(name);
    if (!slots || slots.size === 0) throw new ModelNotFoundError(this.unknownModel(name));
    if (version !== undefined) {
      const s = slots.get(version);
      if (!s) throw new ModelNotFoundError(this.unknownVersion(name, version));
      const state = this.stateOf(s);
      if (state !== 'READY' || !s.served) throw new ModelUnavailableError(`model '${name}' version ${version} is not ready: ${state}${this.reasonOf(s) ? ` (${this.reasonOf(s)})` : ''}`, state);
      return s.served;
    }
    const latest = this.latestReady(name);
    if (!latest) {
      const states = [...slots.values()].map((s) => `${s.version} ${this.stateOf(s)}${this.reasonOf(s) ? ` (${this.reasonOf(s)})` : ''}`).join('; ');
      throw new ModelUnavailableError(`model '${name}' has no ready version: ${states}`, 'UNAVAILABLE');
    }
    return latest;
  }

  /** resolve() and count the request in flight: an unload drains it before closing the runner. Release when answered. */
  lease(name: string, version?: string): ModelLease {
    return (this.resolve(name, version) as LoadedModel).lease();
  }

  /** The latest READY version of `name`, or null (no throw). */
  latestReady(name: string): ServedModel | null {
    const ready = [...(this.models.get(name)?.values() ?? [])].filter((s) => this.stateOf(s) === 'READY' && s.served);
    if (ready.length === 0) return null;
    const numeric = ready.every((s) => isNumeric(s.version));
    ready.sort((a, b) => (numeric ? Number(a.version) - Number(b.version) : a.loadSeq - b.loadSeq));
    return ready.at(-1)!.served;
  }

  /** READY versions of `name`, oldest first. */
  readyVersions(name: string): string[] {
    const vs = [...(this.models.get(name)?.values() ?? [])].filter((s) => this.stateOf(s) === 'READY').map((s) => s.version);
    return vs.every(isNumeric) ? vs.sort((a, b) => Number(a) - Number(b)) : vs;
  }

  /** Every loaded model (READY or draining). */
  loaded(): ServedModel[] {
    return [...this.models.values()].flatMap((vs) => [...vs.values()].flatMap((s) => (s.served ? [s.served] : [])));
  }

  /** Load failures of the last load of every version, in source order (startup error reporting). */
  failures(): Array<{ name: string; version: string; reason: string; error: unknown }> {
    return [...this.models.values()].flatMap((vs) => [...vs.values()].filter((s) => !s.served && s.error).map((s) => ({ name: s.name, version: s.version, reason: s.reason, error: s.error })));
  }

  /** Ready: at least one model serves, and every version that should be loaded (loaded or loading, not unloaded) is READY. */
  isReady(): boolean {
    const slots = [...this.models.values()].flatMap((vs) => [...vs.values()]);
    return slots.some((s) => this.stateOf(s) === 'READY') && slots.every((s) => !s.wanted || this.stateOf(s) === 'READY');
  }

  /**
   * POST /v2/repository/index: every model the sources offer, one entry per known version (Triton's shape);
   * `readyOnly`: only READY ones.
   */
  index(readyOnly = false): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const name of this.names()) {
      const slots = [...(this.models.get(name)?.values() ?? [])];
      if (slots.length === 0) {
        if (!readyOnly) out.push({ name, state: 'UNAVAILABLE', reason: this.discover(name)?.length === 0 ? 'no version folders (<name>/<positive integer>/model.onnx)' : 'not loaded' });
        continue;
      }
      for (const s of slots) {
        const state = this.stateOf(s);
        if (!readyOnly || state === 'READY') out.push({ name, version: s.version, state, reason: this.reasonOf(s) });
      }
    }
    return out;
  }

  /** Unloads everything (server shutdown): drains every model, closes every runner. */
  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.locked(name, async () => Promise.all([...this.slotsOf(name).values()].map((s) => this.unloadSlot(s, 'server shut down'))))));
  }

  private stateOf(s: Slot): ModelState {
    if (s.state === 'READY' && s.served && !s.served.runner.healthy) return 'UNAVAILABLE';
    return s.state;
  }

  private reasonOf(s: Slot): string {
    if (s.state === 'READY' && s.served && !s.served.runner.healthy) return 'the inference worker stopped';
    return s.reason;
  }

  private slotsOf(name: string): Map<string, Slot> {
    let slots = this.models.get(name);
    if (!slots) {
      slots = new Map();
      this.models.set(name, slots);
    }
    return slots;
  }

  private unknownModel(name: string): string {
    const known = [...this.models.keys()].filter((n) => (this.models.get(n)?.size ?? 0) > 0);
    return `unknown model '${name}' (this server serves: ${known.join(', ') || 'none'})`;
  }

  private unknownVersion(name: string, version: string): string {
    return `unknown version '${version}' of model '${name}' (versions: ${[...(this.models.get(name)?.keys() ?? [])].join(', ') || 'none'})`;
  }

  private async unloadSlot(slot: Slot, reason: string): Promise<void> {
    slot.wanted = false;
    const served = slot.served;
    if (!served) {
      slot.state = 'UNAVAILABLE';
      slot.reason ||= reason;
      return;
    }
    slot.state = 'UNLOADING';
    slot.reason = reason;
    await this.retire(served);
    slot.served = null;
    slot.state = 'UNAVAILABLE';
    slot.reason = reason;
    this.log(`model '${slot.name}' version ${slot.version} unloaded (${reason})`);
  }

  private async retire(m: LoadedModel): Promise<void> {
    await m.retire();
    this.opts.metrics.modelInfo.remove({ model: m.name, version: m.version, ep: m.runner.ep });
  }

  /** Starts the runner and batcher for one file. */
  private async start(name: string, version: string, path: string): Promise<LoadedModel> {
    const o = this.opts;
    if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
    const props = readModelMetadataProps(path);
    const stale = staleModelReason(path, props);
    if (stale && !o.allowStale) throw new StaleModelError(`refusing a stale model: ${stale} (or serve it anyway with --allow-stale)`);
    if (stale) this.log(`warning: serving a stale model (--allow-stale): ${stale}`);
    const runner = await startRunner({ modelPath: path, ep: o.ep, mode: o.inference, intraOpThreads: o.intraOpThreads, spin: o.ortSpin, log: this.log });
    let info: ModelInfo;
    try {
      info = buildModelInfo({ path, props, inputs: runner.inputs, outputs: runner.outputs, name });
    } catch (e) {
      await runner.close();
      throw e;
    }
    const batcher = new DynamicBatcher((px, dims) => runner.run(px, dims), {
      maxBatch: o.maxBatch,
      preferredBatch: o.preferredBatch,
      admissionWaitMs: o.admissionWaitMs,
      maxDelayMs: o.maxDelayMs,
      maxQueue: o.maxQueue,
      queueTimeoutMs: o.queueTimeoutMs,
      imageShape: [info.input.height, info.input.width, info.input.channels],
      // The worker queues a second batch and starts it when the first ends (infer-worker.ts); inline, a second
      // session.run would compete with the first for the same threads.
      maxPendingBatches: o.inference === 'worker' ? 2 : 1,
    });
    try {
      // The arrival check and 'auto' batch size need the batch cost; with neither the load skips the timing.
      if (o.preferredBatch === 'auto' || o.admissionWaitMs === 'auto' || (o.queueTimeoutMs ?? 0) > 0) {
        const cal = await batcher.calibrate();
        const fastest = fastestBySize(cal.timings, 'calibrate');
        this.log(
          `model ${name}/${version}: batches of ${cal.preferredBatch} images${o.preferredBatch === 'auto' ? ` (auto: the smallest within 15% of the best time per image, at most ${AUTO_BATCH_MAX_MS} ms a batch where that costs under 50% per image)` : ''}, ${cal.batchMs.toFixed(1)} ms each; ` +
            `refuse on arrival beyond an expected wait of ${cal.admissionLimitMs > 0 ? `${cal.admissionLimitMs.toFixed(1)} ms` : 'no limit'}; timed ms per image: ${[...fastest].map(([n, ms]) => `${n}:${(ms / n).toFixed(3)}`).join(' ')}`,
        );
      }
    } catch (e) {
      await runner.close();
      throw e;
    }
    const labels = { model: name, version };
    batcher.onBatch = (s) => o.metrics.observeBatch(labels, s.images, s.computeMs / 1000, s.queueMs.map((q) => q / 1000));
    o.metrics.modelInfo.set({ ...labels, ep: runner.ep }, 1);
    return new LoadedModel(name, version, resolvePath(path), info, runner, batcher);
  }

  /** Runs fn after every earlier load/unload of `name` finished (each model changes one step at a time). */
  private locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
