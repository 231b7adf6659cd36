// Checkpoint file: "ECLCKPT1" | u32 header length | JSON header | float32 payload.
// The header carries the model spec, the run config, the training position and a sha256 of the payload,
// so a truncated or corrupted file is detected before any weights are used. Writes are atomic.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './fs-atomic.js';
const MAGIC = 'ECLCKPT1';
export function encodeCheckpoint(ck) {
    let offset = 0;
    const chunks = [];
    const entries = (m) => [...m.entries()].map(([name, t]) => {
        const n = t.shape.reduce((a, b) => a * b, 1);
        if (n !== t.data.length)
            throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
        const e = { name, shape: t.shape, offset, length: n };
        offset += n;
        chunks.push(t.data);
        return e;
    });
    const params = entries(ck.params);
    const optimizer = entries(ck.optimizer);
    const payload = Buffer.alloc(offset * 4);
    let o = 0;
    for (const c of chunks) {
        Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(payload, o);
        o += c.byteLength;
    }
    const header = {
        ...ck.meta,
        params,
        optimizer,
        payloadBytes: payload.length,
        payloadSha256: createHash('sha256').update(payload).digest('hex'),
    };
    const hbytes = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(hbytes.length);
    return Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, hbytes, payload]);
}
export function decodeCheckpoint(buf, source = 'checkpoint') {
    const bad = (why) => new Error(`corrupt checkpoint ${source}: ${why}`);
    if (buf.length < 12 || buf.subarray(0, 8).toString('ascii') !== MAGIC)
        throw bad(`not an ECL checkpoint (bad magic)`);
    const hlen = buf.readUInt32LE(8);
    if (12 + hlen > buf.length)
        throw bad(`truncated header (${buf.length} bytes, header needs ${12 + hlen})`);
    let header;
    try {
        header = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8'));
    }
    catch {
        throw bad('header is not valid JSON');
    }
    if (header.version !== 1)
        throw bad(`unsupported version ${String(header.version)}`);
    const payload = buf.subarray(12 + hlen);
    if (payload.length !== header.payloadBytes)
        throw bad(`truncated payload (${payload.length} of ${header.payloadBytes} bytes)`);
    const sha = createHash('sha256').update(payload).digest('hex');
    if (sha !== header.payloadSha256)
        throw bad('payload checksum mismatch');
    // Copy into an aligned buffer so Float32Array views are valid.
    const aligned = new Float32Array(payload.length / 4);
    new Uint8Array(aligned.buffer).set(payload);
    const read = (es) => new Map(es.map((e) => [e.name, { shape: e.shape, data: aligned.slice(e.offset, e.offset + e.length) }]));
    const { params, optimizer, payloadBytes: _b, payloadSha256: _s, ...meta } = header;
    return { meta: meta, params: read(params), optimizer: read(optimizer) };
}
export function checkpointSha256(path) {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
}
export function readCheckpoint(path) {
    let buf;
    try {
        buf = readFileSync(path);
    }
    catch (e) {
        const code = e.code;
        throw new Error(code === 'ENOENT' ? `checkpoint not found: ${path}` : `cannot read checkpoint ${path}: ${e.message}`);
    }
    return decodeCheckpoint(buf, path);
}
export function writeCheckpoint(path, ck) {
    writeFileAtomic(path, encodeCheckpoint(ck));
}
//# sourceMappingURL=checkpoint.js.map