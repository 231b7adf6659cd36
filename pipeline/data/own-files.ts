// Discovery of the user's own images: an image folder (torchvision ImageFolder: one sub-folder per class, class
// names = sorted folder names, optional train/ val/ test/ split folders) or a CSV with path,label[,split] columns.
// Discovery only lists files; checking and decoding them is own-dataset.ts's job.
import { readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../cli/errors.js';
import { readTextChecked } from './files.js';

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface FileEntry {
  /** Path to open (absolute, or relative to the working directory). */
  path: string;
  /** Class index into classNames. */
  label: number;
  /** Preset split (train/ val/ test/ folders, or the CSV's split column); absent: the stratified split decides. */
  split?: SplitName;
  /** Where the entry came from, for messages ("line 7 of data.csv"). */
  origin: string;
}

export interface DiscoveredFiles {
  classNames: string[];
  entries: FileEntry[];
  /** True when every entry has its split preset. */
  presplit: boolean;
  notes: string[];
}

/** Bounds for a folder walk, so a huge or looping tree costs bounded time and memory. */
export const MAX_FILES = 2_000_000;
const MAX_DEPTH = 16;
/** CSV files above this size are refused (about 10 million rows). */
export const MAX_CSV_BYTES = 512 * 1024 * 1024;

const hidden = (name: string) => name.startsWith('.');

/** Sub-folder names (not hidden), sorted by code point like Python's sorted(). */
async function subFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (hidden(d.name)) continue;
    if (d.isDirectory() || (d.isSymbolicLink() && (await stat(join(dir, d.name)).catch(() => null))?.isDirectory())) out.push(d.name);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Every non-hidden file below dir (recursive, sorted), bounded by MAX_FILES / MAX_DEPTH. */
async function filesBelow(dir: string, counter: { n: number }, depth = 0): Promise<string[]> {
  if (depth > MAX_DEPTH) throw new UsageError(`${dir}: folders nested deeper than ${MAX_DEPTH} levels (a link loop?)`);
  const out: string[] = [];
  const ents = (await readdir(dir, { withFileTypes: true })).filter((d) => !hidden(d.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of ents) {
    const p = join(dir, d.name);
    const st = d.isSymbolicLink() ? await stat(p).catch(() => null) : null;
    if (d.isDirectory() || st?.isDirectory()) out.push(...(await filesBelow(p, counter, depth + 1)));
    else {
      if (++counter.n > MAX_FILES) throw new UsageError(`${dir}: more than ${MAX_FILES} files; refusing to index them all`);
      out.push(p);
    }
  }
  return out;
}

/** Names that differ only in case or surrounding spaces name the same thing to a person: refuse them. */
function checkDistinctNames(names: string[], what: string): void {
  const seen = new Map<string, string>();
  for (const n of names) {
    const k = n.trim().toLowerCase();
    const prev = seen.get(k);
    if (prev !== undefined && prev !== n) throw new UsageError(`${what}: class names '${prev}' and '${n}' differ only in case or spaces; use one spelling`);
    seen.set(k, n);
  }
}

/** One class folder level: <dir>/<class>/**. */
async function classFolder(dir: string, classNames: string[] | null, split: SplitName | undefined, counter: { n: number }): Promise<{ classNames: string[]; entries: FileEntry[] }> {
  const classes = await subFolders(dir);
  if (classes.length === 0)
    throw new UsageError(`${dir} has no class sub-folders: expected one folder per class holding its images (${join(dir, '<class>', '<image>.png')}), as in torchvision's ImageFolder`);
  checkDistinctNames(classes, dir);
  const names = classNames ?? classes;
  const entries: FileEntry[] = [];
  for (const cls of classes) {
    const label = names.indexOf(cls);
    if (label < 0) throw new UsageError(`${join(dir, cls)}: class '${cls}' has no folder in ${join(dirname(dir), 'train')}; every class needs training images`);
    const files = await filesBelow(join(dir, cls), counter);
    if (files.length === 0) throw new UsageError(`class folder ${join(dir, cls)} has no images (PNG, JPEG or WebP files expected)`);
    for (const path of files) entries.push({ path, label, ...(split ? { split } : {}), origin: path });
  }
  return { classNames: names, entries };
}

/**
 * An image folder: DIR/<class>/<image> (any depth below the class folder), or DIR/{train,val,test}/<class>/<image>
 * when DIR has a train/ folder (test/ is then required, val/ optional). Hidden files and folders are skipped.
 */
export async function discoverFolder(root: string): Promise<DiscoveredFiles> {
  const st = await stat(root).catch(() => null);
  if (!st) throw new UsageError(`data folder not found: ${root}`);
  if (!st.isDirectory()) throw new UsageError(`--data-root must be a folder of class folders, but ${root} is a file`);
  const top = await subFolders(root);
  const counter = { n: 0 };
  const notes: string[] = [];
  const loose = (await readdir(root, { withFileTypes: true })).filter((d) => d.isFile() && !hidden(d.name));
  if (loose.length) notes.push(`${loose.length} file(s) directly in ${root} ignored (not in a class folder), e.g. ${loose[0]!.name}`);
  if (!top.includes('train')) {
    if (top.length === 0 && loose.length === 0) throw new UsageError(`data folder ${root} is empty: expected one sub-folder per class holding its images`);
    const { classNames, entries } = await classFolder(root, null, undefined, counter);
    return { classNames, entries, presplit: false, notes };
  }
  if (!top.includes('test'))
    throw new UsageError(`${root} has a train/ folder but no test/ folder: give train/ and test/ (val/ optional), or put the class folders directly in ${root} for a stratified split`);
  const others = top.filter((t) => !SPLIT_NAMES.includes(t as SplitName));
  if (others.length) notes.push(`folder(s) ${others.join(', ')} in ${root} ignored: with a train/ folder only train/, val/ and test/ are read`);
  const train = await classFolder(join(root, 'train'), null, 'train', counter);
  const entries = [...train.entries];
  for (const split of ['val', 'test'] as const) {
    if (!top.includes(split)) {
      notes.push(`${root} has no val/ folder: no validation split`);
      continue;
    }
    entries.push(...(await classFolder(join(root, split), train.classNames, split, counter)).entries);
  }
  return { classNames: train.classNames, entries, presplit: true, notes };
}

/**
 * A CSV with a header row and columns path,label (class names) and optionally split (train/val/test); other
 * columns are ignored. Paths are relative to the CSV's folder, or to `dataRoot` when given; absolute paths stay.
 */
export async function discoverCsv(csvPath: string, dataRoot?: string): Promise<DiscoveredFiles> {
  const st = await stat(csvPath).catch(() => null);
  if (!st) throw new UsageError(`CSV file not found: ${csvPath}`);
  if (!st.isFile()) throw new UsageError(`--csv must be a file, but ${csvPath} is not`);
  if (st.size > MAX_CSV_BYTES) throw new UsageError(`CSV ${csvPath} is ${st.size} bytes; the limit is ${MAX_CSV_BYTES}`);
  if (dataRoot !== undefined && !(await stat(dataRoot).catch(() => null))?.isDirectory()) throw new UsageError(`data folder not found: ${dataRoot}`);
  const text = await readTextChecked(csvPath);
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as unknown as typeof rows;
  } catch (e) {
    throw new UsageError(`cannot parse CSV ${csvPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const cols = rows.length ? Object.keys(rows[0]!.record) : (text.split(/\r?\n/)[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  for (const need of ['path', 'label'])
    if (!cols.includes(need)) throw new UsageError(`CSV ${csvPath} has no '${need}' column: the header row must name the columns path,label (and optionally split), found: ${cols.join(', ') || 'nothing'}`);
  if (rows.length === 0) throw new UsageError(`CSV ${csvPath} has a header but no rows: expected one 'path,label' row per image`);
  const hasSplit = cols.includes('split');
  const base = dataRoot ?? dirname(csvPath);
  const labelOf = new Map<string, number>();
  const firstLine = new Map<string, number>();
  const raw: { path: string; label: string; split?: SplitName; line: number }[] = [];
  for (const { record, info } of rows) {
    const line = info.lines;
    const where = `${csvPath} line ${line}`;
    const p = record.path ?? '';
    const label = record.label ?? '';
    if (!p) throw new UsageError(`${where}: empty path`);
    if (!label) throw new UsageError(`${where}: empty label for ${p}`);
    let split: SplitName | undefined;
    if (hasSplit) {
      const s = (record.split ?? '').toLowerCase();
      if (!SPLIT_NAMES.includes(s as SplitName)) throw new UsageError(`${where}: split '${record.split ?? ''}' is not one of train, val, test`);
      split = s as SplitName;
    }
    const path = isAbsolute(p) ? p : join(base, p);
    const prev = firstLine.get(path);
    if (prev !== undefined) throw new UsageError(`${where}: ${p} is listed twice (lines ${prev} and ${line}); each image may appear once`);
    firstLine.set(path, line);
    labelOf.set(label, 0);
    raw.push({ path, label, ...(split ? { split } : {}), line });
  }
  const classNames = [...labelOf.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  checkDistinctNames(classNames, `CSV ${csvPath}`);
  classNames.forEach((c, i) => labelOf.set(c, i));
  const entries: FileEntry[] = raw.map((r) => ({ path: r.path, label: labelOf.get(r.label)!, ...(r.split ? { split: r.split } : {}), origin: `${csvPath} line ${r.line} (${relative(base, r.path) || r.path})` }));
  const notes: string[] = [];
  if (hasSplit && !entries.some((e) => e.split === 'test')) throw new UsageError(`CSV ${csvPath}: the split column names no test images; mark some rows 'test'`);
  return { classNames, entries, presplit: hasSplit, notes };
}
