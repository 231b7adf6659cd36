// The loss plug-in point of the trainer. A loss sees the classifier view's logits and, when it asks for
// them, the two contrastive views' embeddings and the classifier-derived prototypes.
import type * as tf from '@tensorflow/tfjs-core';

export interface LossInputs {
  /** Logits of the classifier view v1, [B, C]. */
  logits: tf.Tensor2D;
  /** One-hot labels of v1, [B, C] (float32; one-hot matMul instead of gather keeps wasm gradients cheap). */
  oneHot: tf.Tensor2D;
  /** Training-set class counts (for logit compensation), length C. */
  classCounts: number[];
  /** L2-normalised embeddings of the contrastive views v2 then v3, [2B, k]; present when needsContrastiveViews. */
  embeddings?: tf.Tensor2D;
  /** One-hot labels of the 2B embeddings, [2B, C]. */
  embeddingOneHot?: tf.Tensor2D;
  /** L2-normalised prototypes P = normalise(phi(W)), [C, k]; present when needsContrastiveViews. */
  prototypes?: tf.Tensor2D;
  /** Classifier weights W, [C, d]. */
  classifierWeights: tf.Tensor2D;
}

export interface LossOutput {
  total: tf.Scalar;
  /** Named terms (already weighted as they enter the total is NOT assumed: these are the raw terms). */
  parts: Record<string, tf.Scalar>;
}

export interface LossHyperParams {
  /** Contrastive temperature tau. */
  temperature: number;
  /** Logit-adjustment strength tau_LA. */
  laTau: number;
  /** Weight of the LC term (default 1; --loss-weights normalised sets it after epoch 0). */
  lambdaLc?: number;
  /** Weight of the balanced-contrastive term. */
  lambdaBc: number;
  /** Weight of the classifier-centre alignment term. */
  lambdaCc: number;
  /** BC-ECL class masses: 'mass' (mean of exponentials, default) or 'mean-vector' (exponential of the mean vector's score). */
  bcForm?: 'mass' | 'mean-vector';
  /** CC-GE: 'gram' (default) or 'direct' (needs the classifier's d = the prototypes' k). */
  ccForm?: 'gram' | 'direct';
}

export interface LossPlugin {
  name: string;
  /** Whether the trainer must compute the two contrastive views, embeddings and prototypes. */
  needsContrastiveViews: boolean;
  compute(inputs: LossInputs): LossOutput;
}
