// Inference worker thread: owns the onnxruntime-node session (see runner.ts for why).
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { EpUnavailableError, createSession } from './ep.js';
import { type WorkerInit, type WorkerReply, type WorkerRequest, runSession, sessionOptionsFor, tensorInfosOf } from './runner.js';

const port = parentPort;
if (!port) throw new Error('infer-worker.js must run as a worker thread');
const init = workerData as WorkerInit;
const send = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const { session, ep, tried } = await createSession(init.modelPath, {
    ep: init.ep,
    sessionOptions: sessionOptionsFor(init.intraOpThreads, init.spin),
    log: (line) => send({ type: 'log', line }),
  });
  // Runs are serialised: the batcher may send a second (full) batch while the first computes; it starts here
  // the moment the first ends, without waiting for the main thread's event loop.
  let previous: Promise<unknown> = Promise.resolve();
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'close') {
      void previous.then(() => session.release()).finally(() => {
        send({ type: 'closed' });
        port.close();
      });
      return;
    }
    previous = previous.then(() => runSession(session, ort, m.pixels, m.dims)).then(
      (r) => send({ type: 'result', id: m.id, outputs: r.outputs, computeMs: r.computeMs }, Object.values(r.outputs).map((o) => o.data.buffer as ArrayBuffer)),
      (e: unknown) => send({ type: 'runError', id: m.id, message: e instanceof Error ? e.message : String(e) }),
    );
  });
  send({ type: 'ready', ep, tried, inputs: tensorInfosOf(session.inputMetadata), outputs: tensorInfosOf(session.outputMetadata) });
} catch (e) {
  send({ type: 'initError', message: e instanceof Error ? e.message : String(e), tried: e instanceof EpUnavailableError ? e.tried : [] });
}
