// A small graph builder over the onnx-proto (protobufjs) messages: initializers, nodes, inputs/outputs with
// (optionally symbolic) shapes, metadata, and serialisation through ModelProto.encode. Nothing here knows
// about the model spec; export/op-mapping.ts drives it.
import onnxProto from 'onnx-proto';
export const onnx = onnxProto.onnx;
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** TensorProto.DataType values used by the exporter. */
export const DataType = {
    FLOAT: onnx.TensorProto.DataType.FLOAT,
    UINT8: onnx.TensorProto.DataType.UINT8,
    INT64: onnx.TensorProto.DataType.INT64,
};
const AT = onnx.AttributeProto.AttributeType;
function attribute(name, v) {
    if (typeof v === 'string')
        return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
    if (typeof v === 'number') {
        if (!Number.isInteger(v))
            throw new Error(`attribute ${name}: ${v} is not an integer (use { float } for floats)`);
        return { name, type: AT.INT, i: v };
    }
    if (Array.isArray(v)) {
        for (const x of v)
            if (!Number.isInteger(x))
                throw new Error(`attribute ${name}: ${x} is not an integer`);
        return { name, type: AT.INTS, ints: v };
    }
    if ('float' in v)
        return { name, type: AT.FLOAT, f: v.float };
    return { name, type: AT.FLOATS, floats: v.floats };
}
function valueInfo(name, elemType, shape, doc) {
    return {
        name,
        ...(doc ? { docString: doc } : {}),
        type: {
            tensorType: {
                elemType,
                shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
            },
        },
    };
}
export class OnnxGraphBuilder {
    graphName;
    nodes = [];
    initializers = [];
    inputs = [];
    outputs = [];
    names = new Set();
    nodeNames = new Set();
    reserved = new Set();
    /** `reserved`: names (graph inputs/outputs) that fresh() never hands out. */
    constructor(graphName, reserved = []) {
        this.graphName = graphName;
        for (const r of reserved)
            this.reserved.add(r);
    }
    /** A tensor name not used yet, derived from base ("conv1", "conv1_1", ...). */
    fresh(base) {
        let n = base;
        for (let i = 1; this.names.has(n) || this.reserved.has(n); i++)
            n = `${base}_${i}`;
        this.names.add(n);
        return n;
    }
    claim(name) {
        if (this.names.has(name))
            throw new Error(`ONNX graph: tensor name '${name}' is already used`);
        this.names.add(name);
        return name;
    }
    /** Float32 initializer stored as little-endian raw_data. Returns its (unique) name. */
    addFloatInitializer(base, dims, data) {
        const arr = data instanceof Float32Array ? data : Float32Array.from(data);
        const n = dims.reduce((a, b) => a * b, 1);
        if (n !== arr.length)
            throw new Error(`initializer ${base}: dims ${JSON.stringify(dims)} need ${n} values, got ${arr.length}`);
        for (let i = 0; i < arr.length; i++)
            if (!Number.isFinite(arr[i]))
                throw new Error(`initializer ${base}: non-finite value ${arr[i]} at index ${i}`);
        const name = this.fresh(base);
        const raw = new Uint8Array(arr.length * 4);
        const dv = new DataView(raw.buffer);
        for (let i = 0; i < arr.length; i++)
            dv.setFloat32(i * 4, arr[i], true);
        this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: raw });
        return name;
    }
    addInt64Initializer(base, dims, data) {
        const name = this.fresh(base);
        const raw = new Uint8Array(data.length * 8);
        const dv = new DataView(raw.buffer);
        data.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
        this.initializers.push({ name, dims, dataType: DataType.INT64, rawData: raw });
        return name;
    }
    /** Adds a node; returns the names of its outputs (fresh names derived from `outputs`). */
    addNode(opType, inputs, outputs, attrs = {}, nodeName) {
        for (const i of inputs)
            if (i !== '' && !this.names.has(i))
                throw new Error(`ONNX graph: ${opType} input '${i}' is not defined`);
        const outs = outputs.map((o) => this.fresh(o));
        let nn = nodeName ?? `${opType}_${outs[0]}`;
        for (let i = 1; this.nodeNames.has(nn); i++)
            nn = `${nodeName ?? opType}_${i}`;
        this.nodeNames.add(nn);
        this.nodes.push({
            name: nn,
            opType,
            domain: '',
            input: inputs,
            output: outs,
            attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
        });
        return outs;
    }
    /** Convenience for single-output nodes. */
    op(opType, inputs, output, attrs = {}) {
        return this.addNode(opType, inputs, [output], attrs)[0];
    }
    addInput(name, elemType, shape, doc) {
        this.claim(name);
        this.inputs.push(valueInfo(name, elemType, shape, doc));
        return name;
    }
    /**
     * Declares a graph output named `name` for tensor `from`. A tensor produced by a node (and not already a
     * graph output) is renamed in place, consumers included; otherwise an Identity node copies it.
     */
    addOutput(name, from, elemType, shape, doc) {
        if (!this.names.has(from))
            throw new Error(`ONNX graph: output source '${from}' is not defined`);
        if (from !== name) {
            this.claim(name);
            const producer = this.nodes.find((n) => n.output?.includes(from));
            const isOutput = this.outputs.some((o) => o.name === from);
            if (producer && !isOutput) {
                for (const n of this.nodes) {
                    n.input = n.input.map((i) => (i === from ? name : i));
                    n.output = n.output.map((o) => (o === from ? name : o));
                }
                this.names.delete(from);
            }
            else {
                this.nodes.push({ name: `Identity_${name}`, opType: 'Identity', domain: '', input: [from], output: [name] });
            }
        }
        this.outputs.push(valueInfo(name, elemType, shape, doc));
    }
    opCounts() {
        const c = {};
        for (const n of this.nodes)
            c[n.opType] = (c[n.opType] ?? 0) + 1;
        return c;
    }
    toModel(opts) {
        return onnx.ModelProto.create({
            irVersion: ONNX_IR_VERSION,
            opsetImport: [{ domain: '', version: ONNX_OPSET }],
            producerName: opts.producerName,
            producerVersion: opts.producerVersion,
            docString: opts.docString,
            modelVersion: 1,
            graph: {
                name: this.graphName,
                docString: opts.graphDoc ?? '',
                node: this.nodes,
                initializer: this.initializers,
                input: this.inputs,
                output: this.outputs,
            },
            metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
        });
    }
}
export function encodeModel(model) {
    const err = onnx.ModelProto.verify(model);
    if (err)
        throw new Error(`internal error: invalid ModelProto: ${err}`);
    return onnx.ModelProto.encode(model).finish();
}
export function decodeModel(bytes) {
    return onnx.ModelProto.decode(bytes);
}
/** Shape of a graph input/output value info as numbers and dim_param strings. */
export function valueInfoShape(vi) {
    const dims = vi.type?.tensorType?.shape?.dim ?? [];
    return dims.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
}
export function metadataMap(model) {
    return Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}
//# sourceMappingURL=onnx-builder.js.map