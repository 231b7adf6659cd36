// A small HTTP load generator on node:http for the soak test: closed loop (capacity) and open loop (a fixed
// arrival rate, whatever the server does), keep-alive, 127.0.0.1 only, every request bounded by a client
// timeout. Reports statuses, errors, latencies of the 200s and its own CPU time.
import { Agent, request } from 'node:http';
import { type Socket, connect } from 'node:net';

export interface Shot {
  status?: number;
  error?: string;
  ms: number;
  body?: string;
  tag: number;
}

export function shoot(agent: Agent, url: string, body: Buffer, tag: number, timeoutMs: number, keepBody: boolean): Promise<Shot> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (s: Omit<Shot, 'ms' | 'tag'>) => {
      if (done) return;
      done = true;
      resolve({ ...s, ms: performance.now() - t0, tag });
    };
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => keepBody && res.statusCode === 200 && chunks.push(d));
      res.on('end', () => finish({ status: res.statusCode!, ...(keepBody ? { body: Buffer.concat(chunks).toString('utf8') } : {}) }));
      res.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    req.end(body);
  });
}

export interface LoadResult {
  seconds: number;
  sent: number;
  shots: Shot[];
  /** CPU seconds this process spent (user + system) during the run. */
  cpuS: number;
}

/** `workers` clients, each sending its next request when the last is answered, for `seconds`. */
export async function closedLoop(url: string, bodies: Buffer[], workers: number, seconds: number, keepBody = false): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const shots: Shot[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        const tag = sent++ % bodies.length;
        shots.push(await shoot(agent, url, bodies[tag]!, tag, 10_000, keepBody));
      }
    }),
  );
  agent.destroy();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, sent, shots, cpuS: (cpu.user + cpu.system) / 1e6 };
}

/**
 * `rate` requests per second for `seconds`, sent on schedule whatever the answers (open loop). node:http's
 * client costs more CPU per request than the server's refusal, so this one writes prebuilt requests on raw
 * keep-alive sockets (one outstanding per connection) and parses only status, content-length and the body
 * of 200s. A request waiting for a free connection counts its wait in its latency. rate 0: closed loop (every
 * connection sends its next request as soon as it is answered), for capacity.
 */
export async function openLoop(url: string, bodies: Buffer[], rate: number, seconds: number, connections: number, keepBody = true): Promise<LoadResult> {
  const u = new URL(url);
  const reqs = bodies.map((b) =>
    Buffer.concat([Buffer.from(`POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`), b]),
  );
  const shots: Shot[] = [];
  // Requests due but not yet on a connection. A FIFO with a head index: when the server falls behind this can
  // hold hundreds of thousands, and Array.prototype.shift on an array that large (V8's large-object space,
  // where it cannot trim in place) copies the whole array each time, which made the generator itself the
  // bottleneck of a 2x-capacity run (one core at 100%, most requests never sent).
  const waiting = new Fifo<{ tag: number; t0: number }>();
  const idle: Conn[] = [];
  let open = 0;
  interface Conn {
    sock: Socket;
    buf: Buffer;
    cur: { tag: number; t0: number } | null;
  }
  const fail = (c: Conn, error: string) => {
    if (c.cur) shots.push({ error, ms: performance.now() - c.cur.t0, tag: c.cur.tag });
    c.cur = null;
  };
  let sent = 0;
  let running = false;
  const send = (c: Conn) => {
    if (rate === 0 && running && waiting.length === 0) {
      waiting.push({ tag: sent % bodies.length, t0: performance.now() });
      sent++;
    }
    const next = waiting.shift();
    if (next === undefined) return void idle.push(c);
    c.cur = next;
    c.sock.setTimeout(10_000);
    c.sock.write(reqs[next.tag]!);
  };
  const onData = (c: Conn, d: Buffer) => {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    for (;;) {
      const h = c.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      if (!c.cur) {
        // An answer to no request: the server gave up on an idle connection (node's headers timeout answers a
        // new connection that sent nothing for --body-timeout-ms with 408 and closes it). Drop the connection
        // now, before a request is handed to it and the 408 is taken for that request's answer.
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
        c.sock.destroy();
        return;
      }
      const head = c.buf.subarray(0, h).toString('latin1');
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (c.buf.length < h + 4 + len) return;
      const status = Number(head.slice(9, 12));
      const body = keepBody && status === 200 ? c.buf.subarray(h + 4, h + 4 + len).toString('utf8') : undefined;
      shots.push({ status, ms: performance.now() - c.cur.t0, tag: c.cur.tag, ...(body !== undefined ? { body } : {}) });
      c.buf = c.buf.subarray(h + 4 + len);
      c.cur = null;
      c.sock.setTimeout(0);
      if (/\r\nconnection: *close/i.test(head)) return void c.sock.destroy();
      send(c);
    }
  };
  const connectOne = () =>
    new Promise<void>((resolve) => {
      const c: Conn = { sock: connect({ host: u.hostname, port: Number(u.port) }), buf: Buffer.alloc(0), cur: null };
      open++;
      c.sock.setNoDelay(true);
      c.sock.on('connect', () => {
        send(c);
        resolve();
      });
      c.sock.on('data', (d: Buffer) => onData(c, d));
      c.sock.on('error', (e: NodeJS.ErrnoException) => fail(c, e.code ?? e.message));
      c.sock.on('close', () => {
        open--;
        fail(c, 'closed without an answer');
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
        resolve();
      });
      // The client timeout bounds an outstanding request only. An idle connection must not time out: destroy()
      // closes it a tick later, and a request handed to it in between (it is still in `idle`) was lost with
      // "closed without an answer" (9-39 of ~40,000 in soak runs whose low rate left connections idle for 10 s).
      c.sock.on('timeout', () => {
        if (!c.cur) return;
        fail(c, 'CLIENT_TIMEOUT');
        c.sock.destroy();
      });
    });
  await Promise.all(Array.from({ length: connections }, connectOne));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  running = true;
  if (rate === 0) for (const c of idle.splice(0)) send(c);
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const el = (performance.now() - t0) / 1000;
      if (rate === 0) {
        if (el >= seconds) {
          running = false;
          clearInterval(tick);
          resolve();
        }
        return;
      }
      const due = Math.min(Math.floor(rate * el), Math.floor(rate * seconds));
      for (; sent < due; sent++) {
        waiting.push({ tag: sent % bodies.length, t0: performance.now() });
        // Oldest idle connection first: every connection gets used, none sits idle into the server's timeouts.
        const c = idle.shift();
        if (c) send(c);
      }
      if (el >= seconds) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  // Everything sent is answered (or fails) within the 10 s socket timeout.
  for (const end = performance.now() + 15_000; shots.length < sent && performance.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  const cpu = process.cpuUsage(cpu0);
  for (const c of idle.splice(0)) c.sock.destroy();
  const unanswered = sent - shots.length;
  for (let i = 0; i < unanswered; i++) shots.push({ error: 'no answer within 15 s', ms: 15_000, tag: 0 });
  return { seconds, sent, shots, cpuS: (cpu.user + cpu.system) / 1e6 };
}

/** First in, first out, O(1) per operation at any length (compacts once half of its storage is consumed). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++]!;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
