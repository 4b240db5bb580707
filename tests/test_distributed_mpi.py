# Multi-rank tests of dlcore.distributed: each launches `mpiexec -n 2` on a script in
# tests/distributed/ (which checks its own results against NumPy / a single-process run and
# raises, aborting the job, on any mismatch) and checks the exit status and output here.
# They skip, saying why, where mpi4py or an mpiexec launcher is missing (pip install "dlcore[mpi]").
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import dlcore

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "distributed")


def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")   # a venv's own launcher first
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
if importlib.util.find_spec("mpi4py") is None or MPIEXEC is None:
    pytest.skip('multi-rank tests need mpi4py and an mpiexec launcher: pip install "dlcore[mpi]"',
                allow_module_level=True)


def _open_mpi():
    try:
        out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Open MPI" in out or "OpenRTE" in out or "PRRTE" in out or "prte" in out


OPEN_MPI = _open_mpi()


def run_mpi(script, *args, n=2, timeout=120):
    """(exit status, stdout + stderr, seconds) of `mpiexec -n N python tests/distributed/SCRIPT ARGS`."""
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(dlcore.__file__)),
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [MPIEXEC]
    if OPEN_MPI:    # root in containers and CI; more ranks than cores on a small runner
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        cmd += ["--oversubscribe"]
    cmd += ["-n", str(n), sys.executable, os.path.join(SCRIPTS, script), *args]   # (an absolute path stays)
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


def _ok(rc, out, what):
    assert rc == 0, f"{what}: mpiexec exited {rc}\n{out[-4000:]}"


def test_collectives_match_numpy_on_two_ranks():
    rc, out, _ = run_mpi("collectives.py")
    _ok(rc, out, "collectives")
    assert out.count("collectives ok") == 2, out


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_ddp_two_ranks_half_batches_equal_one_process_full_batch(model):
    rc, out, _ = run_mpi("ddp_equivalence.py", model)
    _ok(rc, out, f"ddp {model}")
    assert out.count(f"ddp {model} ok") == 2, out


def test_ddp_find_unused_parameters_when_ranks_use_different_parameters():
    rc, out, _ = run_mpi("ddp_unused.py")
    _ok(rc, out, "ddp unused parameters")
    assert out.count("ddp unused ok") == 2, out


def test_fit_under_ddp_logs_reduced_metrics_and_only_rank0_prints_and_saves(tmp_path):
    rc, out, _ = run_mpi("fit_ddp.py", str(tmp_path))
    _ok(rc, out, "fit under ddp")
    # rank 0 writes one final line per epoch (the running '\r' redraws share it on a terminal)
    finals = [line for line in out.replace("\r", "\n").splitlines() if line.startswith("epoch") and "val_loss" in line]
    assert len(finals) == 3, out
    hist = {}
    for line in out.splitlines():
        if line.startswith("HISTORY "):
            _, r, js = line.split(" ", 2)
            hist[int(r)] = json.loads(js)
    assert sorted(hist) == [0, 1] and hist[0] == hist[1], out
    assert sorted(os.listdir(tmp_path)) == ["model-1.dlc", "model-2.dlc", "model-3.dlc"]
    state = dlcore.load(str(tmp_path / "model-3.dlc"))
    assert all(k.startswith("module.") for k in state), list(state)


def test_ddp_digits_example_on_two_ranks():
    rc, out, _ = run_mpi(os.path.join(os.path.dirname(HERE), "examples", "ddp_digits.py"), "--fast")
    _ok(rc, out, "examples/ddp_digits.py")
    acc = [float(line.split()[2].rstrip("%")) for line in out.splitlines() if line.startswith("test accuracy")]
    assert len(acc) == 1 and acc[0] >= 95.0, out      # printed by rank 0 only


def test_a_rank_that_raises_stops_the_job_with_a_nonzero_exit():
    rc, out, seconds = run_mpi("failure.py", "raise", timeout=60)
    assert rc != 0, out
    assert "ValueError: rank 1 fails on purpose" in out, out
    assert "unreachable" not in out
    assert seconds < 30, f"took {seconds:.1f} s"


def test_a_collective_times_out_with_a_clear_error_when_a_partner_stays_away():
    rc, out, seconds = run_mpi("failure.py", "timeout", timeout=60)
    assert rc != 0, out
    assert "DistTimeoutError" in out and "rank 0 of 2 waited" in out, out
    assert "unreachable" not in out
    assert seconds < 30, f"took {seconds:.1f} s"


# ---- the NCCL path: one rank per GPU (world size 1 with one GPU) ----------------------------
def _nccl_reason():
    if not dlcore.cuda.is_available():
        return "no CUDA device (dlcore.cuda.is_available() is False)"
    from dlcore import distributed as dist
    if not dist.is_nccl_available():
        return "libnccl.so.2 not found (pip install nvidia-nccl-cu13)"
    return None


def _gpu_ranks():
    return max(1, min(2, dlcore.cuda.device_count()))


@pytest.mark.cuda
def test_nccl_collectives_match_numpy():
    reason = _nccl_reason()
    if reason:
        pytest.skip(reason)
    n = _gpu_ranks()
    rc, out, _ = run_mpi("collectives.py", "--device", "cuda", n=n)
    _ok(rc, out, "nccl collectives")
    assert out.count("collectives ok") == n, out


@pytest.mark.cuda
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_nccl_ddp_equals_one_process(model):
    reason = _nccl_reason()
    if reason:
        pytest.skip(reason)
    n = _gpu_ranks()
    rc, out, _ = run_mpi("ddp_equivalence.py", model, "--device", "cuda", n=n)
    _ok(rc, out, f"nccl ddp {model}")
    assert out.count(f"ddp {model} ok") == n, out
