// scripts/cpuprofile-top.ts: self time of a V8 CPU profile by function and by area, on a profile written here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/cpuprofile-top.js', import.meta.url));

test('charges each sample time to its node, groups by npm package / node internal / project folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecl-cpuprof-'));
  try {
    const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('serialize', 'file:///app/node_modules/fastify/lib/reply.js', 1085) },
        { id: 4, callFrame: frame('infer', 'file:///app/dist/serve/node/v2.js', 308) },
        { id: 5, callFrame: frame('writevGeneric', 'node:internal/stream_base_commons', 122) },
      ],
      startTime: 0,
      endTime: 1_000_000,
      samples: [2, 4, 4, 3, 5, 4],
      timeDeltas: [500_000, 200_000, 100_000, 100_000, 50_000, 50_000],
    };
    const file = join(dir, 'p.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    const out = execFileSync(process.execPath, [script, file], { encoding: 'utf8' });
    assert.match(out, /1\.00 s sampled over 1\.00 s/);
    const area = out.slice(out.indexOf('by area'), out.indexOf('by function'));
    assert.match(area, /50\.0% {2}\(idle\)\n\s+35\.0% {2}serve\/node\n\s+10\.0% {2}fastify\n\s+5\.0% {2}node:internal\/stream_base_commons/);
    assert.match(out.slice(out.indexOf('by function')), /35\.0% {2}infer dist\/serve\/node\/v2\.js:309/);
    assert.throws(() => execFileSync(process.execPath, [script], { stdio: 'pipe' }), /usage: cpuprofile-top/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
