// elementwise.cu — unary, binary, scalar, where, cast-copy and fill kernels (CUDA).
//
// Mirror of csrc/cpu/elementwise.cpp: the same operations with the same element semantics,
// so CPU and CUDA agree within float32 rounding.
//
// Structure. Each operation is a small functor (the maths of one element). Two generic
// kernels run any functor over a Loop:
//   * ew_contig: every operand is one flat unit-stride run. When all pointers are aligned,
//     each thread moves V=4 elements with one vector load per operand (16 bytes for float32),
//     which is what saturates HBM; otherwise V=1. A grid-stride loop covers any size.
//   * ew_strided: general strides (broadcasts, transposed views). The linear index is split
//     into per-dim indices by the offset calculator (common.cuh), in 32-bit arithmetic when
//     the loop has fewer than 2^31 elements.
// The op code is a run-time switch inside the functor: it is uniform across the grid, so it
// costs a few instructions per element of a memory-bound kernel, and it keeps the number of
// kernel instantiations (and the build time) small.
#include <utility>

#include "../core/elementwise_math.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

// ---- element functors ----------------------------------------------------------------------
// The maths of one element is core/elementwise_math.h, shared with the CPU (LogicalNot writes
// the input dtype there, as the CPU does: Python hands it Bool tensors).
template <typename T>
struct UnaryFn {
  UnaryOp op;
  __device__ __forceinline__ T operator()(T x) const { return ew::unary(op, x); }
};

template <typename T>
struct ArithFn {
  BinaryOp op;
  __device__ __forceinline__ T operator()(T a, T b) const { return ew::arith(op, a, b); }
};
template <typename T>
struct CompareFn {
  BinaryOp op;
  __device__ __forceinline__ bool operator()(T a, T b) const { return ew::compare(op, a, b); }
};
// op(a, s) or op(s, a) with the scalar already converted to T.
template <typename F, typename T>
struct ScalarFn {
  F f;
  T s;
  bool scalar_first;
  __device__ __forceinline__ auto operator()(T a) const { return scalar_first ? f(s, a) : f(a, s); }
};
template <typename T>
struct WhereFn {
  __device__ __forceinline__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

// Conversion between element types; anything -> bool is "!= 0" (NaN is true).
template <typename D, typename S>
__host__ __device__ __forceinline__ D cast_to(S x) {
  if constexpr (std::is_same<D, bool>::value) return x != S(0);
  else return static_cast<D>(x);
}
template <typename D, typename S>
struct CastFn {
  __device__ __forceinline__ D operator()(S x) const { return cast_to<D>(x); }
};
template <typename T>
struct FillFn {
  T value;
  __device__ __forceinline__ T operator()() const { return value; }
};

// ---- the two generic kernels -----------------------------------------------------------------
template <int V, typename Out, typename F, typename... VIn>
__device__ __forceinline__ void apply_vec(const F& f, Vec<Out, V>& o, VIn... vin) {
#pragma unroll
  for (int j = 0; j < V; ++j) o.v[j] = f(vin.v[j]...);
}

// n elements, every operand unit-stride; with V > 1 every pointer is aligned to V elements.
template <int V, typename Out, typename F, typename... In>
__global__ void ew_contig(int64_t n, F f, Out* __restrict__ out, const In* __restrict__... in) {
  const int64_t nvec = n / V;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  for (int64_t i = tid; i < nvec; i += step) {
    Vec<Out, V> o;
    apply_vec<V>(f, o, reinterpret_cast<const Vec<In, V>*>(in)[i]...);
    reinterpret_cast<Vec<Out, V>*>(out)[i] = o;
  }
  if (V > 1) {  // the last n % V elements, one per thread of the first threads
    const int64_t t = nvec * V + tid;
    if (t < n) out[t] = f(in[t]...);
  }
}

template <typename Out, typename F, typename... In, size_t... K>
__device__ __forceinline__ void apply_at(const F& f, Out* out, const int64_t* off,
                                         std::index_sequence<K...>, const In*... in) {
  out[off[0]] = f(in[off[K + 1]]...);
}

template <typename IndexT, typename Out, typename F, typename... In>
__global__ void ew_strided(const Loop loop, IndexT n, F f, Out* out, const In*... in) {
  constexpr int NOPS = 1 + (int)sizeof...(In);
  const IndexT step = (IndexT)gridDim.x * blockDim.x;
  for (IndexT i = (IndexT)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[NOPS];
    loop_offsets<NOPS>(loop, i, off);
    apply_at(f, out, off, std::index_sequence_for<In...>{}, in...);
  }
}

template <typename Out, typename F, typename... In>
void launch(const char* name, const Loop& loop, void* stream, F f, Out* out, const In*... in) {
  if (loop.ndim < 0 || loop.ndim > kMaxDims) throw std::runtime_error(std::string(name) + ": bad loop ndim");
  const int64_t n = loop.numel();
  if (n <= 0) return;
  constexpr int kThreads = 256;
  cudaStream_t s = as_stream(stream);
  constexpr int NOPS = 1 + (int)sizeof...(In);
  if (loop.contiguous(NOPS)) {
    const bool vec = aligned_to(out, 4 * sizeof(Out)) && (true && ... && aligned_to(in, 4 * sizeof(In)));
    if (vec)
      ew_contig<4><<<grid_for(n / 4 + 1, kThreads), kThreads, 0, s>>>(n, f, out, in...);
    else
      ew_contig<1><<<grid_for(n, kThreads), kThreads, 0, s>>>(n, f, out, in...);
  } else if (n < (int64_t(1) << 31)) {
    ew_strided<uint32_t><<<grid_for(n, kThreads), kThreads, 0, s>>>(loop, (uint32_t)n, f, out, in...);
  } else {
    ew_strided<uint64_t><<<grid_for(n, kThreads), kThreads, 0, s>>>(loop, (uint64_t)n, f, out, in...);
  }
  DLCORE_LAUNCH_CHECK(name);
}

[[noreturn]] void unsupported(const char* fn, int op, DType dtype) {
  throw std::runtime_error(std::string("dlcore cuda ") + fn + ": op " + std::to_string(op) +
                           " is not supported for dtype " + dtype_name(dtype));
}

bool unary_ok(UnaryOp op, DType dtype) {
  if (op == UnaryOp::LogicalNot || is_floating(dtype)) return true;
  if (dtype != DType::Int64) return false;
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Relu: case UnaryOp::Sign:
    case UnaryOp::Square: case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round:
      return true;
    default: return false;
  }
}

bool binary_ok(BinaryOp op, DType dtype) {
  if (is_comparison(op) || is_floating(dtype)) return true;
  return dtype == DType::Int64;  // no arithmetic on bool (the CPU rejects it too)
}

// Dispatch over dtypes whose compute type is T (all four), skipping what the op rejects.
template <typename Body>
void dispatch_all(DType dtype, Body body) {
  switch (dtype) {
    case DType::Float32: body(float()); break;
    case DType::Float64: body(double()); break;
    case DType::Int64: body(int64_t()); break;
    case DType::Bool: body(bool()); break;
    default: throw std::runtime_error("dlcore cuda: unknown dtype");
  }
}

}  // namespace

// ---- entry points ---------------------------------------------------------------------------
void unary(UnaryOp op, DType dtype, const Loop& loop, void* out, const void* in, void* stream) {
  if (!unary_ok(op, dtype)) unsupported("unary", (int)op, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    launch("unary", loop, stream, UnaryFn<T>{op}, (T*)out, (const T*)in);
  });
}

void binary(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a, const void* b,
            void* stream) {
  if (!binary_ok(op, dtype)) unsupported("binary", (int)op, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (is_comparison(op))
      launch("binary(compare)", loop, stream, CompareFn<T>{op}, (bool*)out, (const T*)a, (const T*)b);
    else
      launch("binary", loop, stream, ArithFn<T>{op}, (T*)out, (const T*)a, (const T*)b);
  });
}

void binary_scalar(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a,
                   double s, bool scalar_first, void* stream) {
  if (!binary_ok(op, dtype)) unsupported("binary_scalar", (int)op, dtype);
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T sv = cast_to<T>(s);
    if (is_comparison(op)) {
      ScalarFn<CompareFn<T>, T> f{CompareFn<T>{op}, sv, scalar_first};
      launch("binary_scalar(compare)", loop, stream, f, (bool*)out, (const T*)a);
    } else {
      ScalarFn<ArithFn<T>, T> f{ArithFn<T>{op}, sv, scalar_first};
      launch("binary_scalar", loop, stream, f, (T*)out, (const T*)a);
    }
  });
}

void where(DType dtype, const Loop& loop, void* out, const void* cond, const void* a,
           const void* b, void* stream) {
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    launch("where", loop, stream, WhereFn<T>{}, (T*)out, (const bool*)cond, (const T*)a, (const T*)b);
  });
}

void copy(DType dst_dtype, DType src_dtype, const Loop& loop, void* dst, const void* src,
          void* stream) {
  const int64_t n = loop.numel();
  if (n <= 0) return;
  if (dst_dtype == src_dtype && loop.contiguous(2)) {  // a plain byte copy
    DLCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)n * itemsize(dst_dtype),
                                      cudaMemcpyDeviceToDevice, as_stream(stream)));
    return;
  }
  dispatch_all(dst_dtype, [&](auto dtag) {
    using D = decltype(dtag);
    dispatch_all(src_dtype, [&](auto stag) {
      using S = decltype(stag);
      launch("copy", loop, stream, CastFn<D, S>{}, (D*)dst, (const S*)src);
    });
  });
}

void fill(DType dtype, void* out, int64_t n, double value, void* stream) {
  if (n <= 0) return;
  Loop loop;
  loop.ndim = 1;
  loop.sizes[0] = n;
  loop.strides[0][0] = 1;
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    launch("fill", loop, stream, FillFn<T>{cast_to<T>(value)}, (T*)out);
  });
}

}  // namespace dlcore::cuda
