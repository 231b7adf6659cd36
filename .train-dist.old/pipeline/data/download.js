// Downloads the CIFAR binary archives (only when the user passes --download) and extracts them with a small
// built-in tar reader. Machines without internet get a clear error; nothing here runs in tests.
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { dirname, join, normalize, sep, isAbsolute } from 'node:path';
import { gunzipSync } from 'node:zlib';
export const CIFAR_URLS = {
    cifar10: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    cifar100: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
};
/** Extracts regular files and directories of a (ustar / GNU) tar archive into `dest`; returns the file paths written. */
export async function extractTar(tar, dest, what = 'archive') {
    const written = [];
    const td = new TextDecoder();
    const str = (o, n) => {
        const b = tar.subarray(o, o + n);
        const z = b.indexOf(0);
        return td.decode(z >= 0 ? b.subarray(0, z) : b);
    };
    let off = 0;
    let longName = null;
    while (off + 512 <= tar.length) {
        const header = tar.subarray(off, off + 512);
        if (header.every((b) => b === 0))
            break;
        let name = str(off, 100);
        const size = parseInt(str(off + 124, 12).trim() || '0', 8);
        const type = String.fromCharCode(tar[off + 156] || 0x30);
        const prefix = str(off + 345, 155);
        if (prefix && str(off + 257, 6).startsWith('ustar'))
            name = prefix + '/' + name;
        if (!Number.isFinite(size) || size < 0)
            throw new Error(`corrupt tar ${what}: bad size field at offset ${off}`);
        const dataStart = off + 512;
        if (dataStart + size > tar.length)
            throw new Error(`truncated tar ${what}: entry ${name} needs ${size} bytes`);
        const data = tar.subarray(dataStart, dataStart + size);
        off = dataStart + Math.ceil(size / 512) * 512;
        if (type === 'L') {
            longName = td.decode(data).replace(/\0+$/, '');
            continue;
        }
        if (longName !== null) {
            name = longName;
            longName = null;
        }
        if (type === 'x' || type === 'g')
            continue; // pax headers: ignored
        const rel = normalize(name);
        if (isAbsolute(rel) || rel.split(sep).includes('..'))
            throw new Error(`unsafe path in tar ${what}: ${name}`);
        const target = join(dest, rel);
        if (type === '5')
            await mkdir(target, { recursive: true });
        else if (type === '0' || type === '\0' || type === '7') {
            await mkdir(dirname(target), { recursive: true });
            await writeFile(target, data);
            written.push(target);
        }
    }
    return written;
}
/**
 * Downloads and extracts the CIFAR-10 or CIFAR-100 binary archive into `root`
 * (giving root/cifar-10-batches-bin or root/cifar-100-binary). Uses node's fetch.
 */
export async function downloadCifar(kind, root, log = () => { }) {
    const url = CIFAR_URLS[kind];
    log(`downloading ${url} ...`);
    let res;
    try {
        res = await fetch(url);
    }
    catch (e) {
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
        throw new Error(`download of ${url} failed (no internet on this machine?)${cause}. Download it elsewhere and extract it under ${root}.`);
    }
    if (!res.ok)
        throw new Error(`download of ${url} failed: HTTP ${res.status} ${res.statusText}`);
    const gz = new Uint8Array(await res.arrayBuffer());
    log(`downloaded ${gz.length} bytes, extracting into ${root}`);
    await mkdir(root, { recursive: true });
    const tmp = join(root, `.${kind}-download.tar.gz`);
    await writeFile(tmp, gz);
    let tar;
    try {
        tar = gunzipSync(gz);
    }
    catch (e) {
        throw new Error(`corrupt gzip data downloaded from ${url} (kept at ${tmp}): ${e instanceof Error ? e.message : String(e)}`);
    }
    await extractTar(tar, root, url);
    await rename(tmp, join(root, url.split('/').pop()));
    return join(root, kind === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary');
}
//# sourceMappingURL=download.js.map