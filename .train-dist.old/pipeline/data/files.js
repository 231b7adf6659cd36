// File helpers with error messages that name the file and what is wrong.
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
function code(e) {
    return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
}
/** Reads a whole file; "file not found: X" / "cannot read X: ..." on failure. */
export async function readFileChecked(path) {
    try {
        return await readFile(path);
    }
    catch (e) {
        if (code(e) === 'ENOENT')
            throw new Error(`file not found: ${path}`);
        if (code(e) === 'EISDIR')
            throw new Error(`expected a file but found a directory: ${path}`);
        throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
}
export async function exists(path) {
    try {
        await stat(path);
        return true;
    }
    catch {
        return false;
    }
}
export async function isDirectory(path) {
    try {
        return (await stat(path)).isDirectory();
    }
    catch {
        return false;
    }
}
/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(buf) {
    return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}
/** Gunzips `buf` when it is gzip data (detected by magic, not by name); otherwise returns it unchanged. */
export function maybeGunzip(buf, path) {
    if (!isGzip(buf))
        return buf;
    try {
        return gunzipSync(buf);
    }
    catch (e) {
        throw new Error(`corrupt gzip data in ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
}
/** Reads a text file (UTF-8, BOM stripped). */
export async function readTextChecked(path) {
    const buf = await readFileChecked(path);
    let s = buf.toString('utf8');
    if (s.charCodeAt(0) === 0xfeff)
        s = s.slice(1);
    return s;
}
//# sourceMappingURL=files.js.map