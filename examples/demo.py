"""The main job for now: what this dlcore was built with, then its GEMM against NumPy.

    python examples/demo.py
"""
import dlcore
from dlcore.bench import gemm

if __name__ == "__main__":
    print("dlcore build:", dlcore.build_info())
    gemm.run(quick=False)
