"""Runs the CPU benchmarks one after another and prints the tables that go into
benchmarks/RESULTS.md:  python benchmarks/run_all.py [--threads 2] [--gpu] [--avx2] [NAME ...]

Each benchmark times dlcore against NumPy (and PyTorch when importable) in the same run.
--avx2 runs every library on its AVX2 code: dlcore with DLCORE_CPU_PATH=avx2-fma, PyTorch with
ONEDNN_MAX_CPU_ISA=AVX2 and ATEN_CPU_CAPABILITY=avx2, NumPy's OpenBLAS with
OPENBLAS_CORETYPE=Haswell — the machine most users have (no AVX-512).
"""
import argparse
import os
import subprocess
import sys

BENCHES = ["peak", "gemm", "optim", "ops", "conv", "pool", "bn", "lstm", "gru",
           "train-mlp", "train-cnn", "train-charlm"]
GPU_BENCHES = {"gemm", "optim", "conv", "pool", "bn", "lstm", "gru"}
AVX2_ENV = {"DLCORE_CPU_PATH": "avx2-fma", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
            "OPENBLAS_CORETYPE": "Haswell"}

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--avx2", action="store_true", help="hold dlcore, PyTorch and NumPy to AVX2")
    p.add_argument("only", nargs="*", help=f"subset of {BENCHES}")
    a = p.parse_args()
    env = dict(os.environ)
    if a.avx2:
        env.update(AVX2_ENV)
    else:                       # native speeds: no preset OpenBLAS core type holding NumPy back
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    for name in a.only or BENCHES:
        print(f"\n## python -m dlcore.bench {name} --threads {a.threads}"
              + ("  (AVX2 path: " + " ".join(f"{k}={v}" for k, v in AVX2_ENV.items()) + ")" if a.avx2 else "")
              + "\n", flush=True)
        cmd = [sys.executable, "-m", "dlcore.bench", name, "--threads", str(a.threads)]
        if a.gpu and name in GPU_BENCHES:
            cmd.append("--gpu")
        subprocess.run(cmd, check=True, env=env)
