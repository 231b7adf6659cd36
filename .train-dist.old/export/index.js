// Public API of the tfjs -> ONNX exporter.
export { exportRun, formatExportResult, buildOnnxModel, ExportError, MODEL_FILE, PRODUCER_NAME } from './export-run.js';
export { validateOnnx, runOnnxChecker, runOrtCpuSmoke } from './validate.js';
export { compareWithTfjs, exportCheck, useTfjsBackend, EXPORT_CHECK_MAX_LOGIT_DIFF } from './compare.js';
export { buildInferenceGraph, UnsupportedLayerError, SUPPORTED_LAYER_KINDS } from './op-mapping.js';
export { buildMetadata, gitCommit } from './metadata.js';
export { ONNX_OPSET, ONNX_IR_VERSION, decodeModel, metadataMap } from './onnx-builder.js';
//# sourceMappingURL=index.js.map