// The server as a child process (`node dist/serve/node/main.js --port 0 ...`), for the tools that talk to the real
// thing over HTTP: the serving benchmark, parity's /v1/classify runtime and the tests. It resolves once the server
// prints its "listening on <url>" line, and fails with the end of its stderr when it exits or stalls first.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/serve/node/main.js, next to this module once compiled. */
export const SERVE_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  /** host:port of the gRPC server when the args include --grpc-port (its second stdout line), else null. */
  grpc: string | null;
  /** Everything the server wrote to stderr so far (the last 64 KiB). */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns the server on 127.0.0.1 and a free port (the caller's args may override --host). nodeArgs go to node
 * itself, before the script (e.g. --cpu-prof).
 */
export function startChildServer(args: string[], timeoutMs = 30_000, nodeArgs: string[] = []): Promise<ChildServer> {
  const proc = spawn(process.execPath, [...nodeArgs, SERVE_MAIN, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  const wantGrpc = args.includes('--grpc-port');
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-65536)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const tail = () => err.trim().split('\n').slice(-5).join('\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the server did not start in ${timeoutMs} ms:\n${tail()}`));
    }, timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      const g = /grpc listening on (\S+)/.exec(out);
      if (m && (g || !wantGrpc)) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, grpc: g?.[1] ?? null, stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before listening:\n${tail()}`));
    });
  });
}
