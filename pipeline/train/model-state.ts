// The live model during training/eval: tfjs variables for trainable parameters, plain tensors for BN
// moving statistics, momentum buffers for SGD. Converts to/from the checkpoint's plain arrays.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../../models/builders.js';
import type { ParamTensors } from '../../models/forward.js';
import { isTrainableRole } from '../../models/spec.js';

export class ModelState {
  readonly trainable = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  readonly momentum = new Map<string, tf.Variable>();

  constructor(params: ParamStore, momentum?: ParamStore) {
    for (const [name, p] of params) {
      const role = name.split('/').pop()!;
      const v = tf.variable(tf.tensor(p.data, p.shape, 'float32'), isTrainableRole(role), name.replace(/\//g, '__') + '_' + uid());
      (isTrainableRole(role) ? this.trainable : this.buffers).set(name, v);
    }
    for (const [name, v] of this.trainable) {
      const saved = momentum?.get(name);
      const init = saved ? tf.tensor(saved.data, saved.shape, 'float32') : tf.zerosLike(v);
      this.momentum.set(name, tf.variable(init, false));
    }
  }

  /** All parameters (trainable + BN statistics) by name, as the forward interpreter wants them. */
  params(): ParamTensors {
    return new Map<string, tf.Tensor>([...this.trainable, ...this.buffers]);
  }

  async toStore(which: 'params' | 'momentum'): Promise<ParamStore> {
    const src = which === 'params' ? [...this.trainable, ...this.buffers] : [...this.momentum];
    const out: ParamStore = new Map();
    for (const [name, v] of src) out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    return out;
  }

  dispose(): void {
    for (const m of [this.trainable, this.buffers, this.momentum]) for (const v of m.values()) v.dispose();
  }
}

let counter = 0;
const uid = () => `${process.pid}_${counter++}`;
