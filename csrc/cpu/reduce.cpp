// reduce.cpp — reductions over the middle axis of a contiguous [outer, red, inner] block.
//
// Any reduction over a set of adjacent dims of a contiguous tensor is this shape (the
// bindings merge the reduced dims into `red`, the dims before into `outer`, after into
// `inner`). Two loop orders:
//   inner == 1  each output reduces one contiguous row: an `omp simd` reduction, so the
//               compiler keeps several vector accumulators (fast and more accurate than one
//               running sum);
//   inner  > 1  each output row of `inner` values is updated red times by streaming whole
//               input rows — unit-stride reads, vectorized adds, no strided gathers.
// Arg-reductions track (value, first index); NaN counts as the extreme, like PyTorch.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "../core/errors.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

template <typename T> inline bool isnan_(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}
// "a beats b" for Max (or Min when !is_max); NaN beats everything, ties keep the first.
template <typename T> inline bool beats(T a, T b, bool is_max) {
  if (isnan_(b)) return false;
  if (isnan_(a)) return true;
  return is_max ? a > b : a < b;
}

template <typename T>
void reduce_rows(ReduceOp op, const T* in, void* out, int64_t outer, int64_t red) {
  parallel_for(outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red, 1)),
               [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* row = in + o * red;
      switch (op) {
        case ReduceOp::Sum: {
          T acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t r = 0; r < red; ++r) acc += row[r];
          ((T*)out)[o] = acc;
          break;
        }
        case ReduceOp::Prod: {
          T acc = 1;
#pragma omp simd reduction(* : acc)
          for (int64_t r = 0; r < red; ++r) acc *= row[r];
          ((T*)out)[o] = acc;
          break;
        }
        default: {
          const bool is_max = op == ReduceOp::Max || op == ReduceOp::ArgMax;
          T best = row[0];
          int64_t at = 0;
          for (int64_t r = 1; r < red; ++r)
            if (beats(row[r], best, is_max)) { best = row[r]; at = r; }
          if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) ((int64_t*)out)[o] = at;
          else ((T*)out)[o] = best;
        }
      }
    }
  });
}

template <typename T>
void reduce_cols(ReduceOp op, const T* in, void* out, int64_t outer, int64_t red, int64_t inner) {
  // Parallelize over (outer, chunks of inner) so that outer == 1 still uses every thread.
  const int64_t chunk = 1024;
  const int64_t nchunks = (inner + chunk - 1) / chunk;
  parallel_for(outer * nchunks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red * chunk, 1)),
               [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx;
    for (int64_t w = b; w < e; ++w) {
      const int64_t o = w / nchunks, i0 = (w % nchunks) * chunk;
      const int64_t n = std::min(chunk, inner - i0);
      const T* src = in + o * red * inner + i0;
      if (op == ReduceOp::Sum || op == ReduceOp::Prod) {
        T* dst = (T*)out + o * inner + i0;
        const bool sum = op == ReduceOp::Sum;
        for (int64_t i = 0; i < n; ++i) dst[i] = sum ? T(0) : T(1);
        for (int64_t r = 0; r < red; ++r) {
          const T* s = src + r * inner;
          if (sum) { for (int64_t i = 0; i < n; ++i) dst[i] += s[i]; }
          else { for (int64_t i = 0; i < n; ++i) dst[i] *= s[i]; }
        }
        continue;
      }
      const bool is_max = op == ReduceOp::Max || op == ReduceOp::ArgMax;
      const bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
      std::vector<T> best(src, src + n);
      idx.assign(n, 0);
      for (int64_t r = 1; r < red; ++r) {
        const T* s = src + r * inner;
        for (int64_t i = 0; i < n; ++i)
          if (beats(s[i], best[i], is_max)) { best[i] = s[i]; idx[i] = r; }
      }
      if (arg) std::memcpy((int64_t*)out + o * inner + i0, idx.data(), n * sizeof(int64_t));
      else std::memcpy((T*)out + o * inner + i0, best.data(), n * sizeof(T));
    }
  });
}

template <typename T>
void reduce_typed(ReduceOp op, const void* in, void* out, int64_t outer, int64_t red, int64_t inner) {
  const bool extreme = op != ReduceOp::Sum && op != ReduceOp::Prod;
  if (extreme && red == 0) fail<ShapeError>("reduce", "max/min/argmax/argmin of an empty dimension");
  if (outer == 0 || inner == 0) return;
  if (red == 0) {   // sum of nothing is 0, product of nothing is 1
    fill(std::is_same_v<T, float> ? DType::Float32 : std::is_same_v<T, double> ? DType::Float64 : DType::Int64,
         out, outer * inner, op == ReduceOp::Sum ? 0.0 : 1.0);
    return;
  }
  if (inner == 1) reduce_rows<T>(op, (const T*)in, out, outer, red);
  else reduce_cols<T>(op, (const T*)in, out, outer, red, inner);
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t red,
            int64_t inner) {
  switch (dtype) {
    case DType::Float32: return reduce_typed<float>(op, in, out, outer, red, inner);
    case DType::Float64: return reduce_typed<double>(op, in, out, outer, red, inner);
    case DType::Int64: return reduce_typed<int64_t>(op, in, out, outer, red, inner);
    case DType::Bool: fail<DTypeError>("reduce", "bool input must be converted to int64 first");
  }
}

}  // namespace dlcore::cpu
