// Gradient definitions for the kernels our models and losses use.
//
// tfjs-core's Node bundle (dist/tf-core.node.js) ships no gradient configs: the official ones live only in
// the bundler-only ESM files under dist/gradients/ (extensionless imports Node cannot load), so without
// this module every tf.grad / tf.variableGrads fails with "gradient function not found for ...".
// These are ports of tfjs-core 4.22's gradient configs (Apache-2.0), with two cheaper variants:
// Sum/Mean broadcast dy with one Tile instead of multiplying by a full-size tensor of ones, and the
// Relu/Step-style masks skip the float->float Cast.
//
// registerTrainingGradients() only fills gaps: a kernel that already has a gradient keeps it.
import * as tf from '@tensorflow/tfjs-core';
const { getReductionAxes, assertAndGetBroadcastShape } = tf.backend_util;
function reduceTo(res, shape, outShape) {
    const axes = getReductionAxes(shape, outShape);
    if (axes.length > 0)
        res = tf.sum(res, axes);
    return tf.reshape(res, shape);
}
function parseAxes(axis, shape) {
    return tf.util.parseAxisParam(axis, shape);
}
/** dy reshaped to keep-dims form and broadcast (one Tile) to `shape`. */
function broadcastBack(dy, shape, axes) {
    const expanded = shape.slice();
    for (const a of axes)
        expanded[a] = 1;
    const r = tf.reshape(dy, expanded);
    return tf.util.arraysEqual(expanded, shape) ? r : tf.broadcastTo(r, shape);
}
const f32 = (t) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
function binaryBroadcast(kernelName, derA, derB) {
    return {
        kernelName,
        inputsToSave: ['a', 'b'],
        gradFunc: (dy, saved) => {
            const d = dy;
            const [a, b] = saved;
            const outShape = assertAndGetBroadcastShape(a.shape, b.shape);
            return {
                a: () => reduceTo(derA(d, a, b), a.shape, outShape),
                b: () => reduceTo(derB(d, a, b), b.shape, outShape),
            };
        },
    };
}
function unary(kernelName, save, der, inputName = 'x') {
    const cfg = {
        kernelName,
        gradFunc: (dy, saved, attrs) => ({ [inputName]: () => der(dy, saved[0], attrs) }),
    };
    if (save === 'x')
        cfg.inputsToSave = [inputName];
    if (save === 'y')
        cfg.outputsToSave = [true];
    return cfg;
}
function zeroGrad(kernelName, inputs) {
    return {
        kernelName,
        inputsToSave: inputs,
        gradFunc: (_dy, saved) => {
            const g = {};
            inputs.forEach((n, i) => (g[n] = () => tf.cast(tf.zerosLike(saved[i]), 'float32')));
            return g;
        },
    };
}
function minMaxGrad(dy, y, x, axes) {
    const keep = tf.backend_util.expandShapeToKeepDim;
    const yk = y.rank < x.rank ? tf.reshape(y, keep(y.shape, axes)) : y;
    const dyk = dy.rank < x.rank ? tf.reshape(dy, keep(dy.shape, axes)) : dy;
    return tf.mul(dyk, tf.cast(tf.equal(x, yk), dy.dtype));
}
function configs() {
    const K = tf; // kernel name constants live on the tf namespace
    return [
        binaryBroadcast(K.Add, (dy) => dy, (dy) => dy),
        binaryBroadcast(K.Sub, (dy) => dy, (dy) => tf.neg(dy)),
        binaryBroadcast(K.Multiply, (dy, _a, b) => tf.mul(dy, f32(b)), (dy, a) => tf.mul(dy, f32(a))),
        binaryBroadcast(K.RealDiv, (dy, _a, b) => tf.div(dy, f32(b)), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f32(a)), f32(tf.square(b))))),
        binaryBroadcast(K.SquaredDifference, (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)), (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2))),
        binaryBroadcast(K.Maximum, (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32'))),
        binaryBroadcast(K.Minimum, (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')), (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), 'float32'))),
        {
            kernelName: K.Pow,
            inputsToSave: ['a', 'b'],
            outputsToSave: [true],
            gradFunc: (dy, saved) => {
                const d = dy;
                const [a, b, y] = saved;
                const outShape = assertAndGetBroadcastShape(a.shape, b.shape);
                return {
                    a: () => {
                        const e = f32(b);
                        return reduceTo(tf.mul(d, tf.mul(e, tf.pow(a, tf.sub(e, 1)))), a.shape, outShape);
                    },
                    b: () => {
                        const logBase = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
                        return reduceTo(tf.mul(d, tf.mul(y, logBase)), b.shape, outShape);
                    },
                };
            },
        },
        {
            kernelName: K.AddN,
            saveAllInputs: true,
            gradFunc: (dy, saved) => {
                const g = {};
                saved.forEach((_, i) => (g[i] = () => dy.clone()));
                return g;
            },
        },
        unary(K.Neg, 'none', (dy) => tf.neg(dy)),
        unary(K.Identity, 'none', (dy) => f32(dy)),
        unary(K.Cast, 'none', (dy) => dy.clone()),
        unary(K.Square, 'x', (dy, x) => tf.mul(dy, tf.mul(f32(x), 2))),
        unary(K.Sqrt, 'x', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(f32(x)), 2))),
        unary(K.Rsqrt, 'x', (dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(x, 1.5), 2)))),
        unary(K.Exp, 'y', (dy, y) => tf.mul(dy, y)),
        unary(K.Log, 'x', (dy, x) => tf.div(dy, f32(x))),
        unary(K.Log1p, 'x', (dy, x) => tf.div(dy, tf.add(x, 1))),
        unary(K.Reciprocal, 'x', (dy, x) => tf.div(dy, tf.neg(tf.square(x)))),
        unary(K.Abs, 'x', (dy, x) => tf.mul(dy, tf.step(f32(x), -1))),
        unary(K.Sigmoid, 'y', (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
        unary(K.Tanh, 'y', (dy, y) => tf.mul(tf.sub(1, tf.square(y)), dy)),
        unary(K.Softplus, 'x', (dy, x) => tf.mul(dy, tf.sigmoid(x))),
        // step(x) is float32 for float32 x, so no Cast (the official config adds one).
        unary(K.Relu, 'x', (dy, x) => tf.mul(dy, tf.step(x))),
        unary(K.Relu6, 'x', (dy, x) => tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.lessEqual(x, 6)), 'float32'))),
        unary(K.LeakyRelu, 'x', (dy, x, attrs) => tf.where(tf.greater(x, 0), dy, tf.mul(dy, attrs.alpha))),
        unary(K.Elu, 'y', (dy, y) => tf.engine().runKernel(K.EluGrad, { dy, y: y })),
        unary(K.ClipByValue, 'x', (dy, x, attrs) => tf.where(tf.logicalAnd(tf.greaterEqual(x, attrs.clipValueMin), tf.lessEqual(x, attrs.clipValueMax)), dy, tf.zerosLike(dy))),
        unary(K.Softmax, 'y', (dy, y, attrs) => {
            const dyTimesY = tf.mul(dy, y);
            return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [attrs.dim], true), y));
        }, 'logits'),
        {
            kernelName: K.LogSoftmax,
            outputsToSave: [true],
            gradFunc: (dy, saved, attrs) => {
                const [value] = saved;
                const d = dy;
                return { logits: () => tf.sub(d, tf.mul(tf.sum(d, attrs.axis, true), tf.exp(value))) };
            },
        },
        unary(K.Sum, 'x', (dy, x, attrs) => broadcastBack(dy, x.shape, parseAxes(attrs.axis, x.shape))),
        unary(K.Mean, 'x', (dy, x, attrs) => {
            const axes = parseAxes(attrs.axis, x.shape);
            const n = axes.reduce((p, a) => p * x.shape[a], 1);
            return broadcastBack(tf.div(dy, n), x.shape, axes);
        }),
        {
            kernelName: K.Max,
            inputsToSave: ['x'],
            outputsToSave: [true],
            gradFunc: (dy, saved, attrs) => {
                const [x, y] = saved;
                return { x: () => minMaxGrad(dy, y, x, parseAxes(attrs.reductionIndices, x.shape)) };
            },
        },
        {
            kernelName: K.Min,
            inputsToSave: ['x'],
            outputsToSave: [true],
            gradFunc: (dy, saved, attrs) => {
                const [x, y] = saved;
                return { x: () => minMaxGrad(dy, y, x, parseAxes(attrs.axis, x.shape)) };
            },
        },
        unary(K.Reshape, 'x', (dy, x) => tf.reshape(dy, x.shape)),
        unary(K.ExpandDims, 'x', (dy, x) => tf.reshape(dy, x.shape), 'input'),
        unary(K.Transpose, 'none', (dy, _x, attrs) => tf.transpose(dy, tf.backend_util.getUndoAxesPermutation(attrs.perm))),
        {
            kernelName: K.BroadcastTo,
            gradFunc: (dy, _saved, attrs) => {
                const inShape = attrs.inputShape;
                const outShape = attrs.shape;
                const lead = outShape.length - inShape.length;
                const axes = [];
                outShape.forEach((n, i) => {
                    if (i < lead || (inShape[i - lead] === 1 && n !== 1))
                        axes.push(i);
                });
                return { x: () => tf.reshape(tf.sum(dy, axes), inShape) };
            },
        },
        {
            kernelName: K.Tile,
            inputsToSave: ['x'],
            gradFunc: (dy, saved, attrs) => {
                const [x] = saved;
                const reps = attrs.reps;
                // dy viewed as [r0, s0, r1, s1, ...]; sum over the r axes.
                return {
                    x: () => {
                        const shape = [];
                        const axes = [];
                        x.shape.forEach((s, i) => {
                            axes.push(shape.length);
                            shape.push(reps[i], s);
                        });
                        return tf.reshape(tf.sum(tf.reshape(dy, shape), axes), x.shape);
                    },
                };
            },
        },
        {
            kernelName: K.Slice,
            inputsToSave: ['x'],
            gradFunc: (dy, saved, attrs) => {
                const [x] = saved;
                const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
                return { x: () => tf.pad(dy, begin.map((b, i) => [b, x.shape[i] - b - size[i]])) };
            },
        },
        {
            kernelName: K.PadV2,
            inputsToSave: ['x'],
            gradFunc: (dy, saved, attrs) => {
                const [x] = saved;
                const begin = attrs.paddings.map((p) => p[0]);
                return { x: () => tf.slice(dy, begin, x.shape) };
            },
        },
        {
            kernelName: K.Concat,
            saveAllInputs: true,
            gradFunc: (dy, saved, attrs) => {
                const ts = saved;
                const axis = parseAxes(attrs.axis, ts[0].shape)[0];
                const parts = tf.split(dy, ts.map((t) => t.shape[axis]), axis);
                const g = {};
                parts.forEach((p, i) => (g[i] = () => p));
                return g;
            },
        },
        {
            kernelName: K.Pack,
            saveAllInputs: true,
            gradFunc: (dy, _saved, attrs) => {
                const parts = tf.unstack(dy, attrs.axis);
                const g = {};
                parts.forEach((p, i) => (g[i] = () => p));
                return g;
            },
        },
        unary(K.Unpack, 'none', (dy, _x, attrs) => tf.stack(dy, attrs.axis), 'value'),
        unary(K.SplitV, 'none', (dy, _x, attrs) => tf.concat(dy, attrs.axis)),
        {
            kernelName: K.Select,
            inputsToSave: ['condition'],
            gradFunc: (dy, saved) => {
                const [c] = saved;
                const d = dy;
                return {
                    condition: () => tf.cast(tf.zerosLike(c), 'float32'),
                    t: () => tf.mul(d, tf.cast(c, d.dtype)),
                    e: () => tf.mul(d, tf.cast(tf.logicalNot(c), d.dtype)),
                };
            },
        },
        {
            kernelName: K.BatchMatMul,
            inputsToSave: ['a', 'b'],
            gradFunc: (dy, saved, attrs) => {
                const [a, b] = saved;
                const d = dy;
                const ta = attrs.transposeA;
                const tb = attrs.transposeB;
                if (!ta && !tb)
                    return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
                if (!ta && tb)
                    return { a: () => tf.matMul(d, b, false, false), b: () => tf.matMul(d, a, true, false) };
                if (ta && !tb)
                    return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d, false, false) };
                return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
            },
        },
        {
            kernelName: K.Conv2D,
            inputsToSave: ['x', 'filter'],
            gradFunc: (dy, saved, attrs) => {
                const [x, filter] = saved;
                const d = dy;
                const dil = attrs.dilations;
                if (!tf.backend_util.tupleValuesAreOne(dil))
                    throw new Error(`conv2d gradient: dilations ${String(dil)} are not supported`);
                const strides = attrs.strides;
                const pad = attrs.pad;
                const fmt = attrs.dataFormat;
                return {
                    x: () => conv2DBackpropInput(x.shape, d, filter, strides, pad, fmt, attrs.dimRoundingMode),
                    filter: () => conv2DBackpropFilter(x, d, filter.shape, strides, pad, fmt, attrs.dimRoundingMode),
                };
            },
        },
        {
            kernelName: K.MaxPool,
            inputsToSave: ['x'],
            outputsToSave: [true],
            gradFunc: (dy, saved, attrs) => {
                const [x, y] = saved;
                return {
                    x: () => tf.engine().runKernel(K.MaxPoolGrad, { dy: dy, input: x, output: y }, {
                        filterSize: attrs.filterSize,
                        strides: attrs.strides,
                        pad: attrs.pad,
                        dimRoundingMode: attrs.dimRoundingMode,
                    }),
                };
            },
        },
        {
            kernelName: K.AvgPool,
            inputsToSave: ['x'],
            gradFunc: (dy, saved, attrs) => {
                const [x] = saved;
                return {
                    x: () => tf.engine().runKernel(K.AvgPoolGrad, { dy: dy, input: x }, {
                        filterSize: attrs.filterSize,
                        strides: attrs.strides,
                        pad: attrs.pad,
                    }),
                };
            },
        },
        zeroGrad(K.OneHot, ['indices']),
        zeroGrad(K.Floor, ['x']),
        zeroGrad(K.Ceil, ['x']),
        zeroGrad(K.Round, ['x']),
        zeroGrad(K.Sign, ['x']),
        zeroGrad(K.Step, ['x']),
        zeroGrad(K.GreaterEqual, ['a', 'b']),
    ];
}
function conv2DBackpropInput(inputShape, dy, filter, strides, pad, dataFormat, dimRoundingMode) {
    return tf.engine().runKernel(K_BACKPROP_INPUT, { dy, filter }, {
        strides,
        pad,
        dataFormat,
        dimRoundingMode,
        inputShape,
    });
}
function conv2DBackpropFilter(x, dy, filterShape, strides, pad, dataFormat, dimRoundingMode) {
    return tf.engine().runKernel(K_BACKPROP_FILTER, { x, dy }, {
        strides,
        pad,
        dataFormat,
        dimRoundingMode,
        filterShape,
    });
}
const K_BACKPROP_INPUT = tf.Conv2DBackpropInput;
const K_BACKPROP_FILTER = tf.Conv2DBackpropFilter;
let registered;
/** Registers gradients for every kernel listed above that has none yet; returns the kernel names it filled. */
export function registerTrainingGradients() {
    if (registered)
        return registered;
    registered = [];
    for (const cfg of configs()) {
        if (tf.getGradient(cfg.kernelName) != null)
            continue;
        tf.registerGradient(cfg);
        registered.push(cfg.kernelName);
    }
    return registered;
}
//# sourceMappingURL=gradients.js.map