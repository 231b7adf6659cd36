#!/usr/bin/env python3
"""PyTorch peer of `ecl bench-train`: one training step of the SAME model and loss as the tfjs trainer.

Architectures mirror models/builders.ts:
  cnn28     conv3x3(32, same, no bias)+BN+ReLU+maxpool2, conv3x3(64)+BN+ReLU+maxpool2, flatten, dense128+ReLU
  resnetN   CIFAR ResNet (6n+2): stem conv3x3(16)+BN+ReLU, 3 stages x n basic blocks (16/32/64 channels,
            3x3 convs without bias, stride 2 at the first block of stages 2 and 3), 1x1 conv+BN projection
            shortcut where the shape changes, post-add ReLU, global average pool (d = 64)
  heads     linear classifier d->C; projection head dense(d)+ReLU+dense(k)+L2norm (k = 128 cnn28, 64 ResNets);
            prototype map phi d->k without bias; prototypes P = normalise(phi(W))
  BN        eps 1e-5, running-stat momentum 0.1 (= tfjs/Keras 0.9)
  input     raw uint8 pixels; the model's preprocessing (x/255 - mean)/std is part of the step

Losses mirror models/losses:
  la-ce     CE(logits + tau_LA log pi) with one-hot labels (1 view)
  ecl       L_LC(v1) + lambda_BC L_BC-ECL(z of v2, v3; prototypes) + lambda_CC L_CC-gram (3 views through one
            backbone forward of 3B images, as pipeline/train/trainer.ts does)

Memory format: --memory-format channels_last (default; model and input, PyTorch's CPU performance guide) or nchw;
torch.backends.mkldnn on; torch.set_num_threads(--threads).

Optimiser as pipeline/train/trainer.ts: SGD momentum 0.9 (v = mu v + g + wd w; w -= lr v), weight decay 5e-4 on
conv/dense kernels only. Timed: zero_grad + uint8->float + forward + loss + backward + step + loss.item().

Prints one JSON object on stdout: {"torch", "threads", "stepMs", "cpuMs", "losses", ...}.
"""
import argparse
import json
import math
import sys
import time


def build(torch, nn, F, model: str, num_classes: int, tf_same_padding: bool = False):
    if model == "cnn28":
        H, W, Ch = 28, 28, 1
        mean, std = [0.5], [0.5]
    else:
        H, W, Ch = 32, 32, 3
        mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]

    class TfSameStride2(nn.Conv2d):
        """TF 'same' for a 3x3 stride-2 conv on an even size pads 0 before and 1 after (pad 1 on both sides gives
        the same output size and FLOPs but other windows): used for --check-loss, where values must match."""

        def forward(self, x):
            return super().forward(F.pad(x, (0, 1, 0, 1)))

    def conv(cin, cout, k, stride=1):
        # TF 'same' padding for k=3 (stride 1 or 2 on even sizes) gives the same output size as pad 1;
        # k=1 needs no padding.
        if tf_same_padding and k == 3 and stride == 2:
            return TfSameStride2(cin, cout, k, stride=stride, padding=0, bias=False)
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = conv(cin, cout, 3, stride), bn(cout)
            self.conv2, self.bn2 = conv(cout, cout, 3), bn(cout)
            self.sc = nn.Sequential(conv(cin, cout, 1, stride), bn(cout)) if (stride != 1 or cin != cout) else None

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            return F.relu(y + (self.sc(x) if self.sc is not None else x))

    if model == "cnn28":
        backbone = nn.Sequential(
            conv(1, 32, 3), bn(32), nn.ReLU(), nn.MaxPool2d(2, 2),
            conv(32, 64, 3), bn(64), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(),
        )
        d, k = 128, 128
    elif model in ("resnet8", "resnet20", "resnet32"):
        depth = int(model[len("resnet"):])
        n = (depth - 2) // 6
        layers = [conv(3, 16, 3), bn(16), nn.ReLU()]
        cin = 16
        for stage, ch in enumerate([16, 32, 64]):
            for b in range(n):
                layers.append(Block(cin, ch, 2 if (stage > 0 and b == 0) else 1))
                cin = ch
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        backbone = nn.Sequential(*layers)
        d, k = 64, 64
    else:
        raise SystemExit(f"unknown model {model}")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.classifier = nn.Linear(d, num_classes)
            self.proj = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, k))
            self.proto_map = nn.Linear(d, k, bias=False)
            self.register_buffer("scale", torch.tensor([1.0 / (255.0 * s) for s in std]).view(1, Ch, 1, 1))
            self.register_buffer("shift", torch.tensor([-m / s for m, s in zip(mean, std)]).view(1, Ch, 1, 1))

        def features(self, pixels):
            return self.backbone(pixels * self.scale + self.shift)

    net = Net()
    # He-normal kernels, zero biases (models/builders.ts initParams).
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    with torch.no_grad():
        net.classifier.weight.mul_(math.sqrt(1.0 / d) / math.sqrt(2.0))  # builders.ts: He-normal x sqrt(1/d)/sqrt(2)
    return net, (H, W, Ch), d, k


def l2n(F, x):
    return F.normalize(x, dim=-1, eps=1e-12)


def lc_loss(torch, F, logits, onehot, log_prior, la_tau):
    return -(onehot * F.log_softmax(logits + la_tau * log_prior, dim=-1)).sum(-1).mean()


def bc_ecl_loss(torch, z, y, p, tau):
    """models/losses/contrastive.ts bcEclLoss, op for op: masks from one-hot matmuls, the per-anchor stability
    shift m_i (largest score over the other embeddings and the prototypes), shifted exponentials, and the unused
    simSum matmul that pieces() also computes (so both sides do the same work)."""
    n = z.shape[0]
    inv_tau = 1.0 / tau
    s = (z @ z.t()) * inv_tau
    sp = (z @ p.t()) * inv_tau
    eye = torch.eye(n, dtype=z.dtype, device=z.device)
    not_self = 1.0 - eye
    same = (y @ y.t()) * not_self
    s_others = s - eye * (2.0 / tau)
    shift = torch.maximum(s_others.max(1, keepdim=True).values, sp.max(1, keepdim=True).values)
    e = torch.exp(s_others - shift) * not_self
    sum_exp = e @ y
    count = y.sum(0, keepdim=True) - y
    proto_exp = torch.exp(sp - shift)
    _sim_sum = (s * not_self) @ y  # noqa: F841 (computed by pieces() for the mean-vector variant)
    pos_sim_sum = (same * s).sum(1)
    pos_count = same.sum(1)
    pos_proto = (y * sp).sum(1)
    has = torch.clamp(count, max=1.0)
    mean_exp = sum_exp / torch.clamp(count, min=1.0)
    mass = proto_exp + has * 0.5 * (mean_exp - proto_exp)
    has_pos = torch.clamp(pos_count, max=1.0)
    mean_pos = pos_sim_sum / torch.clamp(pos_count, min=1.0)
    pos = pos_proto + has_pos * 0.5 * (mean_pos - pos_proto)
    log_d = torch.log(mass.sum(1)) + shift.squeeze(1)
    return (log_d - pos).mean()


def cc_gram_loss(F, w, p):
    c = w.shape[0]
    wn = l2n(F, w)
    diff = wn @ wn.t() - p @ p.t()
    return (diff * diff).sum() / (c * c)


def load_ours(torch, net, path, model):
    """Loads the tfjs model's parameters (models/builders.ts names and layouts) into `net`, in the order both
    walk their layers (backbone; classifier; projection head; prototype map). Input: the JSON written by
    pipeline/bench/torch-peer.ts peerLossCheck: {"params": [[name, shape, data], ...], ...}."""
    with open(path) as f:
        spec = json.load(f)
    params = iter(spec["params"])

    def take(want_suffix):
        name, shape, data = next(params)
        if not name.endswith(want_suffix):
            raise SystemExit(f"--check-loss: expected a parameter ending {want_suffix}, got {name}")
        return name, torch.tensor(data, dtype=torch.float32).reshape(shape)

    nn = torch.nn
    flatten_hwc = None  # (h, w, c) of the tensor a dense layer after Flatten sees (NHWC flatten in tfjs)
    last_conv_out = None
    mods = [m for m in net.backbone.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    with torch.no_grad():
        for m in mods:
            if isinstance(m, nn.Conv2d):
                _, k = take("/kernel")  # [kh, kw, cin, cout] -> [cout, cin, kh, kw]
                m.weight.copy_(k.permute(3, 2, 0, 1))
                last_conv_out = m.out_channels
            elif isinstance(m, nn.BatchNorm2d):
                for attr, suffix in (("weight", "/gamma"), ("bias", "/beta"), ("running_mean", "/movingMean"), ("running_var", "/movingVariance")):
                    _, t = take(suffix)
                    getattr(m, attr).copy_(t)
            else:
                _, k = take("/kernel")  # [din, dout]
                w = k.t()
                if model == "cnn28" and flatten_hwc is None:
                    # tfjs flattens NHWC (h, w, c); torch flattens NCHW (c, h, w)
                    c = last_conv_out
                    hw = w.shape[1] // c
                    side = int(round(math.sqrt(hw)))
                    flatten_hwc = (side, side, c)
                    w = w.reshape(w.shape[0], side, side, c).permute(0, 3, 1, 2).reshape(w.shape[0], -1)
                m.weight.copy_(w)
                _, b = take("/bias")
                m.bias.copy_(b)
        for lin, has_bias in ((net.classifier, True), (net.proj[0], True), (net.proj[2], True), (net.proto_map, False)):
            _, k = take("/kernel")
            lin.weight.copy_(k.t())
            if has_bias:
                _, b = take("/bias")
                lin.bias.copy_(b)
        if "mean" in spec:
            n_ch = net.scale.shape[1]
            net.scale.copy_(torch.tensor([1.0 / (255.0 * v) for v in spec["std"]]).view(1, n_ch, 1, 1))
            net.shift.copy_(torch.tensor([-m / v for m, v in zip(spec["mean"], spec["std"])]).view(1, n_ch, 1, 1))
    rest = list(params)
    if rest:
        raise SystemExit(f"--check-loss: {len(rest)} parameters left over, first {rest[0][0]}")
    return spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn28")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--loss", default="la-ce", choices=["la-ce", "ecl"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-format", default="channels_last", choices=["channels_last", "nchw"],
                    help="channels_last (PyTorch's CPU performance guide) or contiguous NCHW, for model and input")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--class-counts", default="", help="comma-separated training class counts (log prior)")
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--la-tau", type=float, default=1.0)
    ap.add_argument("--lambda-bc", type=float, default=1.0)
    ap.add_argument("--lambda-cc", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (PyTorch defaults otherwise: eager, TF32 convs as shipped)")
    ap.add_argument("--check-loss", default="", help="JSON with the tfjs model's parameters, pixels and labels: "
                    "print the loss terms of one forward pass in training mode instead of timing")
    a = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    torch.backends.mkldnn.enabled = True  # the default; stated because the peer is meant to be PyTorch's best CPU setup
    if a.device != "cpu" and not torch.cuda.is_available():
        raise SystemExit(f"--device {a.device}: torch.cuda.is_available() is False")
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    counts = [float(c) for c in a.class_counts.split(",") if c.strip()] or [5000 * 0.01 ** (c / 9) for c in range(10)]
    C = len(counts)
    net, (H, W, Ch), d, k = build(torch, nn, F, a.model, C, tf_same_padding=bool(a.check_loss))
    fixed = load_ours(torch, net, a.check_loss, a.model) if a.check_loss else None
    fmt = torch.channels_last if a.memory_format == "channels_last" else torch.contiguous_format
    net.to(dev).to(memory_format=fmt).train()
    log_prior = torch.log(torch.tensor([max(c, 1.0) / sum(counts) for c in counts])).to(dev)

    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() > 1]
    no_decay = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=a.lr, momentum=a.momentum,
    )

    B = a.batch
    views = 3 if a.loss == "ecl" else 1
    if fixed is not None:
        # NHWC float pixels, view-major (the trainer's batch layout) -> NCHW
        pixels = torch.tensor(fixed["pixels"], dtype=torch.float32).reshape(views * B, H, W, Ch).permute(0, 3, 1, 2)
        labels = torch.tensor(fixed["labels"], dtype=torch.long)
    else:
        g = torch.Generator().manual_seed(12345)
        pixels = torch.randint(0, 256, (views * B, Ch, H, W), dtype=torch.uint8, generator=g)
        labels = torch.arange(B) % C
    pixels = pixels.to(dev).contiguous(memory_format=fmt)
    y1 = F.one_hot(labels, C).float().to(dev)
    y2 = F.one_hot(torch.cat([labels, labels]), C).float().to(dev)

    def losses():
        x = pixels.float()
        h = net.features(x)
        logits = net.classifier(h)
        if views == 3:
            logits = logits[:B]
        lc = lc_loss(torch, F, logits, y1, log_prior, a.la_tau)
        if views == 1:
            return lc, {"lc": lc}
        z = l2n(F, net.proj(h[B:]))
        w = net.classifier.weight  # [C, d]
        p = l2n(F, net.proto_map(w))
        bc = bc_ecl_loss(torch, z, y2, p, a.temperature)
        cc = cc_gram_loss(F, w, p)
        return lc + a.lambda_bc * bc + a.lambda_cc * cc, {"lc": lc, "bc": bc, "cc": cc}

    if fixed is not None:
        total, parts = losses()
        print(json.dumps({"total": total.item(), "parts": {k2: v.item() for k2, v in parts.items()}, "torch": torch.__version__}))
        return

    def step():
        opt.zero_grad(set_to_none=True)
        total, _ = losses()
        total.backward()
        opt.step()
        return total.item()

    step_ms, cpu_ms, losses_seen = [], [], []
    for i in range(a.warmup + a.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        lv = step()
        dt = (time.perf_counter() - t0) * 1000
        dc = (time.process_time() - c0) * 1000
        losses_seen.append(lv)
        if i >= a.warmup:
            step_ms.append(dt)
            cpu_ms.append(dc)
    print(json.dumps({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "memoryFormat": a.memory_format,
        "device": a.device + (f" ({torch.cuda.get_device_name(0)})" if a.device != "cpu" else ""),
        "model": a.model, "batch": B, "loss": a.loss, "views": views,
        "params": sum(p.numel() for p in net.parameters()),
        "warmup": a.warmup,
        "stepMs": step_ms, "cpuMs": cpu_ms, "losses": losses_seen,
    }))


if __name__ == "__main__":
    main()
