// host_device.h — what maths shared by cpu/ and cuda/ needs to compile on both sides.
//
// DLCORE_HD marks a small function for the host and, under nvcc, for CUDA devices as well
// (Philox, optimizer updates, activations, elementwise ops). hd::exp & co. are the standard functions under
// one name on both: std:: on the host, CUDA's math library on the device (the f-suffixed
// single-precision versions for float, so nothing is promoted to double on the GPU).
#pragma once
#include <cmath>
#include <type_traits>

#if defined(__CUDACC__)
#define DLCORE_HD __host__ __device__ __forceinline__
#else
#define DLCORE_HD inline
#endif

namespace dlcore::hd {

#if defined(__CUDA_ARCH__)
#define DLCORE_HD_MATH(name)                                             \
  template <typename T>                                                  \
  DLCORE_HD T name(T x) {                                                \
    if constexpr (std::is_same_v<T, float>) return ::name##f(x);         \
    else return ::name(x);                                               \
  }
#else
#define DLCORE_HD_MATH(name) \
  template <typename T>      \
  DLCORE_HD T name(T x) { return std::name(x); }
#endif
DLCORE_HD_MATH(sqrt)
DLCORE_HD_MATH(fabs)
DLCORE_HD_MATH(exp)
DLCORE_HD_MATH(expm1)
DLCORE_HD_MATH(log1p)
DLCORE_HD_MATH(tanh)
DLCORE_HD_MATH(erf)
DLCORE_HD_MATH(log)
DLCORE_HD_MATH(sin)
DLCORE_HD_MATH(cos)
DLCORE_HD_MATH(floor)
DLCORE_HD_MATH(ceil)
DLCORE_HD_MATH(rint)   // round half to even (the default rounding mode), like numpy.round
#undef DLCORE_HD_MATH

template <typename T>
DLCORE_HD T pow(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::powf(a, b);
  else return ::pow(a, b);
#else
  return std::pow(a, b);
#endif
}

// 1 / (1 + e^-x), never taking exp of a large positive number: for x < 0, e^x / (1 + e^x).
template <typename T>
DLCORE_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + hd::exp(-x));
  const T e = hd::exp(x);
  return e / (T(1) + e);
}

}  // namespace dlcore::hd
