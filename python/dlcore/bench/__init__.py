"""Microbenchmarks of dlcore kernels against NumPy (and PyTorch when it is installed).

    python -m dlcore.bench gemm [--threads N] [--quick]
    python -m dlcore.bench peak

Each row reports dlcore's rate, the reference's rate in the same run, their ratio, and the
fraction of this machine's measured FMA peak (csrc/cpu/peak.cpp).
"""
from .timing import measure, median_time  # noqa: F401
