"""Command line: python -m dlcore.bench WHAT [--threads N] [--quick] [--gpu | --gpu-only].

WHAT: gemm, peak, optim, ops (kernels); conv, pool, bn, lstm, gru (layer kernels, forward and
backward); train-mlp, train-cnn, train-charlm (whole training steps); allreduce, ddp-scaling
(data-parallel: run them under mpirun, e.g. mpirun -n 2 python -m dlcore.bench allreduce);
import (`import dlcore` time).
"""
from __future__ import annotations

import argparse
import os
import sys


WHAT = ["gemm", "peak", "optim", "ops", "conv", "pool", "bn", "lstm", "gru",
        "train-mlp", "train-cnn", "train-charlm", "allreduce", "ddp-scaling", "import"]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m dlcore.bench", description=__doc__)
    p.add_argument("what", choices=WHAT, help="which benchmark")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for dlcore, NumPy and PyTorch")
    p.add_argument("--quick", action="store_true", help="fewer shapes and repetitions (smoke test)")
    p.add_argument("--gpu", action="store_true", help="also run the CUDA shapes (needs a GPU)")
    p.add_argument("--gpu-only", action="store_true", help="run the CUDA shapes alone (no CPU rows)")
    p.add_argument("--profile", action="store_true", help="train-mlp: also print dlcore's per-step time split")
    args = p.parse_args(argv)
    if args.gpu_only:
        args.gpu = "only"

    # BLAS libraries read their thread count when loaded: re-exec once with it in the env.
    if args.threads and os.environ.get("DLCORE_BENCH_THREADS") != str(args.threads):
        env = dict(os.environ, DLCORE_BENCH_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
                   OPENBLAS_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable, "-m", "dlcore.bench"] + (argv or sys.argv[1:]), env)

    if args.what == "import":  # before anything heavy is imported into this process
        from . import import_time
        import_time.run(quick=args.quick)
        return
    from . import gemm
    if args.what == "gemm":
        gemm.run(threads=args.threads, quick=args.quick, gpu=args.gpu)
    elif args.what == "peak":
        gemm.print_peak(args.threads)
    elif args.what == "optim":
        from . import optim
        optim.run(threads=args.threads, quick=args.quick, gpu=args.gpu)
    elif args.what == "ops":
        from . import ops
        ops.run(threads=args.threads, quick=args.quick)
    elif args.what == "train-mlp":
        from . import train_mlp
        train_mlp.run(threads=args.threads, quick=args.quick, profile=args.profile)
    elif args.what in ("conv", "pool", "bn"):
        import importlib
        importlib.import_module(f"{__package__}.{args.what}").run(threads=args.threads, quick=args.quick,
                                                                    gpu=args.gpu)
    elif args.what in ("lstm", "gru"):
        from . import rnn
        rnn.run(threads=args.threads, quick=args.quick, gpu=args.gpu, which=args.what)
    elif args.what == "train-cnn":
        from . import train_models
        train_models.run_cnn(threads=args.threads, quick=args.quick)
    elif args.what == "allreduce":
        from . import distributed
        distributed.run_allreduce(quick=args.quick, gpu=args.gpu)
    elif args.what == "ddp-scaling":
        from . import distributed
        distributed.run_scaling(quick=args.quick)
    elif args.what == "train-charlm":
        from . import train_models
        train_models.run_charlm(threads=args.threads, quick=args.quick)


if __name__ == "__main__":
    main()
