// optim_avx2.cpp — the float32 optimizer steps' loop compiled for AVX2 (8 lanes).
//
// The per-element update is core/optim_math.h, the same functor optim.cpp runs; only the
// instruction set differs. An optimizer step looks memory-bound, but at 2 threads on a
// current server core the SSE2 loop is not: Adam spends two divisions and a square root per
// element, and 4-lane divps/sqrtps issue at a few cycles each, so the 4-lane loop fell to
// about half the speed of PyTorch's fused kernel. 8 lanes halve that cost.
//
// This file is compiled with -mavx2 and -ffp-contract=off (CMakeLists.txt): no FMA, so every
// multiply and add rounds separately, exactly as in the baseline build and in torch.optim, and
// the AVX2 and SSE2 paths give bit-identical results (tests/test_optim.py checks that).
// `flatten` inlines the functor into the loop, so no AVX2 copy of a shared inline function is
// emitted here for the linker to pick in place of the baseline one.
#include "../core/optim_math.h"
#include "optim_internal.h"

namespace dlcore::cpu::optim_avx2 {

template <typename Update>
__attribute__((flatten)) void run_range(const Update& update, int64_t begin, int64_t end) {
  const Update u = update;   // local copy: pointers and scalars stay in registers
#pragma GCC ivdep
  for (int64_t i = begin; i < end; ++i) u(i);
}

// Every float32 instance of every optimizer (the template options: weight decay, amsgrad,
// momentum, centered).
#define DLCORE_RUN(...) \
  template void run_range<__VA_ARGS__>(const __VA_ARGS__&, int64_t, int64_t);
#define DLCORE_RUN_B(M) M(false) M(true)
#define DLCORE_SGD(wd) DLCORE_RUN(optim::Sgd<float, wd, false>) DLCORE_RUN(optim::Sgd<float, wd, true>)
#define DLCORE_ADAM(wd) DLCORE_RUN(optim::Adam<float, wd, false>) DLCORE_RUN(optim::Adam<float, wd, true>)
#define DLCORE_ONE(wd)                                              \
  DLCORE_RUN(optim::Nadam<float, wd>) DLCORE_RUN(optim::Adagrad<float, wd>) \
  DLCORE_RUN(optim::Adadelta<float, wd>) DLCORE_RUN(optim::Adamax<float, wd>)
#define DLCORE_RMS(wd)                                                                  \
  DLCORE_RUN(optim::Rmsprop<float, wd, false, false>) DLCORE_RUN(optim::Rmsprop<float, wd, false, true>) \
  DLCORE_RUN(optim::Rmsprop<float, wd, true, false>) DLCORE_RUN(optim::Rmsprop<float, wd, true, true>)
DLCORE_RUN_B(DLCORE_SGD)
DLCORE_RUN_B(DLCORE_ADAM)
DLCORE_RUN_B(DLCORE_ONE)
DLCORE_RUN_B(DLCORE_RMS)
#undef DLCORE_RMS
#undef DLCORE_ONE
#undef DLCORE_ADAM
#undef DLCORE_SGD
#undef DLCORE_RUN_B
#undef DLCORE_RUN

}  // namespace dlcore::cpu::optim_avx2
