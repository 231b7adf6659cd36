// CIFAR-10 / CIFAR-100 binary versions (https://www.cs.toronto.edu/~kriz/cifar.html).
// CIFAR-10 (cifar-10-batches-bin/): data_batch_1..5.bin, test_batch.bin; each record = 1 label byte + 3072
// bytes (1024 R, 1024 G, 1024 B, row-major 32x32), i.e. CHW. batches.meta.txt lists the class names.
// CIFAR-100 (cifar-100-binary/): train.bin, test.bin; each record = coarse label byte + fine label byte + 3072
// bytes. fine_label_names.txt lists the fine class names. We use the fine labels (100 classes).
// Images are converted to HWC.
import { join } from 'node:path';
import { exists, isDirectory, readFileChecked, readTextChecked } from './files.js';
export const CIFAR_SIDE = 32;
const PIXELS = CIFAR_SIDE * CIFAR_SIDE;
const IMAGE_BYTES = 3 * PIXELS;
export const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** Parses one binary batch. `labelBytes` = 1 (CIFAR-10) or 2 (CIFAR-100, the fine label is the 2nd byte). */
export function parseCifarBatch(buf, labelBytes, numClasses, path) {
    const rec = labelBytes + IMAGE_BYTES;
    if (buf.length === 0 || buf.length % rec !== 0)
        throw new Error(`corrupt CIFAR file ${path}: length ${buf.length} is not a positive multiple of the ${rec}-byte record ` +
            `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + 3072 pixel bytes)` +
            (buf.length % (3 - labelBytes + IMAGE_BYTES) === 0 && buf.length > 0 ? `; it looks like a ${labelBytes === 1 ? 'CIFAR-100' : 'CIFAR-10'} file` : ''));
    const count = buf.length / rec;
    const images = new Uint8Array(count * IMAGE_BYTES);
    const labels = new Int32Array(count);
    for (let n = 0; n < count; n++) {
        const o = n * rec;
        const label = buf[o + labelBytes - 1];
        if (label >= numClasses)
            throw new Error(`label out of range in ${path}: record ${n} has label ${label} but there are only ${numClasses} classes (0..${numClasses - 1})`);
        labels[n] = label;
        const src = o + labelBytes;
        const dst = n * IMAGE_BYTES;
        for (let p = 0; p < PIXELS; p++) {
            images[dst + 3 * p] = buf[src + p];
            images[dst + 3 * p + 1] = buf[src + PIXELS + p];
            images[dst + 3 * p + 2] = buf[src + 2 * PIXELS + p];
        }
    }
    return { images, labels, count };
}
/** Encodes an HWC 32x32x3 set as a CIFAR binary batch (for tests and tools). */
export function encodeCifarBatch(set, kind, coarseLabels) {
    if (set.height !== CIFAR_SIDE || set.width !== CIFAR_SIDE || set.channels !== 3)
        throw new Error('encodeCifarBatch: needs 32x32x3 images');
    const lb = kind === 'cifar10' ? 1 : 2;
    const rec = lb + IMAGE_BYTES;
    const out = Buffer.alloc(set.count * rec);
    for (let n = 0; n < set.count; n++) {
        const o = n * rec;
        if (lb === 2)
            out[o] = coarseLabels ? coarseLabels[n] : 0;
        out[o + lb - 1] = set.labels[n];
        for (let p = 0; p < PIXELS; p++)
            for (let c = 0; c < 3; c++)
                out[o + lb + c * PIXELS + p] = set.images[n * IMAGE_BYTES + 3 * p + c];
    }
    return out;
}
function parseNames(text) {
    return text
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
}
/** The batch folder for `root`: root itself if it holds the batches, else root/cifar-10-batches-bin (or cifar-100-binary). */
export async function resolveCifarDir(kind, root) {
    const sub = kind === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary';
    const marker = kind === 'cifar10' ? 'test_batch.bin' : 'test.bin';
    if (await exists(join(root, marker)))
        return root;
    if (await exists(join(root, sub, marker)))
        return join(root, sub);
    if (!(await isDirectory(root)))
        throw new Error(`${kind} data folder not found: ${root}`);
    throw new Error(`no ${kind} binary batches in ${root}: expected ${join(root, sub, marker)} (or ${join(root, marker)})`);
}
/** Reads the train and test splits of CIFAR-10 or CIFAR-100 from `root` (see resolveCifarDir). */
export async function readCifar(kind, root) {
    const dir = await resolveCifarDir(kind, root);
    const numClasses = kind === 'cifar10' ? 10 : 100;
    const lb = kind === 'cifar10' ? 1 : 2;
    const trainFiles = kind === 'cifar10' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['train.bin'];
    const testFiles = kind === 'cifar10' ? ['test_batch.bin'] : ['test.bin'];
    const namesFile = join(dir, kind === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt');
    let classNames;
    if (await exists(namesFile)) {
        classNames = parseNames(await readTextChecked(namesFile));
        if (classNames.length !== numClasses)
            throw new Error(`corrupt class-name file ${namesFile}: ${classNames.length} names, expected ${numClasses}`);
    }
    else {
        classNames = kind === 'cifar10' ? CIFAR10_CLASS_NAMES.slice() : Array.from({ length: 100 }, (_, i) => `class_${i}`);
    }
    const load = async (files) => {
        const parts = await Promise.all(files.map(async (f) => parseCifarBatch(await readFileChecked(join(dir, f)), lb, numClasses, join(dir, f))));
        const count = parts.reduce((a, p) => a + p.count, 0);
        const images = new Uint8Array(count * IMAGE_BYTES);
        const labels = new Int32Array(count);
        let at = 0;
        for (const p of parts) {
            images.set(p.images, at * IMAGE_BYTES);
            labels.set(p.labels, at);
            at += p.count;
        }
        return { images, labels, count, height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3, classNames: classNames.slice() };
    };
    const [train, test] = await Promise.all([load(trainFiles), load(testFiles)]);
    return { dir, train, test };
}
//# sourceMappingURL=cifar.js.map