// ISIC 2019 ground truth: a CSV `image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK` with one-hot (1.0/0.0) class columns;
// the images are `<image folder>/<image>.jpg`. Class names come from the header.
import { readTextChecked } from './files.js';
function splitCsvLine(line) {
    return line.split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
}
export function parseIsicCsv(text, path) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
    if (lines.length === 0)
        throw new Error(`empty ISIC ground-truth CSV ${path}`);
    const header = splitCsvLine(lines[0]);
    if (header[0].toLowerCase() !== 'image' || header.length < 3)
        throw new Error(`bad header in ISIC ground-truth CSV ${path}: expected 'image,<class>,<class>,...', got '${lines[0].slice(0, 120)}'`);
    const classNames = header.slice(1);
    const images = [];
    const labels = [];
    for (let r = 1; r < lines.length; r++) {
        const f = splitCsvLine(lines[r]);
        if (f.length !== header.length)
            throw new Error(`bad row ${r + 1} in ${path}: ${f.length} fields, the header has ${header.length}`);
        let label = -1;
        let ones = 0;
        for (let c = 1; c < f.length; c++) {
            const v = Number(f[c]);
            if (!Number.isFinite(v) || (v !== 0 && v !== 1))
                throw new Error(`bad row ${r + 1} in ${path} (${f[0]}): column ${header[c]} is '${f[c]}', expected 0 or 1`);
            if (v === 1) {
                ones++;
                label = c - 1;
            }
        }
        if (ones !== 1)
            throw new Error(`bad row ${r + 1} in ${path} (${f[0]}): ${ones} classes set, expected exactly one`);
        if (!f[0])
            throw new Error(`bad row ${r + 1} in ${path}: empty image id`);
        images.push(f[0]);
        labels.push(label);
    }
    if (images.length === 0)
        throw new Error(`ISIC ground-truth CSV ${path} has a header but no rows`);
    return { images, labels: Int32Array.from(labels), classNames };
}
export async function readIsicCsv(path) {
    return parseIsicCsv(await readTextChecked(path), path);
}
//# sourceMappingURL=isic.js.map