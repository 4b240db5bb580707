#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the CPU kernels, and the test suite
# run against it (any out-of-bounds access, use-after-free or UB in a kernel stops the run).
#
#   bash tools/sanitize.sh                                # the whole CPU suite
#   bash tools/sanitize.sh tests/test_conv.py -k direct  # a subset (pytest arguments)
#   PYTHON=.venv/bin/python bash tools/sanitize.sh ...   # another interpreter (needs pybind11,
#                                                         # numpy, pytest, hypothesis, cmake, ninja)
#
# The build lives in build/asan; the package is assembled in build/asan/pkg (the Python sources
# plus the instrumented _C) so the checkout's own build is untouched. Python itself is not
# instrumented, so the sanitizer runtimes are preloaded; leak checking is off because the
# interpreter keeps memory alive at exit by design; a failed huge allocation returns null as
# malloc does (the MemoryError tests need it). Kernels build at their usual -O3 (the code that
# ships is the code checked), unstripped, with line tables only (-g1: enough for the reports' stack traces,
# a fraction of full debug info's compile time). The host block cache turns itself off
# under ASan so every free reaches the sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
b=build/asan
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DDLCORE_CUDA=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v "$py")" >/dev/null
cmake --build "$b" -j"$(nproc)"
rm -rf "$b/pkg" && mkdir -p "$b/pkg"
cp -r python/dlcore "$b/pkg/" && rm -f "$b/pkg/dlcore/"_C*.so && cp "$b"/_C*.so "$b/pkg/dlcore/"
export LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
PYTHONPATH="$b/pkg" "$py" -m pytest -q -p no:cacheprovider "${@:-tests}"
