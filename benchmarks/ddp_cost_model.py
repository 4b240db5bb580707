"""Cost model of data-parallel training: predicted scaling efficiency of DDP at 8-512 GPUs.

    python benchmarks/ddp_cost_model.py

Per step every GPU computes forward + backward on its own batch (t_compute, independent of the
number of GPUs p: weak scaling), then the gradients (S bytes) are all-reduced in buckets. A
ring all-reduce of b bytes over p ranks moves 2(p-1)/p * b through each rank's link and takes
2(p-1) dependent steps, so

    T_bucket(b) = 2(p-1) * alpha  +  2(p-1)/p * b / B          (alpha: per-step latency, B: busbw)

and the gradients cost T_comm = sum over buckets. Three schedules:

  per-tensor  one all-reduce per parameter tensor, after backward (no bucketing, no overlap);
  one bucket  everything in one all-reduce after backward (no overlap);
  DDP         25 MB buckets launched during backward: backward (2/3 of the compute) hides
              communication, except what does not fit in it and the last bucket, which can only
              start when backward ends:  exposed = max(T_comm - t_backward * (1 - 1/n), T_last).

efficiency = t_compute / (t_compute + exposed communication). The latency term of the ring
grows with p; NCCL switches to tree (2 log2 p steps) or NVLS algorithms at scale, so the tree
latency is shown beside it for the DDP schedule. Every assumption is a named constant below.
"""
from __future__ import annotations

import math

MB = 1e6
BUCKET = 25 * MB

# Links: achievable all-reduce bus bandwidth per GPU (bytes/s) and per-step latency (s).
# NVLink: H100 SXM NVLink 4 (900 GB/s bidirectional), NCCL reaches ~400 GB/s busbw in an
# NVLink/NVSwitch domain. Networks: one NIC per GPU (DGX-style), ~88% of line rate reached.
LINKS = {
    "NVLink": (400e9, 3e-6),
    "400 Gb/s": (400e9 / 8 * 0.88, 8e-6),
    "100 Gb/s": (100e9 / 8 * 0.88, 10e-6),
}

# Models: gradient bytes (float32), parameter tensors, compute time per step per GPU.
MODELS = {
    # ResNet-50: 25.6M parameters (161 tensors), 4.1 GMAC/image forward at 224x224 -> training
    # ~3x forward = 24.6 GFLOP/image. Assumed 2,500 images/s per GPU (H100-class, mixed
    # precision compute, float32 gradients all-reduced), batch 256 per GPU -> 102 ms per step.
    "ResNet-50": dict(bytes=25.6e6 * 4, tensors=161, t_compute=256 / 2500),
    # char-LM: Embedding 64x64, LSTM 64->128, Linear 128->64 = 111,680 parameters (7 tensors),
    # batch 32 x T=50 tokens = 1.0 GFLOP per step: a GPU runs it latency-bound (50 sequential
    # LSTM steps forward and backward, ~10 us per kernel launch): assumed 5 ms per step.
    "char-LM": dict(bytes=111_680 * 4, tensors=7, t_compute=5e-3),
}


def ring(b, p, bw, alpha, steps=None):
    steps = 2 * (p - 1) if steps is None else steps
    return steps * alpha + 2 * (p - 1) / p * b / bw


def buckets(total, cap=BUCKET):
    n = max(1, math.ceil(total / cap))
    return [cap] * (n - 1) + [total - cap * (n - 1)]


def efficiency(model, p, link, schedule, tree=False):
    m = MODELS[model]
    bw, alpha = LINKS[link]
    steps = 2 * math.ceil(math.log2(p)) if tree else None
    t_c, t_b = m["t_compute"], m["t_compute"] * 2 / 3
    if schedule == "per-tensor":
        exposed = sum(ring(m["bytes"] / m["tensors"], p, bw, alpha, steps) for _ in range(m["tensors"]))
    elif schedule == "one bucket":
        exposed = ring(m["bytes"], p, bw, alpha, steps)
    else:
        parts = buckets(m["bytes"])
        total = sum(ring(b, p, bw, alpha, steps) for b in parts)
        exposed = max(total - t_b * (1 - 1 / len(parts)), ring(parts[-1], p, bw, alpha, steps))
    return t_c / (t_c + exposed), exposed


def main():
    for model in MODELS:
        m = MODELS[model]
        print(f"\n{model}: {m['bytes'] / MB:.2f} MB of gradients in {len(buckets(m['bytes']))} bucket(s), "
              f"compute {m['t_compute'] * 1e3:.1f} ms per step")
        print(f"{'GPUs':>5} {'link':>9} | {'per-tensor':>10} {'one bucket':>10} {'DDP ring':>9} "
              f"{'DDP tree':>9} | {'exposed comm (DDP ring)':>23}")
        for p in (8, 64, 512):
            for link in LINKS:
                cells = [efficiency(model, p, link, s)[0] for s in ("per-tensor", "one bucket", "ddp")]
                tree, _ = efficiency(model, p, link, "ddp", tree=True)
                _, exposed = efficiency(model, p, link, "ddp")
                print(f"{p:>5} {link:>9} | " + " ".join(f"{100 * c:>9.1f}%" for c in cells) +
                      f" {100 * tree:>8.1f}% | {exposed * 1e3:>20.2f} ms")


if __name__ == "__main__":
    main()
