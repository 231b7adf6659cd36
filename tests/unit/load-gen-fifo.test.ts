// The soak's load generator queues requests that are due but have no free connection; that queue must stay
// first-in-first-out and O(1) per operation at any length (tests/helpers/load-gen.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fifo } from '../helpers/load-gen.js';

describe('load generator FIFO', () => {
  it('keeps order across compactions, interleaved with pushes, and is empty at the end', () => {
    const q = new Fifo<number>();
    assert.equal(q.shift(), undefined);
    const out: number[] = [];
    let next = 0;
    // Grow far past the compaction threshold while draining, in uneven bursts.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 700; i++) q.push(next++);
      for (let i = 0; i < (round % 3 === 0 ? 900 : 400); i++) {
        const x = q.shift();
        if (x === undefined) break;
        out.push(x);
      }
      assert.equal(q.length, next - out.length);
    }
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    assert.equal(q.length, 0);
    assert.deepEqual(out, Array.from({ length: next }, (_, i) => i));
  });

  it('300,000 waiting: every item out once, in order (the size a 2x overload reached)', () => {
    const q = new Fifo<{ t: number }>();
    for (let i = 0; i < 300_000; i++) q.push({ t: i });
    let sum = 0;
    for (let i = 0; i < 300_000; i++) sum += q.shift()!.t;
    assert.equal(sum, (300_000 * 299_999) / 2);
  });
});
