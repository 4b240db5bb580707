"""dlcore.optim: optimizers whose step is one fused C++/CUDA kernel per parameter, and LR schedules.

    opt = dlcore.optim.Adam(model.parameters(), lr=1e-3)
    sched = dlcore.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    sched.step()

Each optimizer follows the update rule torch.optim documents (same defaults, same state names,
state_dict of the same structure), so on the same gradients the parameters match torch.optim to
float32 rounding.
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW, Adamax, NAdam
from .adaptive import Adagrad, RMSprop, Adadelta
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "Adagrad", "RMSprop", "Adadelta",
           "lr_scheduler"]
