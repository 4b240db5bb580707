"""A user's training script, type-checked by tests/test_typing.py (mypy over dlcore's annotations).

It also runs: ``PYTHONPATH=python python tests/typing_user_script.py``.
"""
from __future__ import annotations

from typing import Iterator

import dlcore
import dlcore.distributed as dist
import dlcore.nn as nn
import dlcore.nn.functional as F
import dlcore.optim as optim
from dlcore import Tensor
from dlcore.data import DataLoader, DistributedSampler, TensorDataset
from dlcore.nn import Parameter
from dlcore.nn.parallel import DistributedDataParallel
from dlcore.optim.lr_scheduler import StepLR
from dlcore.train import EarlyStopping, History, evaluate, fit, predict


class SmallNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(8, 16, (3, 3), stride=1, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(16, num_classes)
        self.dropout = nn.Dropout(p=0.1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.features(x)))


def train_step(model: nn.Module, opt: optim.Optimizer, x: Tensor, y: Tensor) -> float:
    model.train()
    opt.zero_grad()
    logits: Tensor = model(x)
    loss = F.cross_entropy(logits, y) + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    return float(loss.item())


def data_parallel_epoch(model: nn.Module, data: TensorDataset, epoch: int) -> float:
    """Type-checked only (it needs mpirun): one epoch under DistributedDataParallel."""
    if not dist.is_initialized():
        dist.init_process_group("mpi", timeout=600.0)
    ddp = DistributedDataParallel(model, bucket_cap_mb=4)
    opt = optim.SGD(ddp.parameters(), lr=0.1)
    sampler = DistributedSampler(data, shuffle=True, seed=1)
    sampler.set_epoch(epoch)
    total = dlcore.zeros(1)
    for xb, yb in DataLoader(data, batch_size=4, sampler=sampler):
        opt.zero_grad()
        loss = F.cross_entropy(ddp(xb), yb)
        loss.backward()
        opt.step()
        total += loss.detach()
    work = dist.all_reduce(total, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()
    return float(total.item())


def main() -> None:
    dlcore.manual_seed(0)
    x = dlcore.randn(16, 1, 8, 8)
    y = dlcore.randint(0, 10, (16,))
    model = SmallNet().to("cpu")
    params: Iterator[Parameter] = model.parameters()
    opt = optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    for xb, yb in loader:
        train_step(model, opt, xb, yb)
    sched.step()
    model.eval()
    with dlcore.no_grad():
        out = model(x)
        values, indices = out.max(dim=1)
        acc = (indices == y).float().mean().item()
        probs = out.softmax(dim=1)
    total: Tensor = (x * 2.0 + 1.0 - x / 3.0).relu().sum(dim=(1, 2, 3)).mean()
    flat = x.reshape(16, -1).transpose(0, 1).contiguous()
    top = flat.topk(3, dim=0).values
    state = model.state_dict()
    model.load_state_dict(state)
    n_params = sum(p.numel() for p in model.parameters())
    batch: int = x.size(0) * x.shape[1]
    history: History = fit(model, nn.CrossEntropyLoss(), opt, loader, loader, epochs=1, metrics=["accuracy"],
                           callbacks=[EarlyStopping(patience=2)], progress=False)
    scores: dict[str, float] = evaluate(model, nn.CrossEntropyLoss(), loader)
    preds: Tensor = predict(model, x, batch_size=8)
    assert dlcore.is_tensor(preds) and history.epochs == 1 and "loss" in scores
    print(f"acc {acc:.3f}, probs {tuple(probs.shape)}, total {total.item():.3f}, top {tuple(top.shape)}, "
          f"values {tuple(values.shape)}, params {n_params}, batch {batch}, lr {sched.get_last_lr()[0]:g}")


if __name__ == "__main__":
    main()
