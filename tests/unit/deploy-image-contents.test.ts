// What the container image is built from, checked without podman (make test): the server's import graph is
// serve-only, deploy/runtime pins the root lock's versions, the onnxruntime-web files kept are the ones the web
// app's page loads, and ECL_SERVE_HOST/ECL_SERVE_PORT set the defaults of --host/--port (flags win).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { ORT_WEB_FILES, runtimeDependencies, serverGraphProblems, serverImportGraph } from '../../pipeline/deploy/server-files.js';
import { listenDefaults, serveOptions } from '../../serve/node/options.js';
import { ServeUsageError } from '../../serve/node/errors.js';
import { REPO_ROOT } from '../helpers/serve-helpers.js';

type Lock = { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
const readJson = <T>(p: string) => JSON.parse(readFileSync(join(REPO_ROOT, p), 'utf8')) as T;

describe('the server image is serve-only', { timeout: 60_000 }, () => {
  it("the standalone server's import graph holds no training, benchmark or test code or package", async () => {
    const g = await serverImportGraph(REPO_ROOT);
    assert.ok(g.files.includes('dist/serve/node/server.js') && g.files.includes('dist/serve/node/infer-worker.js'), 'the graph follows the dynamic import and the worker');
    assert.ok(g.packages.includes('onnxruntime-node') && g.packages.includes('fastify'), g.packages.join(', '));
    assert.deepEqual(serverGraphProblems(g, Object.keys(runtimeDependencies(REPO_ROOT))), []);
  });

  it('the check refuses training code, tfjs and packages the runtime does not list', () => {
    const problems = serverGraphProblems({ files: ['dist/serve/node/main.js', 'dist/pipeline/train/trainer.js'], packages: ['fastify', '@tensorflow/tfjs-core', 'left-pad'] }, ['fastify']);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems.join('\n'), /dist\/pipeline\/train\/trainer\.js/);
    assert.match(problems.join('\n'), /@tensorflow\/tfjs-core, a training/);
    assert.match(problems.join('\n'), /left-pad, which deploy\/runtime\/package\.json does not list/);
  });

  it('deploy/runtime pins exactly the versions of the root lock, and its lock matches its package.json', () => {
    const root = readJson<Lock>('package-lock.json');
    const lock = readJson<Lock>('deploy/runtime/package-lock.json');
    const deps = runtimeDependencies(REPO_ROOT);
    for (const [name, version] of Object.entries(deps)) assert.equal(version, root.packages[`node_modules/${name}`]?.version, name);
    assert.deepEqual(lock.packages['']?.dependencies, deps);
    // Every package the image installs is the version the checkout tests with.
    const differ = Object.entries(lock.packages).filter(([k, v]) => k && root.packages[k]?.version !== v.version);
    assert.deepEqual(differ.map(([k]) => k), []);
  });

  it('keeps every onnxruntime-web file the web page loads', () => {
    const html = readFileSync(join(REPO_ROOT, 'serve', 'web', 'index.html'), 'utf8');
    const bundle = /"onnxruntime-web\/webgpu":\s*"\.\/ort\/([^"]+)"/.exec(html)?.[1];
    assert.ok(bundle && (ORT_WEB_FILES as readonly string[]).includes(bundle), `index.html's import map: ${bundle}`);
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    const loads = new Set(readFileSync(join(dist, bundle), 'utf8').match(/ort-wasm[\w.-]*\.(?:wasm|mjs)/g));
    assert.ok(loads.size > 0);
    for (const f of loads) assert.ok((ORT_WEB_FILES as readonly string[]).includes(f), `${bundle} loads ${f}`);
  });
});

describe('ECL_SERVE_HOST / ECL_SERVE_PORT', () => {
  const parse = async (args: string[], env: Record<string, string>) =>
    (await serveOptions(yargs(['--model', 'm.onnx', ...args]), '$0', listenDefaults(env)).strict().exitProcess(false).parseAsync()) as unknown as { host: string; port: number };

  it('set the defaults of --host/--port; the flags win', async () => {
    assert.deepEqual(listenDefaults({}), { host: '127.0.0.1', port: 8000 });
    const env = { ECL_SERVE_HOST: '0.0.0.0', ECL_SERVE_PORT: '8080' };
    const a = await parse([], env);
    assert.deepEqual([a.host, a.port], ['0.0.0.0', 8080]);
    const b = await parse(['--host', '127.0.0.1', '--port', '9000'], env);
    assert.deepEqual([b.host, b.port], ['127.0.0.1', 9000]);
  });

  it('a port that is not an integer 0..65535 is a usage error naming the variable', () => {
    for (const bad of ['http', '8080.5', '70000', '-1'])
      assert.throws(() => listenDefaults({ ECL_SERVE_PORT: bad }), (e: unknown) => e instanceof ServeUsageError && /ECL_SERVE_PORT must be an integer 0\.\.65535/.test((e as Error).message));
  });
});
