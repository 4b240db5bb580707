// optim_avx2.cpp — the float32 optimizer steps' loop compiled for AVX2 (8 lanes).
//
// The per-element update is core/optim_math.h, the same functor optim.cpp runs; the loop is
// optim_loop.h; only the instruction set differs. An optimizer
// step looks memory-bound, but at 2 threads on a current server core the SSE2 loop is not:
// Adam spends two divisions and a square root per element, and 4-lane divps/sqrtps issue at a
// few cycles each, so the 4-lane loop fell to about half the speed of PyTorch's fused kernel.
// 8 lanes halve that cost.
//
// This file is compiled with -mavx2 and -ffp-contract=off (CMakeLists.txt): no FMA, so every
// multiply and add rounds separately, exactly as in the baseline build and in torch.optim, and
// the AVX2 and SSE2 paths give bit-identical results (tests/test_optim.py checks that).
// `flatten` inlines the functor into the loop, so no AVX2 copy of a shared inline function is
// emitted here for the linker to pick in place of the baseline one.
#include "optim_internal.h"
#include "optim_loop.h"

namespace dlcore::cpu::optim_avx2 {

template <typename Update>
__attribute__((flatten)) void run_range(const Update& update, int64_t begin, int64_t end) {
  optim_loop::run(update, begin, end);
}

#define DLCORE_RUN(...) template void run_range<__VA_ARGS__>(const __VA_ARGS__&, int64_t, int64_t);
DLCORE_OPTIM_FLOAT32_FUNCTORS(DLCORE_RUN)
#undef DLCORE_RUN

}  // namespace dlcore::cpu::optim_avx2
