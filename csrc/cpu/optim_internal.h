// optim_internal.h — what optim.cpp needs from optim_avx2.cpp and optim_avx512.cpp.
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

namespace dlcore::cpu::optim_avx2 {

// update(i) for i in [begin, end), compiled for AVX2. Instantiated (optim_avx2.cpp) for every
// float32 update functor of core/optim_math.h; float64 steps stay on the baseline loop.
template <typename Update>
void run_range(const Update& update, int64_t begin, int64_t end);

}  // namespace dlcore::cpu::optim_avx2

namespace dlcore::cpu::optim_avx512 {
// The same, compiled for AVX-512 (optim_avx512.cpp): CPUs whose GEMM path is "avx512".
template <typename Update>
void run_range(const Update& update, int64_t begin, int64_t end);
}  // namespace dlcore::cpu::optim_avx512

namespace dlcore::cpu::optim_avx2 {

// True for the float32 functors (each carries its scalars in `a`, whose `sign` has type T).
template <typename Update>
constexpr bool kHasAvx2 =
    std::is_same_v<std::remove_cv_t<decltype(std::declval<const Update&>().a.sign)>, float>;

}  // namespace dlcore::cpu::optim_avx2
