// scatter.cpp — gather and scatter along one dim with a full index tensor (CPU).
//
// Unlike index_select (one index vector shared by every row), torch.gather / scatter take an
// index tensor with the rank of the input: every output element names its own source row.
// Around the indexed dim a contiguous tensor is [outer, n, inner] and the index [outer, m, inner]:
//
//   gather:       out[o, j, i]              = x[o, idx[o, j, i], i]
//   scatter:      acc[o, idx[o, j, i], i]   = src[o, j, i]
//   scatter_add:  acc[o, idx[o, j, i], i] += src[o, j, i]
//
// gather only moves bytes, so it is typed by element size. It checks each index as it reads
// it and reports the first one outside [0, n) instead of reading there.
//
// An index row whose entries all name the same row (the embedding pattern: an index expanded
// along the columns) moves as one contiguous run both ways.
//
// The scatters must not race when indices repeat. Element acc[o, :, i] is only ever written
// from index column (o, :, i), so the work is split over (o, range of i) units: each unit owns
// its columns of acc outright and walks j in order, which also makes the result (which write
// wins, the order of the additions) independent of the thread count.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

// True when id[i0:i1] all name the same row: the embedding-style index (every column of an
// index row equal), where a scatter row becomes one contiguous run instead of inner scattered
// updates. Checking costs one more read of the index row, which is in L1 already.
inline bool same_row(const int64_t* id, int64_t i0, int64_t i1) {
  if (i1 - i0 < 4) return false;
  const int64_t first = id[i0];
  int64_t diff = 0;
  for (int64_t i = i0 + 1; i < i1; ++i) diff |= id[i] ^ first;
  return diff == 0;
}

template <typename E>
int64_t gather_rows(const E* x, const int64_t* idx, E* out, int64_t outer, int64_t n, int64_t m,
                    int64_t inner) {
  // One work item per (o, j) row of the output: inner contiguous reads of idx, inner scattered
  // reads of x (contiguous too when the index rows are constant, the embedding-style case).
  const int64_t rows = outer * m;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1));
  int64_t bad = -1;
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / m;
      const int64_t* id = idx + r * inner;
      const E* src = x + o * n * inner;
      E* dst = out + r * inner;
      if (same_row(id, 0, inner) && (uint64_t)id[0] < (uint64_t)n) {
        std::memcpy(dst, src + id[0] * inner, sizeof(E) * inner);   // one contiguous row
        continue;
      }
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t s = id[i];
        if ((uint64_t)s >= (uint64_t)n) {   // also catches negatives
#pragma omp critical(dlcore_gather_bad)
          if (bad < 0 || r * inner + i < bad) bad = r * inner + i;
          return;
        }
        dst[i] = src[s * inner + i];
      }
    }
  });
  return bad;
}

template <typename T, bool Add>
void scatter_cols(T* acc, const int64_t* idx, const T* src, int64_t outer, int64_t n, int64_t m,
                  int64_t inner) {
  // Units = (o, column chunk). With inner == 1 (scatter along the last dim) a unit is a row;
  // with one outer row (dim 0, the embedding-gradient shape) the columns are split so that
  // every thread has a share, in chunks of at least 16 columns (whole cache lines of acc).
  int64_t chunks = 1;
#ifdef _OPENMP
  if ((double)outer * m * inner >= (double)kParallelGrain && outer < omp_get_max_threads())
    chunks = std::min<int64_t>((inner + 15) / 16,
                               (omp_get_max_threads() + outer - 1) / std::max<int64_t>(outer, 1));
#endif
  chunks = std::max<int64_t>(chunks, 1);
  const int64_t units = outer * chunks;
  const int64_t per_unit = std::max<int64_t>(1, m * inner / chunks);
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / per_unit);
  parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / chunks, c = u - o * chunks;
      const int64_t i0 = inner * c / chunks, i1 = inner * (c + 1) / chunks;
      T* a = acc + o * n * inner;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t* id = idx + (o * m + j) * inner;
        const T* s = src + (o * m + j) * inner;
        if (same_row(id, i0, i1)) {   // one destination row: a contiguous (vectorised) run
          T* __restrict d = a + id[i0] * inner;
          const T* __restrict sr = s;
          for (int64_t i = i0; i < i1; ++i) {
            if (Add) d[i] += sr[i];
            else d[i] = sr[i];
          }
          continue;
        }
        for (int64_t i = i0; i < i1; ++i) {
          if (Add) a[id[i] * inner + i] += s[i];
          else a[id[i] * inner + i] = s[i];
        }
      }
    }
  });
}

template <bool Add>
bool scatter_typed(DType dtype, void* acc, const int64_t* idx, const void* src, int64_t outer,
                   int64_t n, int64_t m, int64_t inner) {
  switch (dtype) {
    case DType::Float32: scatter_cols<float, Add>((float*)acc, idx, (const float*)src, outer, n, m, inner); return true;
    case DType::Float64: scatter_cols<double, Add>((double*)acc, idx, (const double*)src, outer, n, m, inner); return true;
    case DType::Int64: scatter_cols<int64_t, Add>((int64_t*)acc, idx, (const int64_t*)src, outer, n, m, inner); return true;
    case DType::Bool:
      if (Add) return false;   // adding booleans is not defined; assignment just moves bytes
      scatter_cols<uint8_t, false>((uint8_t*)acc, idx, (const uint8_t*)src, outer, n, m, inner);
      return true;
    default: return false;
  }
}

}  // namespace

int64_t gather(DType dtype, const void* x, const int64_t* idx, void* out, int64_t outer, int64_t n,
               int64_t m, int64_t inner) {
  if (outer * m * inner == 0) return -1;
  switch (itemsize(dtype)) {
    case 1: return gather_rows((const uint8_t*)x, idx, (uint8_t*)out, outer, n, m, inner);
    case 4: return gather_rows((const uint32_t*)x, idx, (uint32_t*)out, outer, n, m, inner);
    case 8: return gather_rows((const uint64_t*)x, idx, (uint64_t*)out, outer, n, m, inner);
  }
  throw std::invalid_argument(std::string("gather: unsupported dtype ") + dtype_name(dtype));
}

void scatter(DType dtype, void* acc, const int64_t* idx, const void* src, int64_t outer, int64_t n,
             int64_t m, int64_t inner, bool add) {
  if (outer * m * inner == 0) return;
  const bool ok = add ? scatter_typed<true>(dtype, acc, idx, src, outer, n, m, inner)
                      : scatter_typed<false>(dtype, acc, idx, src, outer, n, m, inner);
  if (!ok)
    throw std::invalid_argument(std::string(add ? "scatter_add: " : "scatter: ") +
                                "unsupported dtype " + dtype_name(dtype));
}

}  // namespace dlcore::cpu
