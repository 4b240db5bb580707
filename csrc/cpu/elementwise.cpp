// elementwise.cpp — unary, binary, scalar, where, cast-copy and fill kernels for the CPU.
//
// Every kernel is one templated loop body run by for_each_run() (parallel.h), which splits
// big loops across OpenMP threads and hands out inner runs. A run whose operands are all
// unit-stride takes a plain indexed loop that the compiler vectorizes; others step by stride.
// The op switch happens once per call, outside the loops, so the inner loop holds one op.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "../core/errors.h"
#include "../core/elementwise_math.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {

#if defined(__x86_64__) || defined(__i386__)
void exp_f32_avx2(const float* x, float* y, int64_t n);   // activation_avx2.cpp
void log_f32_avx2(const float* x, float* y, int64_t n);
#endif

namespace {

// The maths of one element (ew::unary / ew::arith / ew::compare) is core/elementwise_math.h,
// shared with cuda/elementwise.cu. Which (op, dtype) pairs exist is decided here, on the host.
template <typename T> inline bool unary_supported(UnaryOp op) {
  if constexpr (std::is_floating_point_v<T>) return true;
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Relu: case UnaryOp::Sign:
    case UnaryOp::Square: case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round:
    case UnaryOp::LogicalNot:
      return !std::is_same_v<T, bool> || op == UnaryOp::LogicalNot;
    default: return false;
  }
}

// ---- loop bodies ---------------------------------------------------------------------
// F maps the input element(s) to one output element; it is inlined into both run shapes.
template <typename O, typename I, typename F>
void map1(const Loop& L, void* out, const void* in, F f) {
  char* base[2] = {(char*)out, (char*)in};
  const int64_t es[2] = {(int64_t)sizeof(O), (int64_t)sizeof(I)};
  for_each_run<2>(L, base, es, [&](char* const* p, const int64_t* st, int64_t n) {
    O* o = (O*)p[0];
    const I* a = (const I*)p[1];
    if (st[0] == es[0] && st[1] == es[1]) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *(O*)(p[0] + i * st[0]) = f(*(const I*)(p[1] + i * st[1]));
    }
  });
}

template <typename O, typename I, typename F>
void map2(const Loop& L, void* out, const void* a, const void* b, F f) {
  char* base[3] = {(char*)out, (char*)a, (char*)b};
  const int64_t es[3] = {(int64_t)sizeof(O), (int64_t)sizeof(I), (int64_t)sizeof(I)};
  for_each_run<3>(L, base, es, [&](char* const* p, const int64_t* st, int64_t n) {
    O* o = (O*)p[0];
    const I* x = (const I*)p[1];
    const I* y = (const I*)p[2];
    if (st[0] == es[0] && st[1] == es[1] && st[2] == es[2]) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (st[0] == es[0] && st[1] == es[1] && st[2] == 0) {   // tensor op broadcast row
      const I yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *(O*)(p[0] + i * st[0]) = f(*(const I*)(p[1] + i * st[1]), *(const I*)(p[2] + i * st[2]));
    }
  });
}

template <typename T>
void unary_typed(UnaryOp op, const Loop& L, void* out, const void* in) {
  if (!unary_supported<T>(op))
    fail<DTypeError>("unary", "op ", (int)op, " is not defined for this dtype");
  // Contiguous float32 exp, log, sigmoid, tanh: std::exp / std::log are scalar library calls
  // per element, so these go to the AVX2 polynomials on 8 lanes (activation_avx2.cpp, ~1 ulp),
  // sigmoid and tanh through the activation kernels (activation.cpp) that use exp8.
  if constexpr (std::is_same_v<T, float>) {
    if ((op == UnaryOp::Sigmoid || op == UnaryOp::Tanh) && L.contiguous(2)) {
      activation_forward(op == UnaryOp::Sigmoid ? ActOp::Sigmoid : ActOp::Tanh, DType::Float32,
                         in, out, L.numel(), 0.0, 0.0);
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    if ((op == UnaryOp::Exp || op == UnaryOp::Log) && L.contiguous(2) && use_avx2_kernels()) {
      const float* x = static_cast<const float*>(in);
      float* y = static_cast<float*>(out);
      auto* fn = op == UnaryOp::Exp ? &exp_f32_avx2 : &log_f32_avx2;
      parallel_for(L.numel(), kParallelGrain / 4,
                   [&](int64_t lo, int64_t hi) { fn(x + lo, y + lo, hi - lo); });
      return;
    }
#endif
  }
  // Expand the hot ops so each gets its own vectorizable loop. Only the floating types: the
  // integer and bool ops (rare, never a model's hot path) share the one loop with the switch
  // inside, which saves ~30 instantiated loops of compile time for cases that could not run.
#define DL_CASE(OP) case UnaryOp::OP: map1<T, T>(L, out, in, [](T x) { return ew::unary(UnaryOp::OP, x); }); return;
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      DL_CASE(Neg) DL_CASE(Abs) DL_CASE(Exp) DL_CASE(Log) DL_CASE(Sqrt) DL_CASE(Sigmoid)
      DL_CASE(Tanh) DL_CASE(Relu) DL_CASE(Square) DL_CASE(Reciprocal)
      default: break;
    }
  }
#undef DL_CASE
  map1<T, T>(L, out, in, [op](T x) { return ew::unary(op, x); });
}

template <typename T>
void binary_typed(BinaryOp op, const Loop& L, void* out, const void* a, const void* b) {
  if (is_comparison(op)) {
    map2<bool, T>(L, out, a, b, [op](T x, T y) { return ew::compare(op, x, y); });
    return;
  }
  if constexpr (std::is_same_v<T, bool>) {
    fail<DTypeError>("binary", "arithmetic op ", (int)op, " is not defined for bool");
  } else {
    switch (op) {
#define DL_CASE(OP) case BinaryOp::OP: map2<T, T>(L, out, a, b, [](T x, T y) { return ew::arith(BinaryOp::OP, x, y); }); return;
      DL_CASE(Add) DL_CASE(Sub) DL_CASE(Mul) DL_CASE(Div) DL_CASE(Maximum) DL_CASE(Minimum)
#undef DL_CASE
      default: map2<T, T>(L, out, a, b, [op](T x, T y) { return ew::arith(op, x, y); });
    }
  }
}

template <typename T>
void binary_scalar_typed(BinaryOp op, const Loop& L, void* out, const void* a, double s, bool first) {
  const T sv = (T)s;
  if (is_comparison(op)) {
    if (first) map1<bool, T>(L, out, a, [=](T x) { return ew::compare(op, sv, x); });
    else map1<bool, T>(L, out, a, [=](T x) { return ew::compare(op, x, sv); });
    return;
  }
  if constexpr (std::is_same_v<T, bool>) {
    fail<DTypeError>("binary", "arithmetic op ", (int)op, " is not defined for bool");
  } else {
    if (first) { map1<T, T>(L, out, a, [=](T x) { return ew::arith(op, sv, x); }); return; }
    switch (op) {
#define DL_CASE(OP) case BinaryOp::OP: map1<T, T>(L, out, a, [=](T x) { return ew::arith(BinaryOp::OP, x, sv); }); return;
      DL_CASE(Add) DL_CASE(Sub) DL_CASE(Mul) DL_CASE(Div) DL_CASE(Maximum) DL_CASE(Minimum)
#undef DL_CASE
      default: map1<T, T>(L, out, a, [=](T x) { return ew::arith(op, x, sv); });
    }
  }
}

template <typename T>
void where_typed(const Loop& L, void* out, const void* cond, const void* a, const void* b) {
  char* base[4] = {(char*)out, (char*)cond, (char*)a, (char*)b};
  const int64_t es[4] = {sizeof(T), 1, sizeof(T), sizeof(T)};
  for_each_run<4>(L, base, es, [&](char* const* p, const int64_t* st, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      *(T*)(p[0] + i * st[0]) = *(const bool*)(p[1] + i * st[1]) ? *(const T*)(p[2] + i * st[2])
                                                                   : *(const T*)(p[3] + i * st[3]);
  });
}

template <typename D, typename S> inline D cast(S v) {
  if constexpr (std::is_same_v<D, bool>) return v != S(0);
  else return (D)v;
}

template <typename F>
void dispatch(DType d, F&& f) {
  switch (d) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::Int64: f(int64_t{}); return;
    case DType::Bool: f(bool{}); return;
  }
}

}  // namespace

void unary(UnaryOp op, DType dtype, const Loop& L, void* out, const void* in) {
  dispatch(dtype, [&](auto t) { unary_typed<decltype(t)>(op, L, out, in); });
}

void binary(BinaryOp op, DType dtype, const Loop& L, void* out, const void* a, const void* b) {
  dispatch(dtype, [&](auto t) { binary_typed<decltype(t)>(op, L, out, a, b); });
}

void binary_scalar(BinaryOp op, DType dtype, const Loop& L, void* out, const void* a, double s,
                   bool scalar_first) {
  dispatch(dtype, [&](auto t) { binary_scalar_typed<decltype(t)>(op, L, out, a, s, scalar_first); });
}

void where(DType dtype, const Loop& L, void* out, const void* cond, const void* a, const void* b) {
  dispatch(dtype, [&](auto t) { where_typed<decltype(t)>(L, out, cond, a, b); });
}

void copy(DType dst_dtype, DType src_dtype, const Loop& L, void* dst, const void* src) {
  if (dst_dtype == src_dtype && L.contiguous(2)) {   // plain memcpy, split across threads
    const int64_t es = (int64_t)itemsize(dst_dtype), n = L.numel();
    parallel_for(n, 1 << 18, [&](int64_t b, int64_t e) {
      std::memcpy((char*)dst + b * es, (const char*)src + b * es, (e - b) * es);
    });
    return;
  }
  dispatch(dst_dtype, [&](auto d) {
    dispatch(src_dtype, [&](auto s) {
      using D = decltype(d);
      using S = decltype(s);
      map1<D, S>(L, dst, src, [](S v) { return cast<D, S>(v); });
    });
  });
}

void fill(DType dtype, void* out, int64_t n, double value) {
  dispatch(dtype, [&](auto t) {
    using T = decltype(t);
    const T v = cast<T, double>(value);
    T* o = (T*)out;
    parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = v;
    });
  });
}

}  // namespace dlcore::cpu
