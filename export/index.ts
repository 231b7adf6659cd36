// Public API of the tfjs -> ONNX exporter.
export { exportRun, formatExportResult, buildOnnxModel, ExportError, PRODUCER_NAME } from './export-run.js';
export type { ExportOptions, ExportResult, BuildModelOptions, BuiltModel } from './export-run.js';
export { validateOnnx, runOnnxChecker, runOrtCpuSmoke } from './validate.js';
export type { ValidationResult, ValidateOptions, CheckerResult } from './validate.js';
export { buildInferenceGraph, UnsupportedLayerError, SUPPORTED_LAYER_KINDS } from './op-mapping.js';
export { buildMetadata, gitCommit } from './metadata.js';
export { ONNX_OPSET, ONNX_IR_VERSION, decodeModel, metadataMap } from './onnx-builder.js';
