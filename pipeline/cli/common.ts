// What every `ecl` stage shares: strict number checks for options (yargs `coerce`: a bad value is a usage
// error naming the option, exit 2, before any backend or model loads), the stage's help extras (examples,
// the ECL_* variables it honours) and the exit-code table.
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { runPaths } from '../../models/artifacts/run-dir.js';
import { settingsHelp } from '../../models/settings.js';
import { EXIT, UsageError } from './errors.js';

type Check = (v: number) => boolean;

const show = (v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? 'a non-number' : JSON.stringify(v));

/** A coerce function: undefined passes (not given); a value failing `ok` throws naming --name. */
function numberCheck(name: string, what: string, ok: Check) {
  return (v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    // A repeated option arrives as an array: the last one wins, as yargs does for plain options.
    const x = Array.isArray(v) ? v.at(-1) : v;
    if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw new Error(`--${name} must be ${what}, got ${show(x)}`);
    return x;
  };
}

export const posInt = (name: string) => numberCheck(name, 'a positive integer', (x) => Number.isInteger(x) && x > 0);
export const nonNegInt = (name: string) => numberCheck(name, 'an integer >= 0', (x) => Number.isInteger(x) && x >= 0);
export const intAtLeast = (name: string, min: number) => numberCheck(name, `an integer >= ${min}`, (x) => Number.isInteger(x) && x >= min);
export const intIn = (name: string, min: number, max: number) => numberCheck(name, `an integer in [${min}, ${max}]`, (x) => Number.isInteger(x) && x >= min && x <= max);
export const posNumber = (name: string) => numberCheck(name, 'a positive finite number', (x) => x > 0);
export const nonNegNumber = (name: string) => numberCheck(name, 'a finite number >= 0', (x) => x >= 0);
export const numberAtLeast = (name: string, min: number) => numberCheck(name, `a finite number >= ${min}`, (x) => x >= min);
/** [0, 1): momentum and other decay factors. */
export const unitInterval = (name: string) => numberCheck(name, 'a number in [0, 1)', (x) => x >= 0 && x < 1);

/** An array option of numbers, each checked like `each` (e.g. --seeds 1 2 3). */
export function numberList(name: string, what: string, ok: Check) {
  return (v: unknown): number[] | undefined => {
    if (v === undefined) return undefined;
    const items = (Array.isArray(v) ? v : [v]).flatMap((x) => (typeof x === 'string' ? x.split(',').filter(Boolean).map(Number) : [x]));
    for (const x of items) if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw new Error(`--${name} must be ${what}, got ${show(x)}`);
    return items as number[];
  };
}

/** A comma-separated list of positive integers (e.g. --connections 1,16,64). */
export function posIntCsv(name: string) {
  return (v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    const s = String(Array.isArray(v) ? v.at(-1) : v);
    const parts = s.split(',').map((p) => p.trim());
    if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) throw new Error(`--${name} must be comma-separated positive integers, got ${JSON.stringify(s)}`);
    return parts.join(',');
  };
}

export const EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT.ok}  ok`,
  `  ${EXIT.checkFailed}  a check ran and failed (export-check or parity mismatch)`,
  `  ${EXIT.usage}  usage error: bad option or input the user must fix (nothing is written)`,
  `  ${EXIT.runtime}  runtime error (anything else; ECL_DEBUG=1 prints the stack)`,
].join('\n');

/** A stage's help extras: examples and the ECL_* variables that stage honours. */
export function withStageHelp<T>(y: Argv<T>, stage: string, examples: [string, string][]): Argv<T> {
  let out = y;
  for (const [cmd, what] of examples) out = out.example(cmd, what);
  return out.epilogue(`${settingsHelp(stage)}\n\n${EXIT_CODES_HELP}`);
}

/** A run folder given on the command line must hold a checkpoint (a usage error otherwise, before anything loads). */
export function requireRun(dir: string, needModel = false): void {
  const p = runPaths(dir);
  if (!existsSync(p.checkpoint)) throw new UsageError(`checkpoint not found: ${p.checkpoint} (train the run first: ecl train ... --name <name>)`);
  if (needModel && !existsSync(p.model)) throw new UsageError(`model not found: ${p.model} (export it first: ecl export ${dir})`);
}
