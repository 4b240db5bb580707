// reduce.cu — sum / prod / max / min / argmax / argmin over the middle axis of a contiguous
// [outer, red, inner] tensor (CUDA). Mirror of csrc/cpu/reduce.cpp.
//
// Semantics: Max/Min propagate NaN; ArgMax/ArgMin return the FIRST index of the extreme
// value and treat NaN as the extreme (like torch); Sum/Prod accumulate in the input type
// (float32 sums in float, combined as a tree, which keeps the rounding error at O(log n)).
// Results are deterministic: no atomics, every combination happens in a fixed order.
// Bool input is rejected (the caller converts it to int64), as on the CPU.
//
// Three strategies, chosen by the shape:
//   * red <= 32 and inner < 32 (or red == 0): one thread per output walks its short row
//     (a warp or a 32-column block would leave most lanes idle).
//   * inner == 1: rows are contiguous, so one warp reduces one row (segment): lanes read
//     consecutive elements (coalesced), accumulate privately, then combine with shuffles.
//   * inner > 1: a block of 32x8 threads owns 32 neighbouring columns; threadIdx.x walks the
//     columns (coalesced reads along inner), threadIdx.y splits the red axis in 8 slices,
//     combined through shared memory.
// When there are too few rows/columns to fill the GPU, the red axis is split over more warps
// or blocks; each writes a partial accumulator to scratch memory, and a second pass of the
// same kernel (reading accumulators) combines the partials — two passes, no atomics.
#include <limits>

#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

// ---- accumulators and ops ----------------------------------------------------------------
template <typename T>
struct ArgAcc {
  T v;
  int64_t i;  // -1: empty (the identity)
};

template <typename T>
__device__ __forceinline__ T shfl_xor(T v, int mask) {
  if constexpr (std::is_same<T, int64_t>::value)
    return (int64_t)__shfl_xor_sync(0xffffffffu, (long long)v, mask);
  else return __shfl_xor_sync(0xffffffffu, v, mask);
}
template <typename T>
__device__ __forceinline__ ArgAcc<T> shfl_xor(ArgAcc<T> a, int mask) {
  return ArgAcc<T>{shfl_xor(a.v, mask), shfl_xor(a.i, mask)};
}

template <typename T>
__host__ __device__ constexpr T lowest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T>
__host__ __device__ constexpr T highest_value() {
  if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

// Each op: Acc (what is combined), Out (what is written), identity, project (element -> Acc),
// combine (associative and commutative), finalize (Acc -> Out).
template <typename T>
struct SumOp {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return T(0); }
  __device__ Acc project(T x, int64_t) const { return x; }
  __device__ Acc combine(Acc a, Acc b) const { return a + b; }
  __device__ Out finalize(Acc a) const { return a; }
};
template <typename T>
struct ProdOp {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return T(1); }
  __device__ Acc project(T x, int64_t) const { return x; }
  __device__ Acc combine(Acc a, Acc b) const { return a * b; }
  __device__ Out finalize(Acc a) const { return a; }
};
template <typename T, bool IS_MAX>
struct ExtremeOp {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return IS_MAX ? lowest_value<T>() : highest_value<T>(); }
  __device__ Acc project(T x, int64_t) const { return x; }
  __device__ Acc combine(Acc a, Acc b) const {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return IS_MAX ? (a > b ? a : b) : (a < b ? a : b);
  }
  __device__ Out finalize(Acc a) const { return a; }
};
template <typename T, bool IS_MAX>
struct ArgOp {
  using Acc = ArgAcc<T>;
  using Out = int64_t;
  __device__ Acc identity() const { return Acc{T(0), -1}; }
  __device__ Acc project(T x, int64_t idx) const { return Acc{x, idx}; }
  // The better value wins; NaN beats everything; on a tie the smaller index wins, which makes
  // the result independent of the order of combination.
  __device__ Acc combine(Acc a, Acc b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) {
      if (an && bn) return a.i < b.i ? a : b;
      return an ? a : b;
    }
    if (IS_MAX ? (a.v > b.v) : (a.v < b.v)) return a;
    if (IS_MAX ? (b.v > a.v) : (b.v < a.v)) return b;
    return a.i < b.i ? a : b;
  }
  __device__ Out finalize(Acc a) const { return a.i < 0 ? 0 : a.i; }
};

// Input element r of a reduction: a raw value (first pass) or an accumulator (second pass).
template <typename Op, bool IN_ACC, typename In>
__device__ __forceinline__ typename Op::Acc load_acc(const Op& op, const In* p, int64_t r) {
  if constexpr (IN_ACC) return p[0];
  else return op.project(p[0], r);
}
template <typename Op, bool OUT_ACC, typename OutT>
__device__ __forceinline__ void store_acc(const Op& op, OutT* p, typename Op::Acc a) {
  if constexpr (OUT_ACC) *p = a;
  else *p = op.finalize(a);
}

template <typename Op, bool IN_ACC, typename T>
using InType = std::conditional_t<IN_ACC, typename Op::Acc, T>;
template <typename Op, bool OUT_ACC>
using OutType = std::conditional_t<OUT_ACC, typename Op::Acc, typename Op::Out>;

// ---- strategy 1: one thread per output ---------------------------------------------------
template <typename Op, typename T>
__global__ void reduce_simple(Op op, const T* __restrict__ in, typename Op::Out* __restrict__ out,
                              int64_t outer, int64_t red, int64_t inner) {
  const int64_t total = outer * inner;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += step) {
    const int64_t o = j / inner, i = j - o * inner;
    const T* p = in + o * red * inner + i;
    typename Op::Acc acc = op.identity();
    for (int64_t r = 0; r < red; ++r) acc = op.combine(acc, op.project(p[r * inner], r));
    out[j] = op.finalize(acc);
  }
}

// ---- strategy 2: contiguous rows, one warp per (row, segment) ------------------------------
// Row `row` is split into nseg segments of `seg` elements; segment s goes to out[row*nseg+s].
template <typename Op, bool IN_ACC, bool OUT_ACC, typename T>
__global__ void reduce_rows(Op op, const InType<Op, IN_ACC, T>* __restrict__ in,
                            OutType<Op, OUT_ACC>* __restrict__ out, int64_t rows, int64_t red,
                            int64_t nseg, int64_t seg) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; w < rows * nseg; w += warps) {
    const int64_t row = w / nseg, s = w - row * nseg;
    const int64_t begin = s * seg;
    const int64_t end = begin + seg < red ? begin + seg : red;
    const auto* p = in + row * red;
    typename Op::Acc acc = op.identity();
#pragma unroll 4
    for (int64_t r = begin + lane; r < end; r += 32) acc = op.combine(acc, load_acc<Op, IN_ACC>(op, p + r, r));
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) acc = op.combine(acc, shfl_xor(acc, m));
    if (lane == 0) store_acc<Op, OUT_ACC>(op, out + w, acc);
  }
}

// ---- strategy 3: columns (inner > 1), 32x8 threads per block -------------------------------
// blockIdx.x: (o, group of 32 columns); blockIdx.y: segment s of the red axis.
// Output index: ((o * nseg) + s) * inner + i — with nseg == 1 that is the final [outer, inner].
constexpr int kColX = 32, kColY = 8;
template <typename Op, bool IN_ACC, bool OUT_ACC, typename T>
__global__ void __launch_bounds__(kColX * kColY)
reduce_cols(Op op, const InType<Op, IN_ACC, T>* __restrict__ in, OutType<Op, OUT_ACC>* __restrict__ out,
            int64_t red, int64_t inner, int64_t seg) {
  using Acc = typename Op::Acc;
  __shared__ Acc part[kColY][kColX + 1];
  const int64_t ncolblk = (inner + kColX - 1) / kColX;
  const int64_t o = blockIdx.x / ncolblk;
  const int64_t i = (blockIdx.x - o * ncolblk) * kColX + threadIdx.x;
  const int64_t s = blockIdx.y, nseg = gridDim.y;
  const int64_t begin = s * seg;
  const int64_t end = begin + seg < red ? begin + seg : red;
  Acc acc = op.identity();
  if (i < inner) {
    const auto* p = in + o * red * inner + i;
#pragma unroll 4
    for (int64_t r = begin + threadIdx.y; r < end; r += kColY)
      acc = op.combine(acc, load_acc<Op, IN_ACC>(op, p + r * inner, r));
  }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && i < inner) {
#pragma unroll
    for (int y = 1; y < kColY; ++y) acc = op.combine(acc, part[y][threadIdx.x]);
    store_acc<Op, OUT_ACC>(op, out + (o * nseg + s) * inner + i, acc);
  }
}

template <typename Op, typename T>
void run(Op op, const T* in, typename Op::Out* out, int64_t outer, int64_t red, int64_t inner,
         cudaStream_t s) {
  using Acc = typename Op::Acc;
  constexpr int kThreads = 256;
  const int64_t sms = sm_count();

  if (red == 0 || (red <= 32 && inner < 32)) {
    reduce_simple<<<grid_for(outer * inner, kThreads), kThreads, 0, s>>>(op, in, out, outer, red, inner);
    DLCORE_LAUNCH_CHECK("reduce_simple");
    return;
  }

  if (inner == 1) {
    // Enough warps for ~64 per SM; a segment keeps at least 1024 elements (32 per lane).
    const int64_t target = sms * 64;
    int64_t nseg = outer >= target ? 1 : ceil_div(target, outer);
    nseg = std::min(nseg, ceil_div(red, 1024));
    if (nseg < 1) nseg = 1;
    const int64_t seg = ceil_div(red, nseg);
    nseg = ceil_div(red, seg);
    const int warps_per_block = kThreads / 32;
    auto blocks = [&](int64_t warps) {
      return (unsigned)std::min<int64_t>(ceil_div(warps, warps_per_block), sms * 32);
    };
    if (nseg == 1) {
      reduce_rows<Op, false, false, T><<<blocks(outer), kThreads, 0, s>>>(op, in, out, outer, red, 1, red);
      DLCORE_LAUNCH_CHECK("reduce_rows");
      return;
    }
    Scratch tmp((size_t)(outer * nseg) * sizeof(Acc));
    Acc* part = static_cast<Acc*>(tmp.ptr);
    reduce_rows<Op, false, true, T><<<blocks(outer * nseg), kThreads, 0, s>>>(op, in, part, outer, red, nseg, seg);
    DLCORE_LAUNCH_CHECK("reduce_rows(pass 1)");
    reduce_rows<Op, true, false, T><<<blocks(outer), kThreads, 0, s>>>(op, part, out, outer, nseg, 1, nseg);
    DLCORE_LAUNCH_CHECK("reduce_rows(pass 2)");
    return;
  }

  // inner > 1: blocks of 32 columns x 8 red-slices; split red when the blocks are too few.
  const int64_t ncolblk = ceil_div(inner, kColX);
  const int64_t colblocks = outer * ncolblk;
  if (colblocks > (int64_t)0x7fffffff) throw std::runtime_error("reduce: tensor too large");
  const int64_t target = sms * 8;
  int64_t nseg = colblocks >= target ? 1 : ceil_div(target, colblocks);
  nseg = std::min(nseg, ceil_div(red, 64));   // >= 8 elements per thread in a segment
  nseg = std::min<int64_t>(std::max<int64_t>(nseg, 1), 65535);
  const int64_t seg = ceil_div(red, nseg);
  nseg = ceil_div(red, seg);
  const dim3 block(kColX, kColY);
  if (nseg == 1) {
    reduce_cols<Op, false, false, T><<<dim3((unsigned)colblocks, 1), block, 0, s>>>(op, in, out, red, inner, red);
    DLCORE_LAUNCH_CHECK("reduce_cols");
    return;
  }
  Scratch tmp((size_t)(outer * nseg * inner) * sizeof(Acc));
  Acc* part = static_cast<Acc*>(tmp.ptr);
  reduce_cols<Op, false, true, T><<<dim3((unsigned)colblocks, (unsigned)nseg), block, 0, s>>>(
      op, in, part, red, inner, seg);
  DLCORE_LAUNCH_CHECK("reduce_cols(pass 1)");
  // Pass 2: the partials are a contiguous [outer, nseg, inner] tensor reduced over nseg.
  reduce_cols<Op, true, false, T><<<dim3((unsigned)colblocks, 1), block, 0, s>>>(
      op, part, out, nseg, inner, nseg);
  DLCORE_LAUNCH_CHECK("reduce_cols(pass 2)");
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t red,
            int64_t inner, void* stream) {
  if (outer < 0 || red < 0 || inner < 0) throw std::runtime_error("reduce: negative size");
  if (outer == 0 || inner == 0) return;
  if (red == 0 && op != ReduceOp::Sum && op != ReduceOp::Prod)
    throw std::runtime_error("reduce: max/min/argmax/argmin of an empty axis");
  cudaStream_t s = as_stream(stream);
  auto typed = [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(in);
    switch (op) {
      case ReduceOp::Sum: run(SumOp<T>{}, x, (T*)out, outer, red, inner, s); break;
      case ReduceOp::Prod: run(ProdOp<T>{}, x, (T*)out, outer, red, inner, s); break;
      case ReduceOp::Max: run(ExtremeOp<T, true>{}, x, (T*)out, outer, red, inner, s); break;
      case ReduceOp::Min: run(ExtremeOp<T, false>{}, x, (T*)out, outer, red, inner, s); break;
      case ReduceOp::ArgMax: run(ArgOp<T, true>{}, x, (int64_t*)out, outer, red, inner, s); break;
      case ReduceOp::ArgMin: run(ArgOp<T, false>{}, x, (int64_t*)out, outer, red, inner, s); break;
      default: throw std::runtime_error("reduce: unknown op");
    }
  };
  switch (dtype) {
    case DType::Float32: typed(float()); break;
    case DType::Float64: typed(double()); break;
    case DType::Int64: typed(int64_t()); break;
    default: throw std::runtime_error("reduce: bool input must be converted to int64 first");
  }
}

}  // namespace dlcore::cuda
