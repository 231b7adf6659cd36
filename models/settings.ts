// THE one reader of the ECL_* environment variables: every one the project honours, what it does, and a
// getter that reads it when asked (tests set them per child process). `ecl --help` prints this table.
// Kept in models/ because the lowest layer (export/'s ONNX checker) reads one too; nothing here imports.

export interface SettingInfo {
  name: string;
  /** What it changes, for `ecl --help` and the README. */
  describe: string;
  /** The `ecl` stages (or make targets) that read it; each stage's --help lists its own. */
  stages: readonly string[];
}

/** Stages that pick a tfjs backend (training, evaluation, the tfjs reference of the checks). */
const TFJS_STAGES = ['train', 'eval', 'export-check', 'parity', 'bench-train', 'study'] as const;

export const SETTINGS: readonly SettingInfo[] = [
  { name: 'ECL_WASM_THREADS', describe: 'wasm training threads, 1..8 (default: one per core up to 4; 1 = single-threaded)', stages: TFJS_STAGES },
  { name: 'ECL_WASM_SIMD_KERNELS', describe: "0 = XNNPACK routes instead of the project's wasm SIMD training kernels", stages: TFJS_STAGES },
  { name: 'ECL_WASM_WINOGRAD', describe: '0 = direct SIMD kernels instead of Winograd F(4x4,3x3) for 3x3 convolutions: ~10x less rounding (reference level), ~2x slower 3x3 convs', stages: TFJS_STAGES },
  { name: 'ECL_FUSE_BN_RELU', describe: '0 = BatchNorm, the residual add and ReLU as separate kernels in training (before/after runs; the values are the same)', stages: TFJS_STAGES },
  { name: 'ECL_WEBGPU_STOCK_KERNELS', describe: "1 = tfjs-backend-webgpu's own kernels instead of the replacements (before/after runs)", stages: TFJS_STAGES },
  { name: 'ECL_WEBGPU_FLAGS', describe: 'tfjs webgpu flags for training, e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=12', stages: TFJS_STAGES },
  { name: 'ECL_ONNX_PYTHON', describe: 'Python with the onnx package for the exporter\'s checker (default /usr/bin/python3)', stages: ['export'] },
  { name: 'ECL_CHROMIUM', describe: 'Chromium executable for the browser runtimes (default /usr/bin/chromium)', stages: ['parity'] },
  { name: 'ECL_CUDA_EP_PLATFORM', describe: 'platform make cuda-ep installs the CUDA provider for (default this one, e.g. linux-x64)', stages: ['make cuda-ep'] },
  { name: 'ECL_SERVE_HOST', describe: 'default of --host (flag wins); the container image sets 0.0.0.0', stages: ['serve'] },
  { name: 'ECL_SERVE_PORT', describe: 'default of --port, an integer 0..65535 (flag wins); the container image sets 8080', stages: ['serve'] },
  { name: 'ECL_SERVE_GRPC_PORT', describe: 'default of --grpc-port, an integer 0..65535 (flag wins; unset: no gRPC); the container image sets 8081', stages: ['serve'] },
  { name: 'ECL_SOAK_SECONDS', describe: 'tests: seconds of 2x-capacity load in the serve soak test (default 15; make soak sets 60)', stages: ['make test'] },
  { name: 'ECL_SOAK_MODEL', describe: 'tests: model family of the serve soak test, cnn28 (default) or resnet32 (make soak runs both)', stages: ['make test'] },
  { name: 'ECL_SOAK_SERVER_ARGS', describe: 'tests: extra `ecl serve` options for the soak test\'s server (e.g. "--max-batch 8 --max-queue 16"), to compare limits', stages: ['make test'] },
  { name: 'ECL_DEBUG', describe: 'any value: print stack traces with errors', stages: ['all'] },
  { name: 'ECL_REQUIRE', describe: 'tests: comma-separated chromium,onnx,webgpu,fmnist,clang,opencv,torch,podman; a missing one fails its suite instead of skipping (.ci/run sets it)', stages: ['make test', 'make image-test'] },
];

type Env = Readonly<Record<string, string | undefined>>;
const env = (): Env => process.env;

/** Current values, read on each access. Pass `e` to read another environment (a child's). */
export const settings = {
  /** Raw ECL_WASM_THREADS ('' or undefined = not set); pipeline/backend/select.ts validates it. */
  wasmThreads: (e: Env = env()) => e.ECL_WASM_THREADS,
  wasmSimdKernels: (e: Env = env()) => e.ECL_WASM_SIMD_KERNELS !== '0',
  wasmWinograd: (e: Env = env()) => e.ECL_WASM_WINOGRAD !== '0',
  fuseBatchNormRelu: (e: Env = env()) => e.ECL_FUSE_BN_RELU !== '0',
  webgpuStockKernels: (e: Env = env()) => e.ECL_WEBGPU_STOCK_KERNELS === '1',
  webgpuFlags: (e: Env = env()) => e.ECL_WEBGPU_FLAGS ?? '',
  onnxPython: (e: Env = env()) => e.ECL_ONNX_PYTHON || undefined,
  chromium: (e: Env = env()) => e.ECL_CHROMIUM || undefined,
  cudaEpPlatform: (e: Env = env()) => e.ECL_CUDA_EP_PLATFORM || undefined,
  serveHost: (e: Env = env()) => e.ECL_SERVE_HOST || undefined,
  /** Raw ECL_SERVE_PORT; serve/node/options.ts validates it. */
  servePort: (e: Env = env()) => e.ECL_SERVE_PORT || undefined,
  /** Raw ECL_SERVE_GRPC_PORT; serve/node/options.ts validates it. */
  serveGrpcPort: (e: Env = env()) => e.ECL_SERVE_GRPC_PORT || undefined,
  soakSeconds: (e: Env = env()) => e.ECL_SOAK_SECONDS || undefined,
  soakModel: (e: Env = env()) => e.ECL_SOAK_MODEL || undefined,
  soakServerArgs: (e: Env = env()) => (e.ECL_SOAK_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean),
  required: (e: Env = env()) => (e.ECL_REQUIRE ?? '').split(/[\s,]+/).filter(Boolean),
  get debug(): boolean {
    return Boolean(env().ECL_DEBUG);
  },
};

/** The settings a stage honours ('all' ones included); every setting, with its stages, when no stage is given. */
export function settingsFor(stage?: string): SettingInfo[] {
  return SETTINGS.filter((s) => !stage || s.stages.includes(stage) || s.stages.includes('all'));
}

/** The variables as a help epilogue (one stage's, or all of them with the stages each applies to). */
export function settingsHelp(stage?: string): string {
  const list = settingsFor(stage);
  if (!list.length) return 'Environment variables: none';
  // Name and description on separate lines: yargs wraps epilogue lines at 80 columns.
  const head = stage ? `Environment variables (${stage}):` : 'Environment variables (the stages that read them in brackets):';
  return [head, ...list.flatMap((s) => [`  ${s.name}${stage ? '' : ` [${s.stages.join(', ')}]`}`, `      ${s.describe}`])].join('\n');
}
