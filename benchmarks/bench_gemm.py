"""GEMM: dlcore vs numpy.matmul (and torch.mm) — a thin wrapper over `python -m dlcore.bench gemm`.

    python benchmarks/bench_gemm.py [--threads 2] [--quick] [--gpu]
"""
import sys

from dlcore.bench.__main__ import main

if __name__ == "__main__":
    main(["gemm"] + sys.argv[1:])
