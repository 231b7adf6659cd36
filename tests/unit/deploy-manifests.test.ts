// The deployment manifests (deploy/kserve, deploy/k8s) are valid and agree with the server and its image:
//   - Kubernetes objects validate with kubernetes-models; the InferenceService with the vendored KServe schema
//     (deploy/schemas/, unknown fields are errors) and its containers and pod fields with kubernetes-models;
//   - container args are options the server accepts; probe and scrape paths are routes a running server answers
//     200; ports agree with the image (deploy/Containerfile's ECL_SERVE_PORT) and with each other;
//   - a typo anywhere (a field name, a type, an option, a path) is reported: each mutation below must fail.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Container, PersistentVolumeClaim, PodSpec, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import yargs from 'yargs';
import { type RunningServer, startServer } from '../../serve/node/server.js';
import { serveOptions } from '../../serve/node/options.js';
import { validateSchema } from '../helpers/json-schema.js';
import { REPO_ROOT, makeServeModel } from '../helpers/serve-helpers.js';

// Parsed YAML: shape checked by the validators below, read loosely here.
type Obj = Record<string, any>;
interface Doc {
  file: string;
  obj: Obj;
}

const DEPLOY = join(REPO_ROOT, 'deploy');
const SCHEMA = JSON.parse(readFileSync(join(DEPLOY, 'schemas', 'inferenceservice-v1beta1.schema.json'), 'utf8')) as Obj;
const CONTAINER_SCHEMA = { $ref: '#/definitions/Container' };

function loadDocs(): Doc[] {
  const docs: Doc[] = [];
  for (const dir of ['kserve', 'k8s'])
    for (const f of readdirSync(join(DEPLOY, dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      for (const d of parseAllDocuments(readFileSync(join(DEPLOY, dir, f), 'utf8'))) {
        if (d.errors.length) throw new Error(`${dir}/${f}: ${d.errors[0]!.message}`);
        docs.push({ file: `${dir}/${f}`, obj: d.toJSON() as Obj });
      }
    }
  return docs;
}

/** What the image sets: deploy/Containerfile's port, exposed port and default model path. */
function imageFacts(): { port: number; exposed: number; model: string } {
  const cf = readFileSync(join(DEPLOY, 'Containerfile'), 'utf8');
  const port = Number(/ECL_SERVE_PORT=(\d+)/.exec(cf)?.[1]);
  const exposed = Number(/^EXPOSE (\d+)/m.exec(cf)?.[1]);
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(cf)?.[1] ?? '[]') as string[];
  return { port, exposed, model: cmd[cmd.indexOf('--model') + 1]! };
}

const K8S: Record<string, new (o: Obj) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment as never,
  'v1/Service': Service as never,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
};

const tryValidate = (what: string, f: () => void): string[] => {
  try {
    f();
    return [];
  } catch (e) {
    return [`${what}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`];
  }
};

/** Why the server would refuse these container args (null when it accepts them). */
async function argsProblem(args: string[]): Promise<string | null> {
  try {
    await serveOptions(yargs(args))
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The server's pod: the containers and pod-level fields of a Deployment or an InferenceService predictor. */
function podOf(d: Doc): { pod: Obj; containers: Obj[]; annotations: Obj } | null {
  if (d.obj.kind === 'Deployment') return { pod: d.obj.spec.template.spec, containers: d.obj.spec.template.spec.containers, annotations: d.obj.spec.template.metadata?.annotations ?? {} };
  if (d.obj.kind === 'InferenceService') return { pod: d.obj.spec.predictor, containers: d.obj.spec.predictor.containers, annotations: d.obj.metadata.annotations ?? {} };
  return null;
}

/** Every problem found in the manifests (empty when they are right). `server` answers the probe paths. */
async function manifestProblems(docs: Doc[], server: RunningServer): Promise<string[]> {
  const problems: string[] = [];
  const image = imageFacts();
  const byKind = (k: string) => docs.filter((d) => d.obj.kind === k);
  for (const d of docs) {
    const id = `${d.file} ${d.obj.kind}/${d.obj.metadata?.name}`;
    if (d.obj.kind === 'InferenceService') {
      problems.push(...validateSchema(d.obj, SCHEMA).map((e) => `${id}: ${e}`));
      // The pod fields of the predictor (PodSpec inline) and its containers, with kubernetes-models' validators.
      const pred = d.obj.spec?.predictor ?? {};
      const podFields = Object.fromEntries(Object.entries(pred).filter(([k]) => k in SCHEMA.definitions.PredictorSpec.properties && !(k in PREDICTOR_EXTENSION_FIELDS)));
      problems.push(...tryValidate(`${id} predictor pod fields`, () => new PodSpec(podFields as never).validate()));
    } else {
      const Cls = K8S[`${d.obj.apiVersion}/${d.obj.kind}`];
      if (!Cls) {
        problems.push(`${id}: unknown apiVersion/kind ${d.obj.apiVersion}/${d.obj.kind}`);
        continue;
      }
      problems.push(...tryValidate(id, () => new Cls(d.obj).validate()));
    }
    const p = podOf(d);
    if (!p) continue;
    for (const c of p.containers ?? []) {
      const cid = `${id} container ${c.name}`;
      problems.push(...tryValidate(cid, () => new Container(c as never).validate()));
      // Unknown container fields (kubernetes-models accepts them): the field names of the vendored definition.
      problems.push(...validateSchema(c, { ...CONTAINER_SCHEMA, definitions: SCHEMA.definitions }, SCHEMA).map((e) => `${cid}: ${e}`));
      const args = (c.args ?? []) as string[];
      const bad = await argsProblem(args);
      if (bad) problems.push(`${cid}: the server refuses its args: ${bad}`);
      const model = args[args.indexOf('--model') + 1];
      if (model !== image.model) problems.push(`${cid}: --model ${model} is not where the image and KServe put the model (${image.model})`);
      if (d.obj.kind === 'InferenceService') {
        const name = args[args.indexOf('--model-name') + 1];
        if (name !== d.obj.metadata.name) problems.push(`${cid}: --model-name ${name} differs from the InferenceService name ${d.obj.metadata.name} (/v2/models/{name})`);
      }
      const ports = (c.ports ?? []) as Obj[];
      if (!ports.some((x) => x.containerPort === image.port)) problems.push(`${cid}: no containerPort ${image.port} (the image's ECL_SERVE_PORT)`);
      const portOf = (x: unknown) => (typeof x === 'number' ? x : ports.find((q) => q.name === x)?.containerPort);
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const g = c[probe]?.httpGet as Obj | undefined;
        if (!g) continue;
        if (portOf(g.port) !== image.port) problems.push(`${cid}: ${probe} port ${g.port} is not the server's ${image.port}`);
        const status = (await fetch(`${server.url}${g.path}`)).status;
        if (status !== 200) problems.push(`${cid}: ${probe} path ${g.path} answers ${status}, not 200`);
      }
      if (!c.readinessProbe || !c.livenessProbe) problems.push(`${cid}: needs a readiness and a liveness probe`);
      if (!c.resources?.requests || !c.resources?.limits) problems.push(`${cid}: needs resource requests and limits`);
    }
    // Scrape annotations: the server's port and a path it answers.
    const a = p.annotations as Record<string, string>;
    for (const [portKey, pathKey] of [
      ['prometheus.io/port', 'prometheus.io/path'],
      ['prometheus.kserve.io/port', 'prometheus.kserve.io/path'],
    ] as const) {
      if (!(portKey in a) && !(pathKey in a)) continue;
      if (Number(a[portKey]) !== image.port) problems.push(`${id}: ${portKey} ${a[portKey]} is not the server's ${image.port}`);
      const status = (await fetch(`${server.url}${a[pathKey]}`)).status;
      if (status !== 200) problems.push(`${id}: ${pathKey} ${a[pathKey]} answers ${status}, not 200`);
    }
    if (a['prometheus.io/scrape'] !== 'true') problems.push(`${id}: no prometheus.io/scrape: "true"`);
    if (d.obj.kind === 'InferenceService' && a['serving.kserve.io/enable-prometheus-scraping'] !== 'true') problems.push(`${id}: no serving.kserve.io/enable-prometheus-scraping`);
    const sc = p.pod.securityContext as Obj | undefined;
    if (sc?.runAsNonRoot !== true || sc?.runAsUser !== 1000) problems.push(`${id}: the pod must run as non-root user 1000 (the image's user)`);
    if (!(Number(p.pod.terminationGracePeriodSeconds) > 30)) problems.push(`${id}: terminationGracePeriodSeconds must exceed --shutdown-timeout 30 so the drain can finish`);
  }
  if (image.exposed !== image.port) problems.push(`deploy/Containerfile: EXPOSE ${image.exposed} but ECL_SERVE_PORT=${image.port}`);
  // The k8s objects point at each other.
  for (const svc of byKind('Service')) {
    const dep = byKind('Deployment').find((d) => Object.entries(svc.obj.spec.selector as Obj).every(([k, v]) => d.obj.spec.template.metadata.labels?.[k] === v));
    if (!dep) problems.push(`${svc.file}: selector matches no Deployment's pods`);
    else for (const port of svc.obj.spec.ports as Obj[]) if (!podOf(dep)!.containers.some((c) => (c.ports as Obj[]).some((q) => q.name === port.targetPort || q.containerPort === port.targetPort))) problems.push(`${svc.file}: targetPort ${port.targetPort} is no container port`);
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const ref = hpa.obj.spec.scaleTargetRef as Obj;
    if (!byKind(ref.kind).some((d) => d.obj.metadata.name === ref.name)) problems.push(`${hpa.file}: scaleTargetRef ${ref.kind}/${ref.name} not found`);
  }
  for (const dep of byKind('Deployment'))
    for (const v of (dep.obj.spec.template.spec.volumes ?? []) as Obj[])
      if (v.persistentVolumeClaim && !byKind('PersistentVolumeClaim').some((c) => c.obj.metadata.name === v.persistentVolumeClaim.claimName)) problems.push(`${dep.file}: PVC ${v.persistentVolumeClaim.claimName} not defined`);
  return problems;
}

/** ComponentExtensionSpec and framework fields of a predictor: KServe's, not the pod's. */
const PREDICTOR_EXTENSION_FIELDS = Object.fromEntries(
  ['minReplicas', 'maxReplicas', 'scaleTarget', 'scaleMetric', 'containerConcurrency', 'timeout', 'canaryTrafficPercent', 'logger', 'batcher', 'labels', 'annotations', 'deploymentStrategy', 'sklearn', 'xgboost', 'tensorflow', 'pytorch', 'triton', 'onnx', 'huggingface', 'pmml', 'lightgbm', 'paddle', 'model', 'workerSpec', 'storageUris'].map((k) => [k, true]),
);

let root: string;
let server: RunningServer;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-manifests-'));
  const model = await makeServeModel(root, { name: 'manifests', seed: 3 });
  server = await startServer({ modelPath: model.modelPath, host: '127.0.0.1', port: 0, ep: 'cpu', inference: 'inline', defaultMetrics: false });
});
after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const clone = <T>(x: T): T => structuredClone(x);
const renameKey = (o: Obj, from: string, to: string) => {
  assert.ok(from in o, `fixture lost its ${from}`);
  o[to] = o[from];
  delete o[from];
};

describe('deploy manifests', () => {
  const docs = loadDocs();
  const find = (kind: string, file?: string) => docs.findIndex((d) => d.obj.kind === kind && (!file || d.file === file));

  it('are all there: two InferenceServices, Deployment, Service, HPA, the model PVC', () => {
    assert.deepEqual(docs.map((d) => `${d.file}:${d.obj.kind}`).sort(), [
      'k8s/deployment.yaml:Deployment',
      'k8s/hpa.yaml:HorizontalPodAutoscaler',
      'k8s/model-pvc.yaml:PersistentVolumeClaim',
      'k8s/service.yaml:Service',
      'kserve/inferenceservice-cuda.yaml:InferenceService',
      'kserve/inferenceservice.yaml:InferenceService',
    ]);
    const cuda = docs[find('InferenceService', 'kserve/inferenceservice-cuda.yaml')]!.obj;
    assert.equal(cuda.spec.predictor.containers[0].resources.limits['nvidia.com/gpu'], 1);
  });

  it('validate and agree with the server and its image', async () => {
    assert.deepEqual(await manifestProblems(docs, server), []);
  });

  // Each mutation is a typo a person could make; the check must name it.
  const mutations: Array<[string, (ds: Doc[]) => void, RegExp]> = [
    ['a misspelt predictor field', (ds) => renameKey(ds[find('InferenceService', 'kserve/inferenceservice.yaml')]!.obj.spec.predictor, 'minReplicas', 'minReplica'), /unknown field 'minReplica'/],
    ['a misspelt InferenceService container field', (ds) => renameKey(ds[find('InferenceService', 'kserve/inferenceservice.yaml')]!.obj.spec.predictor.containers[0], 'readinessProbe', 'readinesProbe'), /unknown field 'readinesProbe'/],
    ['an InferenceService name KServe refuses', (ds) => void (ds[find('InferenceService')]!.obj.metadata.name = 'ECL_classifier'), /does not match/],
    ['a scaleMetric KServe does not know', (ds) => void (ds[find('InferenceService')]!.obj.spec.predictor.scaleMetric = 'latency'), /must be one of/],
    ['a misspelt Deployment container field', (ds) => renameKey(ds[find('Deployment')]!.obj.spec.template.spec.containers[0], 'livenessProbe', 'livenesProbe'), /unknown field 'livenesProbe'/],
    ['a port written as a string', (ds) => void (ds[find('Deployment')]!.obj.spec.template.spec.containers[0].ports[0].containerPort = '8080'), /containerPort must be integer/],
    ['a misspelt HPA field', (ds) => renameKey(ds[find('HorizontalPodAutoscaler')]!.obj.spec, 'maxReplicas', 'maxReplica'), /maxReplicas/],
    ['a server option that does not exist', (ds) => void ds[find('Deployment')]!.obj.spec.template.spec.containers[0].args.push('--max-bach', '8'), /refuses its args: .*max-bach/],
    ['a probe path the server does not answer', (ds) => void (ds[find('InferenceService')]!.obj.spec.predictor.containers[0].readinessProbe.httpGet.path = '/v2/health/redy'), /readinessProbe path \/v2\/health\/redy answers 404/],
    ['a scrape port that is not the server\'s', (ds) => void (ds[find('Deployment')]!.obj.spec.template.metadata.annotations['prometheus.io/port'] = '9090'), /prometheus.io\/port 9090/],
    ['a Service pointing at no container port', (ds) => void (ds[find('Service')]!.obj.spec.ports[0].targetPort = 'htp'), /targetPort htp is no container port/],
  ];
  for (const [what, mutate, expected] of mutations)
    it(`report ${what}`, async () => {
      const ds = clone(docs);
      mutate(ds);
      const problems = await manifestProblems(ds, server);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got:\n${problems.join('\n') || '(none)'}`,
      );
    });
});
