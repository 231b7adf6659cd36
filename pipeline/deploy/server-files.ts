// What of this project the server's container image holds: the import graph of the standalone server
// (dist/serve/node/main.js and its inference worker), found with dependency-cruiser on the compiled code, plus
// the files the web app serves by path. The graph is checked so the image can never carry (or need) the
// training side: no pipeline/ code, no tfjs, no benchmark or browser-test packages.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Entry points: the server and the worker thread it starts by URL (runner.ts), which no import names. */
export const SERVER_ENTRIES = ['dist/serve/node/main.js', 'dist/serve/node/infer-worker.js'] as const;

/** Packages that belong to training, benchmarks or browser tests: never in the server's graph. */
const NOT_SERVER_PACKAGES = [/^@tensorflow\//, /^playwright/, /^autocannon$/, /^vega/, /^webgpu$/, /^cli-progress$/, /^csv-parse$/, /^@stryker-mutator\//];
/** Project folders the server may load (compiled). Everything else (pipeline/, scripts/, tests/) is refused. */
const SERVER_DIRS = /^dist\/(serve\/(node|shared)\/|models\/|export\/onnx-builder\.js$)/;

export interface ServerGraph {
  /** Compiled project files the server imports, relative to the repository root (dist/...). */
  files: string[];
  /** npm packages it imports (by package name). */
  packages: string[];
}

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
export const packageName = (specifier: string): string => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
};

interface CruiseModule {
  source: string;
  coreModule?: boolean;
  dependencies: Array<{ resolved: string; module: string; coreModule: boolean; dependencyTypes: string[] }>;
}

/** The import graph of the compiled server, from `root` (needs `make build`). */
export async function serverImportGraph(root: string): Promise<ServerGraph> {
  for (const e of SERVER_ENTRIES) if (!existsSync(join(root, e))) throw new Error(`${e} missing: build first (make build)`);
  // dependency-cruiser is a dev tool: loaded only when an image is built or checked.
  const { cruise } = await import('dependency-cruiser');
  const cwd = process.cwd();
  process.chdir(root);
  let modules: CruiseModule[];
  try {
    const r = await cruise([...SERVER_ENTRIES], { doNotFollow: { path: 'node_modules' }, outputType: 'json' });
    const out = typeof r.output === 'string' ? (JSON.parse(r.output) as { modules: CruiseModule[] }) : (r.output as unknown as { modules: CruiseModule[] });
    modules = out.modules;
  } finally {
    process.chdir(cwd);
  }
  const files = new Set<string>();
  const packages = new Set<string>();
  for (const m of modules) {
    if (m.source.startsWith('dist/')) files.add(m.source);
    for (const d of m.dependencies) {
      if (d.coreModule || d.dependencyTypes.includes('core')) continue;
      if (d.resolved.startsWith('dist/')) files.add(d.resolved);
      else packages.add(packageName(d.module));
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** What is wrong with a graph for a serve-only image (empty when nothing): foreign files or packages. */
export function serverGraphProblems(g: ServerGraph, runtimeDependencies: readonly string[]): string[] {
  const problems: string[] = [];
  for (const f of g.files) if (!SERVER_DIRS.test(f)) problems.push(`the server imports ${f}, which is not serving code (serve/node, serve/shared, models/, export/onnx-builder)`);
  for (const p of g.packages) {
    if (NOT_SERVER_PACKAGES.some((re) => re.test(p))) problems.push(`the server imports ${p}, a training/benchmark/test package`);
    else if (!runtimeDependencies.includes(p)) problems.push(`the server imports ${p}, which deploy/runtime/package.json does not list`);
  }
  return problems;
}

/** Dependencies of deploy/runtime/package.json: the image's node_modules. */
export function runtimeDependencies(root: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'deploy', 'runtime', 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return pkg.dependencies ?? {};
}

/**
 * Project files the web app serves by path rather than imports (serve/node/web-plugin.ts): the browser modules,
 * its static files and the sample images. Relative to the repository root.
 */
export function webAppFiles(root: string): string[] {
  const list = (dir: string, re: RegExp) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => re.test(f))
          .map((f) => `${dir}/${f}`)
      : [];
  return [
    ...list('dist/serve/web', /\.js$/),
    ...list('dist/serve/shared', /\.js$/),
    'dist/models/onnx-contract.js',
    'serve/web/index.html',
    'serve/web/style.css',
    ...list('pipeline/data/embedded/samples', /\.(png|json)$/),
  ].sort();
}

/** onnxruntime-web files the web app's page loads (index.html's import map -> the bundle -> its wasm), plus the package's main. */
export const ORT_WEB_FILES = ['ort.webgpu.bundle.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm', 'ort.node.min.js'] as const;
