// Cache of decoded images for --dataset folder | csv: the second run on the same files starts without decoding.
// Key: sha256 over the file list (path, size, mtime), the decode request (size, channels or 'auto', resize
// policy) and whether bad files are skipped; any change to a file, the list or the request is a new key (a miss).
// File: <cacheDir>/datasets/<key>.bin = 'ECLIMGC1' + u32 LE header length + header JSON + the uint8 images, written
// atomically (models/artifacts/atomic-write.ts). A damaged file (bad magic, header, length or sha256) is a miss.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';

const MAGIC = 'ECLIMGC1';
/** Bump when the decoder's output for the same request changes (invalidates every cache entry). */
export const CACHE_FORMAT_VERSION = 1;
const MAX_HEADER = 64 * 1024 * 1024;

export interface CacheKeyInput {
  files: { path: string; size: number; mtimeMs: number }[];
  /** The decode request as given ('auto' channels stay 'auto': the cached header holds the resolved count). */
  request: { height: number; width: number; channels: 1 | 3 | 'auto'; resize: string };
  skipBadImages: boolean;
}

export interface CachedImages {
  height: number;
  width: number;
  channels: 1 | 3;
  /** Indices into the file list of the images that were decoded, in order; images holds exactly these. */
  decoded: number[];
  /** Files that could not be used (only with skipBadImages): index and reason. */
  bad: { index: number; reason: string }[];
  images: Uint8Array;
}

export function cacheKey(k: CacheKeyInput): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: CACHE_FORMAT_VERSION, request: k.request, skip: k.skipBadImages, n: k.files.length }));
  for (const f of k.files) h.update(`\n${f.path}\0${f.size}\0${f.mtimeMs}`);
  return h.digest('hex');
}

export function cachePath(cacheDir: string, key: string): string {
  return join(cacheDir, 'datasets', `${key}.bin`);
}

interface Header {
  key: string;
  height: number;
  width: number;
  channels: 1 | 3;
  decoded: number[];
  bad: { index: number; reason: string }[];
  bytes: number;
  sha256: string;
}

/** Reads a cache entry; null when absent or unusable (`why` says what was wrong with a damaged one). */
export function readImageCache(path: string, key: string, why?: (msg: string) => void): CachedImages | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const pre = Buffer.alloc(12);
    if (readSync(fd, pre, 0, 12, 0) !== 12 || pre.toString('latin1', 0, 8) !== MAGIC) return (why?.(`${path}: not a cache file`), null);
    const hlen = pre.readUInt32LE(8);
    if (hlen > MAX_HEADER || 12 + hlen > size) return (why?.(`${path}: truncated header`), null);
    const hb = Buffer.alloc(hlen);
    readSync(fd, hb, 0, hlen, 12);
    const h = JSON.parse(hb.toString('utf8')) as Header;
    if (h.key !== key) return (why?.(`${path}: written for another key`), null);
    const per = h.height * h.width * h.channels;
    if (h.bytes !== h.decoded.length * per || size !== 12 + hlen + h.bytes) return (why?.(`${path}: ${size - 12 - hlen} image bytes, header says ${h.bytes}`), null);
    const images = new Uint8Array(h.bytes);
    for (let off = 0; off < h.bytes; ) {
      const n = readSync(fd, images, off, Math.min(h.bytes - off, 1 << 30), 12 + hlen + off);
      if (n <= 0) return (why?.(`${path}: short read`), null);
      off += n;
    }
    if (createHash('sha256').update(images).digest('hex') !== h.sha256) return (why?.(`${path}: image bytes do not match their sha256`), null);
    return { height: h.height, width: h.width, channels: h.channels, decoded: h.decoded, bad: h.bad, images };
  } catch (e) {
    why?.(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Writes a cache entry atomically (creating <cacheDir>/datasets/); returns its path. */
export function writeImageCache(cacheDir: string, key: string, c: CachedImages): string {
  const path = cachePath(cacheDir, key);
  mkdirSync(join(cacheDir, 'datasets'), { recursive: true });
  const header: Header = {
    key,
    height: c.height,
    width: c.width,
    channels: c.channels,
    decoded: c.decoded,
    bad: c.bad,
    bytes: c.images.length,
    sha256: createHash('sha256').update(c.images).digest('hex'),
  };
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hb.length, 8);
  writeFileAtomic(path, [pre, hb, c.images]);
  return path;
}
