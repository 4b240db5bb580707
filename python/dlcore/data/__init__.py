"""dlcore.data — datasets, loaders, transforms, bundled data and file-format readers.

    from dlcore.data import TensorDataset, DataLoader, random_split, Standardize, load_digits
    X, y = load_digits()                                  # (1797, 8, 8) float32, (1797,) int64
    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], seed=0)
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True):
        ...

``dlcore.utils.data`` offers the same objects under torch.utils.data's names.
"""
from .dataset import (ConcatDataset, Dataset, KFold, Subset, TensorDataset, kfold_indices, permutation,
                      random_split)
from .loader import DataLoader, default_collate
from .sampler import DistributedSampler, Sampler
from .workers import get_worker_info
from .transforms import (Compose, GaussianNoise, Lambda, RandomCrop, RandomHorizontalFlip, RandomShift, Standardize,
                         ToTensor, one_hot)
from .datasets import (load_digits, load_tinyshakespeare, make_moons, make_sin, make_spirals, make_xor,
                       train_test_split)
from .shapes import SHAPE_CLASSES, make_shapes
from .readers import (CIFAR10_CLASSES, load_cifar10, load_mnist, read_cifar10_batch, read_idx,
                      write_idx)

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "KFold", "kfold_indices",
    "permutation", "DataLoader", "default_collate", "Sampler", "DistributedSampler", "get_worker_info", "Standardize", "Compose", "Lambda", "ToTensor",
    "one_hot", "RandomCrop", "RandomShift", "RandomHorizontalFlip", "GaussianNoise", "load_digits", "load_tinyshakespeare", "make_sin", "make_xor", "make_moons",
    "make_spirals", "train_test_split", "read_idx", "write_idx", "load_mnist", "read_cifar10_batch",
    "load_cifar10", "CIFAR10_CLASSES", "make_shapes", "SHAPE_CLASSES",
]
