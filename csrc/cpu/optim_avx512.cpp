// optim_avx512.cpp — the float32 optimizer steps' loop compiled for AVX-512 (16 lanes).
//
// Same functors (core/optim_math.h) and loop (optim_loop.h) as optim_avx2.cpp. Why a third
// copy: the divider bounds Adam's compute (see optim_loop.h), and on Zen 4 a 16-lane division
// costs ~1.6x an 8-lane one, not 2x (measured: 1.87 vs 1.18 ns), so Adam's two divisions per
// element get cheaper; the square root costs the same per element either way.
//
// Compiled with -ffp-contract=off like the AVX2 file (CMakeLists.txt): every multiply and add
// rounds separately, and division and square root are IEEE-exact at any width, so all three
// loops give the same bits (tests/test_optim.py). 512-bit vectors are asked for explicitly:
// GCC otherwise prefers 256-bit ones even where AVX-512 is enabled.
#include "optim_internal.h"
#include "optim_loop.h"

namespace dlcore::cpu::optim_avx512 {

template <typename Update>
__attribute__((flatten)) void run_range(const Update& update, int64_t begin, int64_t end) {
  optim_loop::run(update, begin, end);
}

#define DLCORE_RUN(...) template void run_range<__VA_ARGS__>(const __VA_ARGS__&, int64_t, int64_t);
DLCORE_OPTIM_FLOAT32_FUNCTORS(DLCORE_RUN)
#undef DLCORE_RUN

}  // namespace dlcore::cpu::optim_avx512
