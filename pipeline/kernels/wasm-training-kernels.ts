// Placeholder until the real kernels land: registers nothing.
export function registerWasmTrainingKernels(): string[] {
  return [];
}
