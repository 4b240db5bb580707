"""dlcore.backends: switches that pick kernel paths, named as PyTorch names them."""
from types import SimpleNamespace

# TF32 tensor-core GEMM on CUDA: off by default (full float32 accuracy), as in PyTorch.
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False))
