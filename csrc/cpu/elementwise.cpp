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
#include "../core/host_device.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

// ---- scalar math, one definition per op (the CUDA file mirrors these) ------------------
template <typename T> inline T ipow(T b, T e) {
  if (e < 0) return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);
  T r = 1;
  while (e) { if (e & 1) r *= b; b *= b; e >>= 1; }
  return r;
}

template <typename T> inline T apply_unary(UnaryOp op, T x) {
  if constexpr (std::is_same_v<T, bool>) {
    return !x;   // LogicalNot is the only unary op on bool (unary_supported checks)
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return std::abs(x);
      case UnaryOp::Exp: return std::exp(x);
      case UnaryOp::Log: return std::log(x);
      case UnaryOp::Sqrt: return std::sqrt(x);
      case UnaryOp::Sigmoid: return hd::sigmoid(x);
      case UnaryOp::Tanh: return std::tanh(x);
      case UnaryOp::Relu: return x > 0 ? x : (x == x ? T(0) : x);
      case UnaryOp::Sign: return x > 0 ? T(1) : (x < 0 ? T(-1) : (x == x ? T(0) : x));
      case UnaryOp::Reciprocal: return T(1) / x;
      case UnaryOp::Square: return x * x;
      case UnaryOp::Sin: return std::sin(x);
      case UnaryOp::Cos: return std::cos(x);
      case UnaryOp::Floor: return std::floor(x);
      case UnaryOp::Ceil: return std::ceil(x);
      case UnaryOp::Round: return std::nearbyint(x);   // half to even, like NumPy/PyTorch
      case UnaryOp::LogicalNot: return x == 0 ? T(1) : T(0);
    }
  } else {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return x < 0 ? -x : x;
      case UnaryOp::Relu: return x > 0 ? x : 0;
      case UnaryOp::Sign: return (T)((x > 0) - (x < 0));
      case UnaryOp::Square: return x * x;
      case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round: return x;
      case UnaryOp::LogicalNot: return !x;
      default: break;
    }
  }
  return x;  // unreachable: unsupported (op, dtype) pairs are rejected before the loop
}

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

// Binary ops producing T. Maximum/Minimum propagate NaN, as torch.maximum does.
template <typename T> inline T apply_arith(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<T>) return a / b;
      else {  // floor division (Python's //); division by zero yields 0 rather than a trap
        if (b == 0) return 0;
        T q = a / b;
        return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
      }
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>) return std::pow(a, b);
      else return ipow(a, b);
    case BinaryOp::Maximum:
      if constexpr (std::is_floating_point_v<T>) if (a != a || b != b) return a + b;
      return a > b ? a : b;
    case BinaryOp::Minimum:
      if constexpr (std::is_floating_point_v<T>) if (a != a || b != b) return a + b;
      return a < b ? a : b;
    default: return a;
  }
}
template <typename T> inline bool apply_compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return (a != T(0)) && (b != T(0));
    case BinaryOp::LogicalOr: return (a != T(0)) || (b != T(0));
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
  switch (op) {  // expand the hot ops so each gets its own vectorizable loop
#define DL_CASE(OP) case UnaryOp::OP: map1<T, T>(L, out, in, [](T x) { return apply_unary(UnaryOp::OP, x); }); return;
    DL_CASE(Neg) DL_CASE(Abs) DL_CASE(Exp) DL_CASE(Log) DL_CASE(Sqrt) DL_CASE(Sigmoid)
    DL_CASE(Tanh) DL_CASE(Relu) DL_CASE(Square) DL_CASE(Reciprocal)
#undef DL_CASE
    default: map1<T, T>(L, out, in, [op](T x) { return apply_unary(op, x); });
  }
}

template <typename T>
void binary_typed(BinaryOp op, const Loop& L, void* out, const void* a, const void* b) {
  if (is_comparison(op)) {
    map2<bool, T>(L, out, a, b, [op](T x, T y) { return apply_compare(op, x, y); });
    return;
  }
  if constexpr (std::is_same_v<T, bool>) {
    fail<DTypeError>("binary", "arithmetic op ", (int)op, " is not defined for bool");
  } else {
    switch (op) {
#define DL_CASE(OP) case BinaryOp::OP: map2<T, T>(L, out, a, b, [](T x, T y) { return apply_arith(BinaryOp::OP, x, y); }); return;
      DL_CASE(Add) DL_CASE(Sub) DL_CASE(Mul) DL_CASE(Div) DL_CASE(Maximum) DL_CASE(Minimum)
#undef DL_CASE
      default: map2<T, T>(L, out, a, b, [op](T x, T y) { return apply_arith(op, x, y); });
    }
  }
}

template <typename T>
void binary_scalar_typed(BinaryOp op, const Loop& L, void* out, const void* a, double s, bool first) {
  const T sv = (T)s;
  if (is_comparison(op)) {
    if (first) map1<bool, T>(L, out, a, [=](T x) { return apply_compare(op, sv, x); });
    else map1<bool, T>(L, out, a, [=](T x) { return apply_compare(op, x, sv); });
    return;
  }
  if constexpr (std::is_same_v<T, bool>) {
    fail<DTypeError>("binary", "arithmetic op ", (int)op, " is not defined for bool");
  } else {
    if (first) { map1<T, T>(L, out, a, [=](T x) { return apply_arith(op, sv, x); }); return; }
    switch (op) {
#define DL_CASE(OP) case BinaryOp::OP: map1<T, T>(L, out, a, [=](T x) { return apply_arith(BinaryOp::OP, x, sv); }); return;
      DL_CASE(Add) DL_CASE(Sub) DL_CASE(Mul) DL_CASE(Div) DL_CASE(Maximum) DL_CASE(Minimum)
#undef DL_CASE
      default: map1<T, T>(L, out, a, [=](T x) { return apply_arith(op, x, sv); });
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
