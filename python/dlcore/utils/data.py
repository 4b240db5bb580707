"""dlcore.utils.data — torch.utils.data's names for dlcore.data's datasets and loader.

    from dlcore.utils.data import Dataset, DataLoader, TensorDataset, random_split

These are the objects of ``dlcore.data`` itself, not copies.
"""
from ..data import (ConcatDataset, DataLoader, Dataset, DistributedSampler, Sampler, Subset, TensorDataset,
                    default_collate, get_worker_info, random_split)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader",
           "default_collate", "get_worker_info", "Sampler", "DistributedSampler"]
