"""Runs every CPU benchmark in one process-group session and prints the tables that go into
benchmarks/RESULTS.md:  python benchmarks/run_all.py [--threads 2] [--gpu]

Each benchmark times dlcore against NumPy (and PyTorch when importable) in the same run.
"""
import argparse
import subprocess
import sys

BENCHES = ["peak", "gemm", "optim", "ops", "train-mlp"]

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gpu", action="store_true")
    p.add_argument("only", nargs="*", help=f"subset of {BENCHES}")
    a = p.parse_args()
    for name in a.only or BENCHES:
        print(f"\n## python -m dlcore.bench {name} --threads {a.threads}\n", flush=True)
        cmd = [sys.executable, "-m", "dlcore.bench", name, "--threads", str(a.threads)]
        if a.gpu and name == "gemm":
            cmd.append("--gpu")
        subprocess.run(cmd, check=True)
