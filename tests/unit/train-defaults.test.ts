// ECL is the main job: the CLI's default objective, and what `make demo` / `make train` train (their
// config.json says loss ecl); a baseline is one option away.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configFromArgs } from '../../pipeline/cli/train.js';
import { DEFAULTS, resolveConfig } from '../../pipeline/train/config.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('the CLI trains ECL unless told otherwise; la-ce is one flag away', () => {
  assert.equal(DEFAULTS.loss, 'ecl');
  const c = configFromArgs({});
  assert.deepEqual([c.loss, c.name, c.dataset], ['ecl', 'fmnist-lt-ecl', 'fmnist-lt']);
  assert.equal(resolveConfig({ dataset: 'embedded' }).loss, 'ecl');
  const b = configFromArgs({ loss: 'la-ce' });
  assert.deepEqual([b.loss, b.name], ['la-ce', 'fmnist-lt-la-ce']);
});

test('make demo and make train run ECL (make -n: the commands, nothing run)', () => {
  const dry = (...args: string[]) =>
    execFileSync('make', ['-n', '-C', root, ...args], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => / train --dataset /.test(l));
  assert.deepEqual(dry('demo').length, 1);
  assert.match(dry('demo')[0]!, /train --dataset embedded --loss ecl --name demo /);
  assert.match(dry('train')[0]!, /train --dataset fmnist-lt --imbalance 100 --loss ecl --name fmnist-lt-ecl /);
  assert.match(dry('train', 'LOSS=la-ce')[0]!, /--loss la-ce --name fmnist-lt-la-ce /);
});
