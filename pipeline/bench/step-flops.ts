// The useful arithmetic of one training step: multiply-add FLOPs (2 per MAC) of every conv and dense layer,
// forward + backward, counted from the model spec. Backward = the filter (weight) gradient plus the input
// gradient, except for the first backbone layer, whose input (the pixels) needs no gradient. Winograd or
// any other fast algorithm does fewer multiplies than this: the count is what a direct method needs, so
// "useful GFLOP/s" compares implementations on the same work. BatchNorm, ReLU, pooling, the loss and SGD
// are left out (a few percent of the total).
import { layerInputShapes } from '../../models/builders.js';
import { type LayerSpec, type ModelSpec, walkLayers } from '../../models/spec.js';

export interface StepFlops {
  forward: number;
  backward: number;
  total: number;
}

/** Forward MACs of one conv/dense layer for one input row (image or feature vector). */
function macsPerRow(l: LayerSpec, inShape: number[]): number {
  if (l.kind === 'conv2d') {
    const [h, w, cin] = inShape as [number, number, number];
    const out = (x: number) => (l.padding === 'same' ? Math.ceil(x / l.stride) : Math.floor((x - l.kernel) / l.stride) + 1);
    return out(h) * out(w) * l.filters * l.kernel * l.kernel * cin;
  }
  if (l.kind === 'dense') return inShape[0]! * l.units;
  return 0;
}

/**
 * FLOPs of one step on `batch` source images with `views` views each (ECL: 3; the classifier sees all 3B
 * rows as the trainer computes it, the projection head the 2B contrastive rows, the prototype map the C
 * classifier rows).
 */
export function stepFlops(spec: ModelSpec, batch: number, views: 1 | 3): StepFlops {
  const shapes = layerInputShapes(spec);
  let forward = 0;
  let backward = 0;
  const add = (layers: LayerSpec[], rows: number, firstHasNoInputGrad: boolean) => {
    let first = firstHasNoInputGrad;
    walkLayers(layers, (l) => {
      const macs = macsPerRow(l, shapes.get(l.name)!) * rows;
      if (macs === 0) return;
      forward += 2 * macs;
      backward += 2 * macs * (first ? 1 : 2);
      first = false;
    });
  };
  add(spec.backbone, views * batch, true);
  add([spec.classifier], views * batch, false);
  if (views === 3) {
    add(spec.projector, 2 * batch, false);
    // The prototype map runs on the classifier's C rows of W [C, d].
    add([spec.prototypeMap], spec.numClasses, false);
  }
  return { forward, backward, total: forward + backward };
}
