// Views of tensors in tfjs-backend-wasm's heap, shared by the wasm kernel modules.
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const f32 = (b: BackendWasm, t: tf.TensorInfo) => b.typedArrayFromHeap(t) as Float32Array;

/** Byte offset of a tensor's data in the wasm heap (a pointer for the SIMD kernels). */
export const heapOffset = (b: BackendWasm, t: tf.TensorInfo) => (b.dataIdMap.get(t.dataId) as unknown as { memoryOffset: number }).memoryOffset;

/** A float64 view of a float32 tensor's bytes (scratch that a kernel filled with doubles). */
export const f64 = (b: BackendWasm, t: tf.TensorInfo) => {
  const bytes = b.typedArrayFromHeap(t) as Float32Array;
  return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
};
