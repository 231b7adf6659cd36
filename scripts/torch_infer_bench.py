#!/usr/bin/env python3
"""PyTorch eager inference of an exported ONNX model: the peer of onnxruntime-node's session.run in
`ecl bench-serve` (scripts/gpu-check.sh compares them on CUDA at the same batch sizes).

The torch model is built FROM THE ONNX FILE ITSELF (the `onnx` package reads the graph and its weights; each
node becomes the matching torch.nn.functional call, run eagerly in graph order), so both runtimes execute the
same graph with the same weights: BatchNorm is already folded into the convolutions by the exporter, the uint8
NHWC -> float NCHW preprocessing is part of the graph. Supported ops: those the exporter writes (Cast,
Transpose, Mul, Add, Sub, Div, Conv, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm, MatMul, Softmax,
Reshape, Identity, BatchNormalization, ReduceMean); anything else is a clear error.

Timed like bench-serve's session.run ceiling: the uint8 batch starts in host memory and both outputs (logits,
probs) end in host memory ('host' numbers); 'device' numbers keep input and outputs on the device (the kernel
time PyTorch can reach). fp32 weights; torch's own TF32 defaults unless --no-tf32 (reported either way).

--check DIR compares the logits on DIR/input.u8 with DIR/logits.f32 (scripts/ort-reference.ts writes both)
and reports the largest absolute difference.

Prints one JSON object on stdout (and writes it to --out).
"""
import argparse
import json
import math
import os
import sys
import time


def attrs_of(onnx, node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def build_module(torch, onnx, numpy_helper, path):
    F = torch.nn.functional
    model = onnx.load(path)
    g = model.graph
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
    init_names = set(weights)
    inputs = [i.name for i in g.input if i.name not in init_names]
    if len(inputs) != 1:
        raise SystemExit(f"{path}: expected one graph input, found {inputs}")
    outputs = [o.name for o in g.output]
    ops = set(n.op_type for n in g.node)

    def conv(x, w, b, a):
        pads = list(a.get("pads", [0, 0, 0, 0]))
        strides = tuple(a.get("strides", [1, 1]))
        dil = tuple(a.get("dilations", [1, 1]))
        group = a.get("group", 1)
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise SystemExit("Conv auto_pad is not supported (the exporter writes explicit pads)")
        top, left, bottom, right = pads
        if top == bottom and left == right:
            return F.conv2d(x, w, b, strides, (top, left), dil, group)
        # Asymmetric ('same' with stride 2 on even sizes): pad first, as ONNX does.
        return F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, strides, 0, dil, group)

    def maxpool(x, a):
        k = tuple(a["kernel_shape"])
        strides = tuple(a.get("strides", k))
        top, left, bottom, right = list(a.get("pads", [0, 0, 0, 0]))
        ceil = bool(a.get("ceil_mode", 0))
        if top == bottom and left == right:
            return F.max_pool2d(x, k, strides, (top, left), ceil_mode=ceil)
        return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=-math.inf), k, strides, 0, ceil_mode=ceil)

    def gemm(a_, b_, c_, a):
        if a.get("transA", 0):
            a_ = a_.t()
        if a.get("transB", 0):
            b_ = b_.t()
        y = a.get("alpha", 1.0) * (a_ @ b_)
        return y if c_ is None else y + a.get("beta", 1.0) * c_

    def reshape(x, shape):
        dims = [int(v) for v in shape.tolist()]
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        return x.reshape(dims)

    def reduce_mean(x, a, axes_in):
        axes = a.get("axes", None)
        if axes is None and axes_in is not None:
            axes = [int(v) for v in axes_in.tolist()]
        return x.mean(dim=tuple(axes) if axes is not None else None, keepdim=bool(a.get("keepdims", 1)))

    def cast(x, a):
        to = a["to"]
        if to == 1:
            return x.float()
        if to == 2:
            return x.to(torch.uint8)
        if to == 7:
            return x.long()
        raise SystemExit(f"Cast to ONNX type {to} is not supported")

    table = {
        "Cast": lambda i, a: cast(i[0], a),
        "Transpose": lambda i, a: i[0].permute(*a["perm"]),
        "Mul": lambda i, a: i[0] * i[1],
        "Add": lambda i, a: i[0] + i[1],
        "Sub": lambda i, a: i[0] - i[1],
        "Div": lambda i, a: i[0] / i[1],
        "Conv": lambda i, a: conv(i[0], i[1], i[2] if len(i) > 2 else None, a),
        "Relu": lambda i, a: F.relu(i[0]),
        "MaxPool": lambda i, a: maxpool(i[0], a),
        "GlobalAveragePool": lambda i, a: i[0].mean(dim=(2, 3), keepdim=True),
        "Flatten": lambda i, a: i[0].reshape(int(math.prod(i[0].shape[: a.get("axis", 1)])), -1),
        "Gemm": lambda i, a: gemm(i[0], i[1], i[2] if len(i) > 2 else None, a),
        "MatMul": lambda i, a: i[0] @ i[1],
        "Softmax": lambda i, a: F.softmax(i[0], dim=a.get("axis", -1)),
        "Reshape": lambda i, a: reshape(i[0], i[1]),
        "Identity": lambda i, a: i[0],
        "BatchNormalization": lambda i, a: F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5)),
        "ReduceMean": lambda i, a: reduce_mean(i[0], a, i[1] if len(i) > 1 else None),
    }
    missing = sorted(ops - set(table))
    if missing:
        raise SystemExit(f"{path}: ONNX ops not supported by this converter: {', '.join(missing)}")
    nodes = [(n.op_type, list(n.input), list(n.output), attrs_of(onnx, n)) for n in g.node]

    class OnnxGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # Buffers, so .to(device) moves every weight; names made attribute-safe.
            self._key = {}
            for i, (name, t) in enumerate(weights.items()):
                key = f"w{i}"
                self._key[name] = key
                self.register_buffer(key, t)

        def forward(self, x):
            env = {inputs[0]: x}
            for name, key in self._key.items():
                env[name] = getattr(self, key)
            for op, ins, outs, a in nodes:
                args = [env[n] if n else None for n in ins]
                env[outs[0]] = table[op](args, a)
            return [env[o] for o in outputs]

    shape = [d.dim_value or d.dim_param for d in g.input[0].type.tensor_type.shape.dim]
    return OnnxGraph(), inputs[0], outputs, shape, sorted(ops)


def rate(torch, fn, batch, seconds, warmup, sync):
    for _ in range(warmup):
        fn()
    sync()
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 4 == 0 or seconds <= 0:
            sync()
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
    sync()
    dt = time.perf_counter() - t0
    return n * batch / dt, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="exported ONNX model")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--batches", default="64,256", help="comma-separated batch sizes")
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per batch size and variant")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-tf32", action="store_true", help="strict fp32 (torch.backends.*.allow_tf32 = False)")
    ap.add_argument("--check", help="folder with input.u8, logits.f32 and meta.json (scripts/ort-reference.ts)")
    ap.add_argument("--out", help="also write the JSON here")
    a = ap.parse_args()
    batches = [int(b) for b in a.batches.split(",") if b.strip()]
    if not batches or any(b < 1 for b in batches):
        raise SystemExit(f"--batches must be positive integers, got {a.batches}")

    import numpy as np
    import onnx
    from onnx import numpy_helper
    import torch

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"no CUDA device for torch {torch.__version__} (torch.cuda.is_available() is False)")
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = not a.no_tf32 and torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = not a.no_tf32 and torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.benchmark = True
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)

    net, in_name, out_names, in_shape, ops = build_module(torch, onnx, numpy_helper, a.model)
    net = net.to(dev).eval()
    hwc = [int(v) for v in in_shape[1:]]
    res = {
        "model": os.path.abspath(a.model),
        "built": "from the ONNX graph and weights (onnx package), node by node in torch eager",
        "ops": ops,
        "input": hwc,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "tf32": {
            "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn": bool(torch.backends.cudnn.allow_tf32),
        } if dev.type == "cuda" else None,
        "seconds": a.seconds,
        "levels": [],
    }

    with torch.inference_mode():
        if a.check:
            meta = json.load(open(os.path.join(a.check, "meta.json")))
            x = np.fromfile(os.path.join(a.check, "input.u8"), dtype=np.uint8).reshape(meta["inputShape"])
            ref = np.fromfile(os.path.join(a.check, "logits.f32"), dtype="<f4").reshape(meta["inputShape"][0], -1)
            got = net(torch.from_numpy(x).to(dev))[out_names.index("logits") if "logits" in out_names else 0]
            got = got.float().cpu().numpy()
            if got.shape != ref.shape:
                raise SystemExit(f"--check: logits shape {got.shape} but the reference has {ref.shape}")
            res["check"] = {
                "images": int(ref.shape[0]),
                "reference": f"onnxruntime-node {meta.get('ep', '?')}",
                "maxAbsDiff": float(np.abs(got - ref).max()),
                "maxAbsRef": float(np.abs(ref).max()),
                "argmaxAgree": float((got.argmax(1) == ref.argmax(1)).mean()),
            }
        g = torch.Generator().manual_seed(7)
        for b in batches:
            host = torch.randint(0, 256, [b, *hwc], dtype=torch.uint8, generator=g)
            on_dev = host.to(dev)

            def host_run():
                outs = net(host.to(dev, non_blocking=False))
                return [o.cpu() for o in outs]

            def device_run():
                return net(on_dev)

            host_ips, host_n = rate(torch, host_run, b, a.seconds, a.warmup, sync)
            dev_ips, dev_n = rate(torch, device_run, b, a.seconds, a.warmup, sync)
            res["levels"].append({"batch": b, "hostImgPerSec": host_ips, "deviceImgPerSec": dev_ips, "runs": host_n + dev_n})
            print(f"torch-infer: batch {b}: {host_ips:.0f} img/s host->host, {dev_ips:.0f} img/s on device", file=sys.stderr)

    text = json.dumps(res, indent=2)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        tmp = f"{a.out}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, a.out)
    print(text)


if __name__ == "__main__":
    main()
