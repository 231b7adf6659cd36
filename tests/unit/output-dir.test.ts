// A run folder that cannot be created is reported as what it is (permission denied / read-only, naming the
// folder that refuses), not as node's "ENOENT: mkdir" of the leaf.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OutputDirError, makeOutputDir } from '../../models/artifacts/atomic-write.js';

describe('makeOutputDir', { timeout: 10_000 }, () => {
  it('creates nested folders, and is a no-op when they exist', () => {
    const root = mkdtempSync(join(tmpdir(), 'ecl-outdir-'));
    try {
      makeOutputDir(join(root, 'runs', 'a'));
      makeOutputDir(join(root, 'runs', 'a'));
      assert.ok(existsSync(join(root, 'runs', 'a')));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a folder where nothing may be created: permission denied, naming the refusing folder (sysfs here)', (t) => {
    if (!existsSync('/sys/kernel')) return t.skip('no /sys');
    assert.throws(() => makeOutputDir('/sys/ecl-runs/demo'), (e: unknown) => {
      assert.ok(e instanceof OutputDirError);
      assert.match(e.message, /^cannot create \/sys\/ecl-runs\/demo: (permission denied \(\/sys is not writable\)|read-only file system \(\/sys\))$/);
      return true;
    });
  });

  it('a read-only runs folder (chmod 555, as a non-root user): permission denied', (t) => {
    if (process.getuid?.() === 0) return t.skip('root ignores the mode bits');
    const root = mkdtempSync(join(tmpdir(), 'ecl-outdir-'));
    try {
      chmodSync(root, 0o555);
      assert.throws(() => makeOutputDir(join(root, 'runs', 'a')), /permission denied \(.* is not writable\)/);
    } finally {
      chmodSync(root, 0o755);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a file in the way is named as a file', () => {
    const root = mkdtempSync(join(tmpdir(), 'ecl-outdir-'));
    try {
      writeFileSync(join(root, 'runs'), 'x');
      assert.throws(() => makeOutputDir(join(root, 'runs', 'a')), /is a file, not a folder/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
