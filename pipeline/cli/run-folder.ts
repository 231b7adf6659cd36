// Safety of runs/<name>/ for `ecl train`: a name already used is refused unless --resume (continue it) or
// --overwrite (replace it). --overwrite moves the old folder aside with one rename, so the new run never
// mixes with the old one's files (eval.json, model.onnx, parity.json of another checkpoint); the old
// folder is deleted once training ends, or put back when the new run failed before its first checkpoint.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';
import { UsageError } from './errors.js';

export type RunFolderMode = 'new' | 'resume' | 'overwrite';

export interface RunFolderClaim {
  /** Where the previous run was moved (overwrite of an existing folder), else null. */
  aside: string | null;
  /** The run finished (or failed after writing a checkpoint): drop the old folder. */
  commit(): void;
  /** The run failed: with no new checkpoint, the new folder goes and the old one comes back. */
  rollback(): void;
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Checks runs/<name>/ against the mode before anything is written; throws UsageError naming the way out. */
export function claimRunFolder(dir: string, mode: RunFolderMode): RunFolderClaim {
  const none: RunFolderClaim = { aside: null, commit: () => {}, rollback: () => {} };
  const exists = existsSync(dir);
  if (exists && !statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a run folder (a file); choose another --name or --runs-dir`);
  const files = exists ? listing(dir) : [];
  if (mode === 'resume') {
    if (!files.includes(RUN_FILES.checkpoint)) throw new UsageError(`--resume: no checkpoint at ${join(dir, RUN_FILES.checkpoint)} (train it first, without --resume)`);
    return none;
  }
  if (!files.length) return none;
  if (mode === 'new') {
    const shown = files.slice(0, 4).join(', ') + (files.length > 4 ? ', …' : '');
    throw new UsageError(
      `run folder ${dir} already exists (${shown}); use --resume to continue it, --overwrite to replace it, or another --name`,
    );
  }
  // Hidden sibling on the same file system: the rename is atomic, and `ecl` never lists dot folders as runs.
  const aside = join(dirname(dir), `.${basename(dir)}.replaced-${process.pid}-${Date.now()}`);
  renameSync(dir, aside);
  return {
    aside,
    commit: () => rmSync(aside, { recursive: true, force: true }),
    rollback: () => {
      if (existsSync(join(dir, RUN_FILES.checkpoint))) {
        rmSync(aside, { recursive: true, force: true });
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      renameSync(aside, dir);
    },
  };
}
