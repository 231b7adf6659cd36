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

Optimiser as pipeline/train/trainer.ts: SGD momentum 0.9 (v = mu v + g + wd w; w -= lr v), weight decay 5e-4 on
conv/dense kernels only. Timed: zero_grad + uint8->float + forward + loss + backward + step + loss.item().

Prints one JSON object on stdout: {"torch", "threads", "stepMs", "cpuMs", "losses", ...}.
"""
import argparse
import json
import math
import sys
import time


def build(torch, nn, F, model: str, num_classes: int):
    if model == "cnn28":
        H, W, Ch = 28, 28, 1
        mean, std = [0.5], [0.5]
    else:
        H, W, Ch = 32, 32, 3
        mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]

    def conv(cin, cout, k, stride=1):
        # TF 'same' padding for k=3 (stride 1 or 2 on even sizes) gives the same output size as pad 1;
        # k=1 needs no padding.
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
    """models/losses/contrastive.ts bcEclLoss, op for op (masks from one-hot matmuls, shifted exponentials)."""
    n = z.shape[0]
    shift = 1.0 / tau
    s = (z @ z.t()) / tau
    sp = (z @ p.t()) / tau
    not_self = 1.0 - torch.eye(n, dtype=z.dtype, device=z.device)
    same = (y @ y.t()) * not_self
    e = torch.exp(s - shift) * not_self
    sum_exp = e @ y
    count = y.sum(0, keepdim=True) - y
    proto_exp = torch.exp(sp - shift)
    pos_sim_sum = (same * s).sum(1)
    pos_count = same.sum(1)
    pos_proto = (y * sp).sum(1)
    has = torch.clamp(count, max=1.0)
    mean_exp = sum_exp / torch.clamp(count, min=1.0)
    mass = proto_exp + has * 0.5 * (mean_exp - proto_exp)
    has_pos = torch.clamp(pos_count, max=1.0)
    mean_pos = pos_sim_sum / torch.clamp(pos_count, min=1.0)
    pos = pos_proto + has_pos * 0.5 * (mean_pos - pos_proto)
    log_d = torch.log(mass.sum(1)) + shift
    return (log_d - pos).mean()


def cc_gram_loss(F, w, p):
    c = w.shape[0]
    wn = l2n(F, w)
    diff = wn @ wn.t() - p @ p.t()
    return (diff * diff).sum() / (c * c)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn28")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--loss", default="la-ce", choices=["la-ce", "ecl"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
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
    a = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    if a.device != "cpu" and not torch.cuda.is_available():
        raise SystemExit(f"--device {a.device}: torch.cuda.is_available() is False")
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    counts = [float(c) for c in a.class_counts.split(",") if c.strip()] or [5000 * 0.01 ** (c / 9) for c in range(10)]
    C = len(counts)
    net, (H, W, Ch), d, k = build(torch, nn, F, a.model, C)
    net.to(dev).train()
    log_prior = torch.log(torch.tensor([max(c, 1.0) / sum(counts) for c in counts])).to(dev)

    decay = [p for n, p in net.named_parameters() if n.endswith("weight") and p.dim() > 1]
    no_decay = [p for n, p in net.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=a.lr, momentum=a.momentum,
    )

    B = a.batch
    views = 3 if a.loss == "ecl" else 1
    g = torch.Generator().manual_seed(12345)
    pixels = torch.randint(0, 256, (views * B, Ch, H, W), dtype=torch.uint8, generator=g).to(dev)
    labels = torch.arange(B) % C
    y1 = F.one_hot(labels, C).float().to(dev)
    y2 = F.one_hot(torch.cat([labels, labels]), C).float().to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        x = pixels.float()
        h = net.features(x)
        logits = net.classifier(h)
        if views == 3:
            logits = logits[:B]
        lc = lc_loss(torch, F, logits, y1, log_prior, a.la_tau)
        if views == 1:
            total = lc
        else:
            z = l2n(F, net.proj(h[B:]))
            w = net.classifier.weight  # [C, d]
            p = l2n(F, net.proto_map(w))
            bc = bc_ecl_loss(torch, z, y2, p, a.temperature)
            cc = cc_gram_loss(F, w, p)
            total = lc + a.lambda_bc * bc + a.lambda_cc * cc
        total.backward()
        opt.step()
        return total.item()

    step_ms, cpu_ms, losses = [], [], []
    for i in range(a.warmup + a.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        lv = step()
        dt = (time.perf_counter() - t0) * 1000
        dc = (time.process_time() - c0) * 1000
        losses.append(lv)
        if i >= a.warmup:
            step_ms.append(dt)
            cpu_ms.append(dc)
    print(json.dumps({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "device": a.device + (f" ({torch.cuda.get_device_name(0)})" if a.device != "cpu" else ""),
        "model": a.model, "batch": B, "loss": a.loss, "views": views,
        "params": sum(p.numel() for p in net.parameters()),
        "warmup": a.warmup,
        "stepMs": step_ms, "cpuMs": cpu_ms, "losses": losses,
    }))


if __name__ == "__main__":
    main()
