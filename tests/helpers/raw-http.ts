// A raw HTTP/1.1 client over net for the abuse tests: send headers and part of a body, stall, drip, pipeline,
// and see exactly what the server answers and when it closes (fetch hides all of that). Loopback only;
// every wait is bounded.
import { type Socket, connect } from 'node:net';

export interface RawConn {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed (end or close), with what was received and any socket error code. */
  closed: Promise<{ data: string; error: string | null; afterMs: number }>;
  /** Resolves once `re` matches the received bytes, or rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  write(data: string | Buffer): Promise<void>;
}

export function rawConnect(url: string): Promise<RawConn> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    const t0 = performance.now();
    let data = '';
    let error: string | null = null;
    const listeners: Array<() => void> = [];
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      for (const l of listeners.slice()) l();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const closed = new Promise<{ data: string; error: string | null; afterMs: number }>((r) => socket.on('close', () => r({ data, error, afterMs: performance.now() - t0 })));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        write: (d) => new Promise((r, j) => socket.write(d, (e) => (e ? j(e) : r()))),
        waitFor: (re, timeoutMs) =>
          new Promise((r, j) => {
            const check = () => {
              if (re.test(data)) {
                clearTimeout(timer);
                listeners.splice(listeners.indexOf(check), 1);
                r(data);
              }
            };
            const timer = setTimeout(() => {
              listeners.splice(listeners.indexOf(check), 1);
              j(new Error(`no ${re} within ${timeoutMs} ms; received: ${JSON.stringify(data.slice(0, 300))}`));
            }, timeoutMs);
            listeners.push(check);
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** Request head for POST `path` with the given headers (content-length as given, not computed). */
export const postHead = (path: string, headers: Record<string, string | number>) =>
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

/** A JSON v2 inference body for an [n, 28, 28, 1] uint8 model. */
export const inferBody28 = (n = 1, v = 7) => JSON.stringify({ inputs: [{ name: 'pixels', shape: [n, 28, 28, 1], datatype: 'UINT8', data: Array(n * 784).fill(v) }] });
