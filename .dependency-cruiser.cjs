// The one-way architecture, checked on every `make test` (tests/unit/architecture.test.ts runs it):
//   models/  <-  export/  <-  serve/ (shared/ browser-safe, node/, web/)  <-  pipeline/ ;  scripts/ are leaves.
// `npx depcruise --config .dependency-cruiser.cjs models export serve pipeline scripts tests` prints every
// offending import with its rule and exits non-zero.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle makes two modules one: cut it.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'models-imports-nothing-of-the-project',
      comment: 'models/ is the bottom layer: maths, artifact formats, the ONNX contract.',
      severity: 'error',
      from: { path: '^models/' },
      to: { path: '^(export|serve|pipeline|scripts|tests)/' },
    },
    {
      name: 'export-imports-only-models',
      comment: 'export/ turns a spec and its parameters into ONNX; it may use models/ only.',
      severity: 'error',
      from: { path: '^export/' },
      to: { path: '^(serve|pipeline|scripts|tests)/' },
    },
    {
      name: 'serve-does-not-import-pipeline',
      comment: 'The server runs without the training side (and ships without it in a container).',
      severity: 'error',
      from: { path: '^serve/' },
      to: { path: '^(pipeline|scripts|tests)/' },
    },
    {
      name: 'browser-code-is-browser-safe',
      comment:
        'serve/web/ and serve/shared/ run in the browser: no node: modules, no node-only packages, no project code ' +
        'outside the browser-safe set (serve/web, serve/shared, models/onnx-contract.ts, onnxruntime-web).',
      severity: 'error',
      from: { path: '^serve/(web|shared)/' },
      to: { pathNot: '^(serve/(web|shared)/|models/onnx-contract[.]ts$|node_modules/onnxruntime-web/)' },
    },
    {
      name: 'onnx-contract-is-browser-safe',
      comment: 'models/onnx-contract.ts is loaded by the browser app as it is: it imports nothing.',
      severity: 'error',
      from: { path: '^models/onnx-contract[.]ts$' },
      to: {},
    },
    {
      name: 'nothing-imports-scripts',
      comment: 'scripts/ are thin entry points; what they run lives in pipeline/ (or below) where it can be imported.',
      severity: 'error',
      from: {},
      to: { path: '^scripts/' },
    },
    {
      name: 'product-code-does-not-import-tests',
      comment: 'Test helpers and fixtures live in tests/helpers/.',
      severity: 'error',
      from: { path: '^(models|export|serve|pipeline|scripts)/' },
      to: { path: '^tests/' },
    },
    {
      name: 'no-unresolvable-imports',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|runs|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'] },
  },
};
