"""dlcore.utils — PyTorch's spellings of utilities that live elsewhere in dlcore.

``dlcore.utils.data`` is ``torch.utils.data``'s name for dlcore.data's Dataset / DataLoader.
"""
from . import data

__all__ = ["data"]
