// What the CPU of a benchmark run is, beyond os.cpus()'s model name ("AMD EPYC" on these VMs covers several
// generations): family/model and the widest native SIMD, which decides how far a native peer (PyTorch's oneDNN)
// can pull ahead of wasm SIMD, whose vectors are 128-bit everywhere. Linux /proc/cpuinfo; null elsewhere.
import { readFileSync } from 'node:fs';

export interface CpuFeatures {
  vendor: string;
  family: number;
  model: number;
  /** Widest native float SIMD the CPU reports: 512 (AVX-512F), 256 (AVX2 + FMA), else 128. */
  nativeSimdBits: 128 | 256 | 512;
}

/** Parses the first processor block of /proc/cpuinfo text. */
export function parseCpuInfo(text: string): CpuFeatures | null {
  const block = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => block.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const family = Number(field('cpu family'));
  const model = Number(field('model'));
  if (!Number.isInteger(family) || !Number.isInteger(model)) return null;
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const nativeSimdBits = flags.has('avx512f') ? 512 : flags.has('avx2') && flags.has('fma') ? 256 : 128;
  return { vendor: field('vendor_id') ?? '?', family, model, nativeSimdBits };
}

export function cpuFeatures(path = '/proc/cpuinfo'): CpuFeatures | null {
  try {
    return parseCpuInfo(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** "family 26 model 2, native SIMD 512-bit (AVX-512)" for the machine line of a report. */
export function describeCpuFeatures(f: CpuFeatures | null | undefined): string {
  if (!f) return 'CPU family unknown';
  const isa = f.nativeSimdBits === 512 ? 'AVX-512' : f.nativeSimdBits === 256 ? 'AVX2+FMA' : 'no AVX2';
  return `family ${f.family} model ${f.model}, native SIMD ${f.nativeSimdBits}-bit (${isa})`;
}
