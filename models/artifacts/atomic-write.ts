// Write-then-rename so a crash, a full disk or a bad path never leaves a half-written artifact behind
// (and an existing file stays untouched when the write fails).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `data` (text, bytes, or byte chunks written one after the other, so a large file needs no joined copy). */
export function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data as Uint8Array];
    for (const bytes of chunks) {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The temp file could not even be created (e.g. the parent is not a directory): nothing to clean.
    }
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}
