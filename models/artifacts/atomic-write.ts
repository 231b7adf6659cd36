// Write-then-rename so a crash, a full disk or a bad path never leaves a half-written artifact behind
// (and an existing file stays untouched when the write fails).
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** An output folder that cannot be created; the message names the folder that refused and why. */
export class OutputDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputDirError';
  }
}

/**
 * mkdir -p with a clear error. Node reports a refused recursive mkdir with the leaf's path and sometimes
 * ENOENT ("ENOENT: no such file or directory, mkdir runs/x" for a read-only runs/), so the nearest existing
 * folder is found and checked: "permission denied" / "read-only file system", naming it.
 */
export function makeOutputDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    let existing = resolve(dir);
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    let writable = true;
    try {
      accessSync(existing, constants.W_OK);
    } catch {
      writable = false;
    }
    const why =
      code === 'EROFS'
        ? `read-only file system (${existing})`
        : code === 'EACCES' || code === 'EPERM' || (code === 'ENOENT' && !writable)
          ? `permission denied (${existing} is not writable)`
          : code === 'ENOTDIR'
            ? `${existing} is a file, not a folder`
            : code === 'ENOSPC'
              ? 'no space left on the device'
              : (e as Error).message;
    throw new OutputDirError(`cannot create ${dir}: ${why}`);
  }
}

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

/** `.<name>.<pid>.<ms>.tmp`: the temp files writeFileAtomic makes (and export's `.partial.onnx` ones inside them). */
const TEMP_FILE = /^\.(.+)\.(\d+)\.(\d+)\.(tmp|partial\.onnx)$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp files a killed writer left in `dir` (its pid is gone); a live writer's are kept. Returns the
 * names removed. A missing folder is nothing to clean.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m || Number(m[2]) === process.pid || processAlive(Number(m[2]))) continue;
    try {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // not ours to remove (permissions): leave it
    }
  }
  return removed;
}
