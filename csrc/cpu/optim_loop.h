// optim_loop.h — the float32 optimizer loop that optim_avx2.cpp and optim_avx512.cpp compile,
// each for its instruction set, and the list of the functors it is instantiated for.
//
// The loop is plain: the update functor (core/optim_math.h) inlined into a loop GCC vectorizes.
// A software prefetch of every stream (one line per stream per 64 bytes of progress, 1-4 KB
// ahead, into L1 or L2) was tried to overlap Adam's divider-bound arithmetic with its memory
// traffic: on a Zen 4 server (2-vCPU guest, 2026-12-03) it made the step slower or no faster; the
// hardware prefetchers already follow these 3-5 sequential streams.
#pragma once
#include <cstdint>

#include "../core/optim_math.h"

namespace dlcore::cpu::optim_loop {

template <typename Update>
inline void run(const Update& update, int64_t begin, int64_t end) {
  const Update u = update;   // local copy: pointers and scalars stay in registers
#pragma GCC ivdep
  for (int64_t i = begin; i < end; ++i) u(i);
}

}  // namespace dlcore::cpu::optim_loop

// Every float32 instance of every optimizer (the template options: weight decay, amsgrad,
// momentum, centered): DLCORE_OPTIM_FLOAT32_FUNCTORS(M) expands M(functor type) for each.
#define DLCORE_OPTIM_FLOAT32_FUNCTORS(M)                                                       \
  M(optim::Sgd<float, false, false>) M(optim::Sgd<float, false, true>)                         \
  M(optim::Sgd<float, true, false>) M(optim::Sgd<float, true, true>)                           \
  M(optim::Adam<float, false, false>) M(optim::Adam<float, false, true>)                       \
  M(optim::Adam<float, true, false>) M(optim::Adam<float, true, true>)                         \
  M(optim::Nadam<float, false>) M(optim::Nadam<float, true>)                                   \
  M(optim::Adagrad<float, false>) M(optim::Adagrad<float, true>)                               \
  M(optim::Adadelta<float, false>) M(optim::Adadelta<float, true>)                             \
  M(optim::Adamax<float, false>) M(optim::Adamax<float, true>)                                 \
  M(optim::Rmsprop<float, false, false, false>) M(optim::Rmsprop<float, false, false, true>)   \
  M(optim::Rmsprop<float, false, true, false>) M(optim::Rmsprop<float, false, true, true>)     \
  M(optim::Rmsprop<float, true, false, false>) M(optim::Rmsprop<float, true, false, true>)     \
  M(optim::Rmsprop<float, true, true, false>) M(optim::Rmsprop<float, true, true, true>)
