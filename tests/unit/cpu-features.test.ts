// pipeline/bench/cpu-features.ts: the machine line of the training benchmark names the CPU generation and its
// widest native SIMD, read from /proc/cpuinfo text.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuFeatures, describeCpuFeatures, parseCpuInfo } from '../../pipeline/bench/cpu-features.js';

const block = (family: number, model: number, flags: string) =>
  `processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: ${family}\nmodel\t\t: ${model}\nmodel name\t: AMD EPYC\nflags\t\t: ${flags}\n`;

describe('cpu features', () => {
  test('AVX-512, AVX2+FMA and neither; the first processor block only', () => {
    assert.deepEqual(parseCpuInfo(block(26, 2, 'fpu sse2 avx2 fma avx512f avx512bw')), { vendor: 'AuthenticAMD', family: 26, model: 2, nativeSimdBits: 512 });
    assert.equal(parseCpuInfo(block(25, 1, 'fpu sse2 avx2 fma'))!.nativeSimdBits, 256);
    assert.equal(parseCpuInfo(block(23, 49, 'fpu sse2 avx2'))!.nativeSimdBits, 128, 'AVX2 without FMA is not counted as 256-bit FMA');
    assert.equal(parseCpuInfo(`${block(23, 49, 'sse2')}\n${block(26, 2, 'avx512f avx2 fma')}`)!.family, 23);
    assert.equal(describeCpuFeatures(parseCpuInfo(block(26, 2, 'avx512f avx2 fma'))), 'family 26 model 2, native SIMD 512-bit (AVX-512)');
  });
  test('unreadable or unparsable input gives null, described as unknown', () => {
    assert.equal(parseCpuInfo('garbage'), null);
    assert.equal(cpuFeatures('/nonexistent/cpuinfo'), null);
    assert.equal(describeCpuFeatures(null), 'CPU family unknown');
  });
});

describe('report machine lines', () => {
  test("bench-serve's table header names the CPU when the report has it, and stays as before when it has not", async () => {
    const { formatBenchTable } = await import('../../pipeline/bench/serve.js');
    const base = { model: 'm.onnx', family: 'cnn28', input: [28, 28, 1] as [number, number, number], ep: 'cpu', payload: 'json' as const, inference: 'worker', maxBatch: 64, maxDelayMs: 0, durationS: 8, cpus: 2, loadavgBefore: [1], loadavgAfter: [1], serverArgs: [], node: 'v20', levels: [], summary: null, date: '' };
    const withCpu = formatBenchTable({ ...base, cpuFeatures: { vendor: 'AuthenticAMD', family: 26, model: 2, nativeSimdBits: 512 } }).split('\n')[0]!;
    assert.match(withCpu, /2 CPUs \(family 26 model 2, native SIMD 512-bit \(AVX-512\)\), load average/);
    assert.match(formatBenchTable(base).split('\n')[0]!, /; 2 CPUs, load average/);
  });
});
