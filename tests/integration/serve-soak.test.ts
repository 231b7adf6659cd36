// Soak (issue 17): the server (a child process) overloaded from 127.0.0.1 by a load generator in this
// process sharing the machine's cores. Every request must be answered 200 or 503 (no client timeouts, no
// resets), every 200 must be the right answer, and the server's RSS must come back within 10% afterwards.
// Two modes:
//   - `make test` (ECL_SOAK_SECONDS unset, 15 s): a closed loop on 768 connections, more than the server
//     admits (--max-inflight 512 + --max-queue), so it must refuse whatever the machine's speed. Its checks
//     hold on a busy machine: none depends on timing.
//   - `make soak` (ECL_SOAK_SECONDS set, 60 s): the benchmark, an open loop at 2x the capacity
//     measured just before. On a machine whose other jobs take the CPU mid-run, 2x an earlier capacity can
//     exceed what the server can even refuse; run it on a quiet machine. Goodput against capacity and the
//     p99 against the unloaded p99 are printed, not asserted (timing never decides a test).
// ECL_SOAK_MODEL picks the model (cnn28, whose inference is cheaper than its HTTP handling, or resnet32,
// inference-bound), ECL_SOAK_SERVER_ARGS adds server options. The figures are printed as one "# soak {...}" line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { settings } from '../../models/settings.js';
import { type ChildServer, type ServeModel, makeServeModel, startChildServer } from '../helpers/serve-helpers.js';
import { closedLoop, openLoop, percentile } from '../helpers/load-gen.js';

const BENCH = settings.soakSeconds() !== undefined;
const SOAK_S = Number(settings.soakSeconds() ?? 15);
const FAMILY = settings.soakModel() ?? 'cnn28';
if (FAMILY !== 'cnn28' && FAMILY !== 'resnet32') throw new Error(`ECL_SOAK_MODEL must be cnn28 or resnet32, got '${FAMILY}'`);
const [H, W, C] = FAMILY === 'cnn28' ? [28, 28, 1] : [32, 32, 3];
let root: string;
let model: ServeModel;
let srv: ChildServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-soak-'));
  model = await makeServeModel(root, { name: 'soak', seed: 5, family: FAMILY });
  // SIGUSR2 -> a full GC in the server (tests/helpers/gc-on-signal.ts), so that the RSS checks see retained memory, not garbage.
  srv = await startChildServer(['--model', model.modelPath, '--ep', 'cpu', '--no-ort-spin', ...settings.soakServerArgs()], 30_000, ['--expose-gc', '--import', GC_ON_SIGNAL]);
});
after(() => {
  if (srv && srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const GC_ON_SIGNAL = new URL('../helpers/gc-on-signal.js', import.meta.url).href;
/** The server's RSS after a full GC (idle node never collects on its own). */
async function rssAfterGc(pid: number): Promise<number> {
  process.kill(pid, 'SIGUSR2');
  await sleep(500);
  return rssMb(pid);
}
const cpuS = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
/**
 * The server's own figures from /metrics: V8 heap and external memory (MB, to tell V8's heap from native
 * memory in the RSS), refusals by reason (which path each 503 took), and the model's batches (count, images,
 * seconds in session.run: how busy overload kept the model).
 */
async function serverFigures(url: string) {
  const m = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const g = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(m)?.[1] ?? NaN);
  return {
    heapTotalMb: Math.round(g('ecl_nodejs_heap_size_total_bytes') / 2 ** 20),
    externalMb: Math.round(g('ecl_nodejs_external_memory_bytes') / 2 ** 20),
    refused: Object.fromEntries([...m.matchAll(/^ecl_inference_rejected_total\{reason="([^"]+)"\} (\S+)/gm)].map((x) => [x[1]!, Number(x[2])])),
    computeS: g('ecl_inference_compute_seconds_sum'),
    batches: g('ecl_inference_compute_seconds_count'),
    images: g('ecl_inference_images_total'),
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Sockets of the server's port the server has not closed yet (ESTABLISHED or CLOSE_WAIT in /proc/net/tcp). */
const serverSockets = (port: number) =>
  readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 3 && parseInt(f[1]!.split(':')[1]!, 16) === port && (f[3] === '01' || f[3] === '08')).length;
/**
 * Waits until the previous phase's connections are gone on the server's side: a busy server closes the 768 a
 * phase leaves behind a while after the generator did, and until then they count against --max-connections,
 * which would close the next phase's new connections at once.
 */
async function settled(port: number): Promise<void> {
  for (const end = Date.now() + 15_000; serverSockets(port) > 16 && Date.now() < end; ) await sleep(100);
}

describe(BENCH ? 'soak: 2x capacity, open loop' : 'soak: closed loop on more connections than admitted', { timeout: (SOAK_S + 120) * 1000 }, () => {
  it(`${FAMILY}: ${SOAK_S} s overloaded: all answered 200/503, 200s correct, RSS back`, async () => {
    const url = `${srv.url}/v2/models/soak/infer`;
    // 8 distinct images and their answers, one request at a time.
    const bodies = Array.from({ length: 8 }, (_, k) =>
      Buffer.from(JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, H, W, C], datatype: 'UINT8', data: Array.from({ length: H * W * C }, (_, i) => (i * (k + 3) * 7 + k * 41) & 255) }], outputs: [{ name: 'probs' }] })),
    );
    const expected: number[][] = [];
    for (const b of bodies) {
      // A cold server can refuse its first requests under a short --queue-timeout-ms (the deadline counts from
      // arrival, and the first JSON parses are slow): retry those.
      let r: Response;
      for (let tries = 0; ; tries++) {
        r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b, signal: AbortSignal.timeout(10_000) });
        if (r.status !== 503 || tries === 20) break;
        await r.arrayBuffer();
        await sleep(50);
      }
      assert.equal(r.status, 200, `reference answer: ${r.status} ${await r.clone().text()}`);
      expected.push(((await r.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data);
    }
    const pid = srv.proc.pid!;
    const unloaded = await closedLoop(url, bodies, 1, 2);
    const p99Unloaded = percentile(unloaded.shots.filter((s) => s.status === 200).map((s) => s.ms), 99);
    // Capacity: a scan of closed loops at 256 ... 4 connections (the same cheap generator as the overload) finds
    // the concurrency with the best rate of 200s, refusals or not (the admission wait refuses part of a closed loop
    // on many connections, and counting only refusal-free levels measured capacity too low, flattering the
    // ratio); then a sustained run at that concurrency measures it, since the best of seven 3 s samples is
    // biased up by their noise (ResNet-32: 1,020-1,215 req/s between runs).
    let scanBest = 0;
    let capacityConnections = 0;
    for (const c of [256, 128, 64, 32, 16, 8, 4]) {
      const cap = await openLoop(url, bodies, 0, 3, c, false);
      const rps = cap.shots.filter((s) => s.status === 200).length / cap.seconds;
      if (rps > scanBest) [scanBest, capacityConnections] = [rps, c];
    }
    const sustained = await openLoop(url, bodies, 0, BENCH ? 15 : 3, capacityConnections, false);
    const capacity = sustained.shots.filter((s) => s.status === 200).length / sustained.seconds;
    // RSS baseline after a short overload warm-up: V8 grows its heap once under load and keeps it, which is
    // not a leak; what must not happen is growth with the time spent under load.
    const port = Number(new URL(url).port);
    const overload = async (seconds: number, keepBody: boolean) => {
      await settled(port);
      return openLoop(url, bodies, BENCH ? Math.round(2 * capacity) : 0, seconds, 768, keepBody);
    };
    await overload(5, false);
    await sleep(1000);
    const rss0 = await rssAfterGc(pid);
    const f0 = await serverFigures(srv.url);
    const srvCpu0 = cpuS(pid);
    // 768 connections (the server allows 1024): enough that the server, not the generator, must refuse.
    const load = await overload(SOAK_S, true);
    const srvCpu = cpuS(pid) - srvCpu0;
    const f1 = await serverFigures(srv.url);
    const ok = load.shots.filter((s) => s.status === 200);
    const goodput = ok.length / SOAK_S;
    const p99 = percentile(ok.map((s) => s.ms), 99);
    const other = load.shots.filter((s) => s.status !== 200 && s.status !== 503);
    const wrong = ok.filter((s) => {
      const got = (JSON.parse(s.body!) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
      return got.length !== expected[s.tag]!.length || got.some((v, i) => Math.abs(v - expected[s.tag]![i]!) > 1e-4);
    });
    let rss1 = await rssAfterGc(pid);
    const trail: number[] = [];
    for (const t0 = Date.now(); rss1 > rss0 * 1.1 && Date.now() - t0 < 20_000; rss1 = await rssAfterGc(pid)) {
      trail.push(Math.round(rss1));
      await sleep(1000);
    }
    process.stdout.write(`# soak rss trail ${trail.join(' ')}\n`);
    const f2 = await serverFigures(srv.url);
    // A refusal before the body (queue_full, queue_timeout, inflight_full) costs a header parse; one shed at
    // batch forming (deadline_expired) was parsed and queued first, nearly an answer's cost.
    const refusedByReason = Object.fromEntries(Object.entries(f1.refused).map(([k, v]): [string, number] => [k, v - (f0.refused[k] ?? 0)]).filter(([, v]) => v > 0));
    const figures = {
      mode: BENCH ? 'open loop at 2x capacity' : 'closed loop, 768 connections',
      model: FAMILY,
      serverArgs: settings.soakServerArgs().join(' '),
      capacityRps: Math.round(capacity),
      capacityConnections,
      capacityScanBestRps: Math.round(scanBest),
      unloadedP99Ms: +p99Unloaded.toFixed(1),
      offeredRps: Math.round(load.sent / SOAK_S),
      goodputRps: Math.round(goodput),
      goodputShare: +(goodput / capacity).toFixed(2),
      rejected503: load.shots.filter((s) => s.status === 503).length,
      refusedByReason,
      // Seconds of session.run per second of load (above 1 when batches overlap in the worker) and images per batch.
      modelBusyShare: +((f1.computeS - f0.computeS) / SOAK_S).toFixed(2),
      meanBatch: +((f1.images - f0.images) / (f1.batches - f0.batches)).toFixed(1),
      p99Of200sMs: +p99.toFixed(1),
      p99OverUnloaded: +(p99 / p99Unloaded).toFixed(1),
      errors: other.length,
      errorSample: other.slice(0, 3).map((x) => `${x.error ?? x.status} after ${Math.round(x.ms)} ms`),
      wrong200s: wrong.length,
      rssBeforeMb: Math.round(rss0),
      rssAfterMb: Math.round(rss1),
      v8HeapMb: `${f0.heapTotalMb} -> ${f2.heapTotalMb}`,
      externalMb: `${f0.externalMb} -> ${f2.externalMb}`,
      loadGenCpuShare: +(load.cpuS / SOAK_S / cpus().length).toFixed(2),
      serverCpuShare: +(srvCpu / SOAK_S / cpus().length).toFixed(2),
    };
    process.stdout.write(`# soak ${JSON.stringify(figures)}\n`);
    assert.deepEqual(other.slice(0, 5).map((s) => s.error ?? s.status), [], 'requests not answered 200/503');
    assert.equal(wrong.length, 0, 'a 200 carried a wrong answer');
    assert.ok(rss1 <= rss0 * 1.1, `server RSS ${rss0.toFixed(0)} MB before, ${rss1.toFixed(0)} MB 20 s after the load`);
    // Both paths ran: the overload was real (refusals) and the model kept answering.
    assert.ok(ok.length > 0 && load.shots.some((s) => s.status === 503), `200s ${ok.length}, 503s ${figures.rejected503}`);
    // Goodput against capacity and p99 against the unloaded p99 are the benchmark's figures (printed above).
  });
});
