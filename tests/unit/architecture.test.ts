// The one-way architecture (.dependency-cruiser.cjs): the real tree passes, and every rule fails with the
// offending import named when a violation is planted in a small tree of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const FOLDERS = ['models', 'export', 'serve', 'pipeline', 'scripts', 'tests'];
// Built from parts so this file does not match itself.
const CAST_TO_CONFIG = new RegExp(['as', 'unknown', 'as', 'TrainConfig\\b'].join(' '));

function cruise(cwd: string, folders: string[]): { status: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['--config', CONFIG, ...folders], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('dependency check', { timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ecl-arch-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the project tree has no violation', () => {
    const r = cruise(ROOT, FOLDERS);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /no dependency violations found/);
  });

  /** A tree of one-line modules: path -> source. */
  const plant = (name: string, files: Record<string, string>): string => {
    const dir = join(tmp, name);
    for (const [p, src] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), src);
    }
    copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    return dir;
  };
  const cases: { rule: string; files: Record<string, string>; offending: RegExp }[] = [
    { rule: 'models-imports-nothing-of-the-project', files: { 'models/a.ts': "import { b } from '../pipeline/b.js';\nexport const a = b;\n", 'pipeline/b.ts': 'export const b = 1;\n' }, offending: /models\/a\.ts → pipeline\/b\.ts/ },
    { rule: 'export-imports-only-models', files: { 'export/a.ts': "import { b } from '../serve/node/b.js';\nexport const a = b;\n", 'serve/node/b.ts': 'export const b = 1;\n' }, offending: /export\/a\.ts → serve\/node\/b\.ts/ },
    { rule: 'serve-does-not-import-pipeline', files: { 'serve/node/a.ts': "import { b } from '../../pipeline/b.js';\nexport const a = b;\n", 'pipeline/b.ts': 'export const b = 1;\n' }, offending: /serve\/node\/a\.ts → pipeline\/b\.ts/ },
    { rule: 'browser-code-is-browser-safe', files: { 'serve/shared/a.ts': "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n" }, offending: /serve\/shared\/a\.ts → fs/ },
    { rule: 'browser-code-is-browser-safe', files: { 'serve/web/a.ts': "import { b } from '../node/b.js';\nexport const a = b;\n", 'serve/node/b.ts': 'export const b = 1;\n' }, offending: /serve\/web\/a\.ts → serve\/node\/b\.ts/ },
    { rule: 'nothing-imports-scripts', files: { 'pipeline/a.ts': "import { b } from '../scripts/b.js';\nexport const a = b;\n", 'scripts/b.ts': 'export const b = 1;\n' }, offending: /pipeline\/a\.ts → scripts\/b\.ts/ },
    { rule: 'product-code-does-not-import-tests', files: { 'pipeline/a.ts': "import { b } from '../tests/helpers/b.js';\nexport const a = b;\n", 'tests/helpers/b.ts': 'export const b = 1;\n' }, offending: /pipeline\/a\.ts → tests\/helpers\/b\.ts/ },
    { rule: 'no-cycles', files: { 'pipeline/a.ts': "import { b } from './b.js';\nexport const a = 1;\nexport const c = b;\n", 'pipeline/b.ts': "import { a } from './a.js';\nexport const b = a;\n" }, offending: /pipeline\/a\.ts → \s*pipeline\/b\.ts →\s*pipeline\/a\.ts/ },
  ];
  cases.forEach((c, i) =>
    it(`fails on a planted violation of ${c.rule} (${Object.keys(c.files)[0]})`, () => {
      const dir = plant(`case${i}`, c.files);
      const r = cruise(dir, readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()));
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, new RegExp(`error ${c.rule}:`), r.out);
      assert.match(r.out, c.offending, r.out);
    }),
  );

  it('no hand-written casts on dynamic imports between project folders, no cast to TrainConfig', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts'))
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, n) => {
              if (/import\(\s*'\.{1,2}\/[^']*'\s*\)\)?\s+as\s/.test(line) || CAST_TO_CONFIG.test(line)) offenders.push(`${p.slice(ROOT.length)}:${n + 1}: ${line.trim()}`);
            });
      }
    };
    for (const f of FOLDERS) walk(join(ROOT, f));
    assert.deepEqual(offenders, []);
  });
});
