#!/usr/bin/env bash
# gpu_check.sh — everything to run on a machine with a GPU, in one command:
#
#   1. build dlcore with CUDA for the machine's GPU (sm_90a on Hopper) into the machine's Python
#      (pip --no-build-isolation: such machines often have no network), print build_info and the
#      TF32 GEMM path the device takes (wgmma after its self-check, or mma.sync);
#      then a stress run of the C++ -> Python error path (tests/cuda_standalone/exception_repro.py:
#      bad input must raise, never crash), with a native backtrace if it crashes;
#   2. the whole pytest suite on the CUDA build (every CPU test, and every CUDA case: CPU/CUDA
#      agreement of each kernel family), in parallel when pytest-xdist is installed;
#   3. the standalone checker tests/cuda_standalone/test_kernels.cu (core kernels against host
#      float64 references), built while the tests run;
#   4. the GPU benchmarks against torch in the same process: GEMM (TF32 off and on), LSTM and GRU
#      (T=50, batch 256, 512 -> 512; floor fwd+bwd >= 0.8x cuDNN), conv, pooling, batch norm,
#      optimizers (python -m dlcore.bench WHAT --gpu-only);
#   5. benchmarks/gpu_profile.py: the same layers' GPU time kernel by kernel.
#
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh            # logs under $LOGS (default /tmp/dlcore-gpu)
#   STANDALONE=0 bash benchmarks/gpu_check.sh   # without the standalone checker (step 3)
#   PYTEST_LIMIT=120 ...                          # the test suite's time limit, seconds (300)
# Every stage has a time limit, so one hang cannot eat the rest. The last lines printed are a
# summary; the full logs stay under $LOGS.
set -uo pipefail
LOGS=${LOGS:-/tmp/dlcore-gpu}
mkdir -p "$LOGS"
PY=${PYTHON:-python3}
JOBS=$(nproc)
export CMAKE_BUILD_PARALLEL_LEVEL=$JOBS PYTHONUNBUFFERED=1
T0=$(date +%s)
summary=()
note() { summary+=("[$(( $(date +%s) - T0 ))s] $1"); echo "== [$(( $(date +%s) - T0 ))s] $1"; }

nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1 && note "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader 2>/dev/null | head -1)"

# 1. Build.
if timeout 420 $PY -m pip install --no-build-isolation --no-deps -v . > "$LOGS/build.log" 2>&1; then
  note "build: ok ($(grep -o 'architectures: [^)]*' "$LOGS/build.log" | head -1))"
else
  note "build: FAILED (tail of build.log below)"
  tail -60 "$LOGS/build.log"
  printf '%s\n' "${summary[@]}"
  exit 1
fi
# Run from a folder without the source tree, so the installed package is what is imported.
( cd /tmp && timeout 60 $PY - ) > "$LOGS/build_info.txt" 2>&1 <<'EOF'
import dlcore
from dlcore import _C
print(dlcore.__file__)
print(dlcore.build_info())
a = dlcore.randn(300, 200, device="cuda"); b = dlcore.randn(200, 100, device="cuda")
dlcore.backends.cuda.matmul.allow_tf32 = True
(a @ b).cpu()                      # the first TF32 GEMM runs the wgmma self-check
print("tf32 path:", _C.cuda_gemm_tf32_path(0), "compute capability:", _C.cuda_compute_capability(0))
EOF
note "$(tail -1 "$LOGS/build_info.txt")"

# 1b. Bad input must raise, never crash: C++ errors thrown thousands of times, plain, after CUDA
#     work, after CUDA ops with device-side checks, with torch loaded (each phase in its own
#     process). If one crashes: the C++ runtime libraries in play, a native backtrace under
#     cuda-gdb (it debugs host code too; the machine may have no gdb), and the run again under
#     glibc's malloc checker (a heap corruption then aborts with a message at its first sign).
( cd /tmp && timeout 300 $PY -X faulthandler "$OLDPWD/tests/cuda_standalone/exception_repro.py" all 3000 ) \
  > "$LOGS/exception_repro.txt" 2>&1
rc=$?
note "exception stress (exception_repro.py): exit $rc; $(grep -c CRASHED "$LOGS/exception_repro.txt") phases crashed"
if [ $rc != 0 ]; then
  phase=$(grep -m1 CRASHED "$LOGS/exception_repro.txt" | awk '{print $1}')
  so=$($PY -c "import dlcore._C as c; print(c.__file__)" 2>/dev/null)
  { echo "phase: $phase"; echo "module: $so"; ldd "$so"; ldconfig -p | grep -E 'libstdc\+\+|libgcc_s|libgomp'
    ls -la /opt/gcc/lib64 2>/dev/null | grep -E 'libstdc|libgcc_s' ; cat /etc/os-release 2>/dev/null | head -2
    readelf -d "$so" | grep -E 'NEEDED|RUNPATH|RPATH'; } > "$LOGS/exception_env.txt" 2>&1
  ( cd /tmp && timeout 150 cuda-gdb -q -batch -ex run -ex bt -ex "info threads" -ex "info sharedlibrary" \
      --args $PY "$OLDPWD/tests/cuda_standalone/exception_repro.py" "$phase" 20000 ) > "$LOGS/exception_gdb.txt" 2>&1
  note "exception backtrace (cuda-gdb, phase $phase): exit $?; $(grep -m1 -E '^#0' "$LOGS/exception_gdb.txt")"
  mdbg=$(ls /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 2>/dev/null)
  ( cd /tmp && LD_PRELOAD=$mdbg MALLOC_CHECK_=3 timeout 120 $PY -X faulthandler \
      "$OLDPWD/tests/cuda_standalone/exception_repro.py" "$phase" 20000 ) > "$LOGS/exception_malloc_check.txt" 2>&1
  note "exception stress under MALLOC_CHECK_=3 ($mdbg): exit $?; $(tail -1 "$LOGS/exception_malloc_check.txt")"
  # Which part of the build is to blame: the same compiler without CUDA, then the system's own
  # g++ (when it is another one) without CUDA -- each a CPU-only build into its own folder
  # (~30 s on 16 cores), stressed in the 'plain' phase.
  i=0
  for cxx in "$(command -v g++)" /usr/bin/g++; do
    i=$((i + 1))
    [ -x "$cxx" ] || continue
    [ $i = 2 ] && [ "$(readlink -f "$cxx")" = "$(readlink -f "$(command -v g++)")" ] && continue
    rm -rf /tmp/dlcore_alt$i
    CXX=$cxx DLCORE_CUDA=OFF timeout 240 $PY -m pip install --no-build-isolation --no-deps \
      --target /tmp/dlcore_alt$i . > "$LOGS/exception_alt${i}_build.log" 2>&1
    ( cd /tmp && PYTHONPATH=/tmp/dlcore_alt$i timeout 120 $PY -X faulthandler \
        "$OLDPWD/tests/cuda_standalone/exception_repro.py" plain 20000 ) > "$LOGS/exception_alt$i.txt" 2>&1
    note "exception stress, CPU-only build with $cxx ($($cxx -dumpfullversion 2>/dev/null)): exit $?"
  done
fi

# 3 (in the background). The standalone checker's build.
[ "${STANDALONE:-1}" = 1 ] && ( nvcc -std=c++17 -O2 --expt-relaxed-constexpr -gencode arch=compute_90a,code=sm_90a -Icsrc \
     tests/cuda_standalone/test_kernels.cu csrc/core/cuda_runtime.cu \
     csrc/cuda/{elementwise,reduce,random,gemm,gemm_wgmma}.cu -o /tmp/dlcore_test_kernels \
     > "$LOGS/standalone_build.log" 2>&1; echo $? > "$LOGS/standalone_build.rc" ) &
SA_PID=$!
[ "${STANDALONE:-1}" = 1 ] || SA_PID=""

# 2. The test suite against the installed CUDA build.
# Two OpenMP threads per xdist worker, JOBS/2 workers (as CI's 2 cores, times JOBS/2): unthrottled,
# each worker's pool takes every core and the time-boxed training tests starve.
XDIST=""
$PY -c "import xdist" 2>/dev/null && XDIST="-n $(( JOBS / 2 > 1 ? JOBS / 2 : 1 ))"
TIMEOUT_ARG=""
$PY -c "import pytest_timeout" 2>/dev/null && TIMEOUT_ARG="--timeout 120"
OMP_NUM_THREADS=2 timeout ${PYTEST_LIMIT:-300} $PY -m pytest -q -p no:cacheprovider $XDIST $TIMEOUT_ARG -rfE \
  --ignore=tests/test_distributed_mpi.py tests > "$LOGS/pytest.txt" 2>&1
note "pytest (whole suite, CUDA build): exit $?; $(tail -1 "$LOGS/pytest.txt")"

[ -n "$SA_PID" ] && wait $SA_PID
if [ -z "$SA_PID" ]; then
  note "standalone checker: not run (STANDALONE=0)"
elif [ "$(cat "$LOGS/standalone_build.rc" 2>/dev/null)" = 0 ]; then
  timeout 120 /tmp/dlcore_test_kernels > "$LOGS/standalone.txt" 2>&1
  note "standalone checker: exit $? (= failed checks); $(grep -c '^FAIL' "$LOGS/standalone.txt") FAIL lines"
  DLCORE_CUDA_WGMMA=0 timeout 120 /tmp/dlcore_test_kernels > "$LOGS/standalone_no_wgmma.txt" 2>&1
  note "standalone checker, DLCORE_CUDA_WGMMA=0: exit $?"
else
  note "standalone checker: BUILD FAILED (see standalone_build.log)"
fi

# 4. GPU benchmarks (the CUDA rows alone), each against torch in the same process.
for b in gemm lstm gru conv pool bn optim; do
  ( cd /tmp && timeout 120 $PY -m dlcore.bench $b --gpu-only --quick ) > "$LOGS/bench_gpu_$b.txt" 2>&1
  note "bench $b --gpu-only: exit $?"
done

# 5. Kernel-by-kernel GPU time of the LSTM/GRU, conv and TF32 GEMM workloads (torch's profiler
#    records dlcore's kernels too): which GEMM path ran, and where the rest of the time goes.
( cd /tmp && timeout 150 $PY "$OLDPWD/benchmarks/gpu_profile.py" ) > "$LOGS/gpu_profile.txt" 2>&1
note "gpu_profile.py: exit $?"

# Data-parallel collectives on the GPU (NCCL, world size 1 here) when mpi4py and an MPI
# launcher are present; skips otherwise. On the H200 machine (2026-12-04, NCCL 2.28.9 from
# torch's wheel, Open MPI 4.1.6) the NCCL scripts hung after NCCL printed its version, perhaps
# in its socket bootstrap on a firewalled interface; dlcore now bootstraps over loopback when all
# ranks share the machine (distributed/nccl.py). First one rank without a launcher, NCCL's own
# log on (which interface it took), and on a hang SIGABRT, which makes Python's faulthandler
# print where every thread stood (NCCL's set-up, the first collective, or a wait).
if $PY -c "import mpi4py" 2>/dev/null; then
  ( cd /tmp && NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET,ENV OMP_NUM_THREADS=1 timeout -s ABRT 60 \
      $PY -X faulthandler "$OLDPWD/tests/distributed/collectives.py" --device cuda ) > "$LOGS/nccl_single.txt" 2>&1
  note "NCCL collectives, one rank without mpiexec: exit $? ($(grep -c 'collectives ok' "$LOGS/nccl_single.txt") ok lines; log nccl_single.txt)"
fi
NCCL_DEBUG=WARN timeout 150 $PY -m pytest -q -x -p no:cacheprovider -rfEs tests/test_distributed_mpi.py \
  > "$LOGS/pytest_distributed.txt" 2>&1
note "pytest (distributed, MPI on CPU and NCCL): exit $?; $(tail -1 "$LOGS/pytest_distributed.txt")"

echo
echo "---- summary ----"
printf '%s\n' "${summary[@]}"
for b in gemm lstm gru conv pool bn optim; do
  echo "---- $b ----"; grep -v '^\s*$' "$LOGS/bench_gpu_$b.txt" | tail -14
done
echo "---- kernels (gpu_profile.py) ----"; grep -A6 '^== ' "$LOGS/gpu_profile.txt" | cut -c1-120
echo "---- failures ----"
grep -E '^FAIL|^FAILED|^ERROR' "$LOGS/standalone.txt" "$LOGS/pytest.txt" "$LOGS/pytest_distributed.txt" 2>/dev/null | head -40
