// scan.cpp — inclusive scans along one dim: cumsum, cumprod, logcumsumexp (CPU).
//
// A contiguous tensor is [outer, n, inner] around the scanned dim:
//
//   y[o, j, i] = x[o, 0, i] (+ | * | logaddexp) ... x[o, j, i]      (reverse: from n-1 down to j)
//
// Accumulation is in double for floating inputs (as torch's CPU scans do), in int64 for int64.
// With inner == 1 (scanning the last dim) each row is one sequential chain. With inner > 1 a
// running accumulator row of `inner` values walks down j, so every read and write is
// contiguous; (o, column chunk) units run in parallel and each chunk's accumulator stays in L1.
// With inner == 1, groups of rows advance together (scan_rows).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

enum ScanOp { kSum = 0, kProd = 1, kLogSumExp = 2 };

template <int Op, typename A>
inline A combine(A acc, A v) {
  if constexpr (Op == kSum) return acc + v;
  else if constexpr (Op == kProd) return acc * v;
  else {
    // log(exp(acc) + exp(v)) without overflow; -inf + -inf stays -inf (no inf - inf NaN).
    const A hi = std::max(acc, v), lo = std::min(acc, v);
    if (hi == -std::numeric_limits<A>::infinity()) return hi;
    if (std::isnan(acc) || std::isnan(v)) return std::numeric_limits<A>::quiet_NaN();
    if (hi == std::numeric_limits<A>::infinity()) return hi;
    return hi + std::log1p(std::exp(lo - hi));
  }
}

template <int Op, typename A>
constexpr A identity() {
  if constexpr (Op == kSum) return A(0);
  else if constexpr (Op == kProd) return A(1);
  else return -std::numeric_limits<A>::infinity();
}

template <int Op, typename T, typename A>
void scan_block(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  constexpr int64_t kChunk = 256;   // accumulator columns per unit (2 KiB of doubles)
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  const int64_t units = outer * chunks;
  const int64_t per_unit = n * std::min(inner, kChunk);
  parallel_for(units, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(per_unit, 1)),
               [&](int64_t u0, int64_t u1) {
    A acc[kChunk];
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / chunks, c = u - o * chunks;
      const int64_t i0 = c * kChunk, w = std::min(kChunk, inner - i0);
      for (int64_t i = 0; i < w; ++i) acc[i] = identity<Op, A>();
      for (int64_t s = 0; s < n; ++s) {
        const int64_t j = reverse ? n - 1 - s : s;
        const T* xr = x + (o * n + j) * inner + i0;
        T* yr = y + (o * n + j) * inner + i0;
        for (int64_t i = 0; i < w; ++i) {
          acc[i] = combine<Op, A>(acc[i], (A)xr[i]);
          yr[i] = (T)acc[i];
        }
      }
    }
  });
}

// Scanning the last dim (inner == 1): each row is one dependent chain (an add every few
// cycles, latency-bound), so kRowGroup rows advance together, their accumulators in registers:
// independent chains the CPU overlaps. Rows are streamed side by side, kRowGroup read and
// kRowGroup write streams.
template <int Op, typename T, typename A>
void scan_rows(const T* x, T* y, int64_t rows, int64_t n, bool reverse) {
  constexpr int kRowGroup = 8;
  const int64_t groups = (rows + kRowGroup - 1) / kRowGroup;
  parallel_for(groups, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n * kRowGroup, 1)),
               [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t r0 = g * kRowGroup;
      if (r0 + kRowGroup > rows) {   // a last partial group: one row at a time
        for (int64_t r = r0; r < rows; ++r) {
          A acc = identity<Op, A>();
          for (int64_t s = 0; s < n; ++s) {
            const int64_t j = reverse ? n - 1 - s : s;
            acc = combine<Op, A>(acc, (A)x[r * n + j]);
            y[r * n + j] = (T)acc;
          }
        }
        continue;
      }
      A acc[kRowGroup];
      for (int k = 0; k < kRowGroup; ++k) acc[k] = identity<Op, A>();
      const T* xr = x + r0 * n;
      T* yr = y + r0 * n;
      for (int64_t s = 0; s < n; ++s) {
        const int64_t j = reverse ? n - 1 - s : s;
        for (int k = 0; k < kRowGroup; ++k) {
          acc[k] = combine<Op, A>(acc[k], (A)xr[k * n + j]);
          yr[k * n + j] = (T)acc[k];
        }
      }
    }
  });
}

template <int Op, typename T, typename A>
void scan_any(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  if (inner == 1 && Op != kLogSumExp) scan_rows<Op, T, A>(x, y, outer, n, reverse);
  else scan_block<Op, T, A>(x, y, outer, n, inner, reverse);
}

template <typename T, typename A>
void scan_typed(int op, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  switch (op) {
    case kSum: scan_any<kSum, T, A>(x, y, outer, n, inner, reverse); return;
    case kProd: scan_any<kProd, T, A>(x, y, outer, n, inner, reverse); return;
    case kLogSumExp:
      if constexpr (std::is_floating_point<A>::value) {
        scan_block<kLogSumExp, T, A>(x, y, outer, n, inner, reverse);
        return;
      }
      break;
  }
  throw std::invalid_argument("scan: unsupported op / dtype combination");
}

}  // namespace

void scan(int op, DType dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
          bool reverse) {
  if (outer * n * inner == 0) return;
  switch (dtype) {
    case DType::Float32: scan_typed<float, double>(op, (const float*)x, (float*)y, outer, n, inner, reverse); return;
    case DType::Float64: scan_typed<double, double>(op, (const double*)x, (double*)y, outer, n, inner, reverse); return;
    case DType::Int64: scan_typed<int64_t, int64_t>(op, (const int64_t*)x, (int64_t*)y, outer, n, inner, reverse); return;
    default: break;
  }
  throw std::invalid_argument(std::string("scan: unsupported dtype ") + dtype_name(dtype));
}

}  // namespace dlcore::cpu
