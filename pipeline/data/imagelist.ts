// ImageNet-LT style list files: one `relative/path.jpg label` per line, paths relative to an image root.
import { dirname, join } from 'node:path';
import { decodeImageFiles } from './decode.js';
import { DEFAULT_RESIZE_POLICY } from '../../models/onnx-contract.js';
import { readTextChecked } from './files.js';
import type { ImageSet } from './types.js';

export interface ImageList {
  /** Paths as written in the list (relative to the image root). */
  paths: string[];
  labels: Int32Array;
}

/** Parses a list file. Blank lines and lines starting with '#' are skipped. */
export function parseImageList(text: string, listPath: string): ImageList {
  const paths: string[] = [];
  const labels: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(.+?)\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`bad line ${ln + 1} in ${listPath}: expected '<relative/path.jpg> <label>', got '${line.slice(0, 120)}'`);
    const label = Number(m[2]);
    if (!Number.isInteger(label) || label < 0)
      throw new Error(`bad label on line ${ln + 1} in ${listPath}: '${m[2]}' is not a non-negative integer`);
    paths.push(m[1]!);
    labels.push(label);
  }
  if (paths.length === 0) throw new Error(`empty list file ${listPath}: no '<path> <label>' lines`);
  return { paths, labels: Int32Array.from(labels) };
}

export async function readImageList(listPath: string): Promise<ImageList> {
  return parseImageList(await readTextChecked(listPath), listPath);
}

/**
 * Class names from the lists: the parent folder of a class's images when all of them share one
 * (ImageNet synsets such as n01440764), otherwise `class_<k>`.
 */
export function classNamesFromLists(lists: ImageList[], numClasses: number): string[] {
  const folder: (string | null | undefined)[] = new Array(numClasses).fill(undefined);
  for (const l of lists)
    for (let i = 0; i < l.paths.length; i++) {
      const c = l.labels[i]!;
      if (c >= numClasses) continue;
      const parts = dirname(l.paths[i]!).split(/[\\/]/);
      const f = parts[parts.length - 1]!;
      if (folder[c] === undefined) folder[c] = f && f !== '.' ? f : null;
      else if (folder[c] !== f) folder[c] = null;
    }
  const names = folder.map((f, k) => f ?? `class_${k}`);
  return new Set(names).size === names.length ? names : names.map((_, k) => `class_${k}`);
}

/** Decodes the selected entries (all when `select` is omitted) of a list into a size x size x 3 ImageSet. */
export async function loadImageList(
  list: ImageList,
  listPath: string,
  imageRoot: string,
  size: number,
  classNames: string[],
  select?: ArrayLike<number>,
  onProgress?: (done: number, total: number) => void,
): Promise<ImageSet> {
  const idx = select ? Array.from(select) : list.paths.map((_, i) => i);
  const labels = new Int32Array(idx.length);
  const files: string[] = [];
  idx.forEach((i, k) => {
    const l = list.labels[i]!;
    if (l >= classNames.length)
      throw new Error(`label out of range in ${listPath}: '${list.paths[i]}' has label ${l} but there are only ${classNames.length} classes`);
    labels[k] = l;
    files.push(join(imageRoot, list.paths[i]!));
  });
  const images = await decodeImageFiles(files, { height: size, width: size, channels: 3, resize: DEFAULT_RESIZE_POLICY }, { onProgress });
  return { images, labels, count: idx.length, height: size, width: size, channels: 3, classNames: classNames.slice() };
}
