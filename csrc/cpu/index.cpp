// index.cpp — gathering and scatter-adding rows along one dimension (CPU).
//
// Both ops see a contiguous tensor as [outer, n, inner] around the indexed dim and an index
// vector idx[0:m] with every value in [0, n) (the binding validated and wrapped negatives):
//
//   index_select:  out[o, j, :] = x[o, idx[j], :]          out is [outer, m, inner]
//   index_add:     acc[o, idx[j], :] += src[o, j, :]       acc is [outer, n, inner]
//
// index_select is advanced indexing (x[idx], x[:, mask]) and, later, the embedding lookup;
// index_add is its backward (repeated indices accumulate), i.e. the embedding gradient.
//
// index_select only moves bytes, so it is typed by element size, not dtype (bool, int64,
// float32/64 all work). Each output row is one contiguous run of `inner` elements.
// index_add must not race when idx repeats: the work is split over (o, destination-row range)
// units, and within a unit the j loop runs in order, so every element of acc is owned by
// exactly one thread and the sum is the same on every run and thread count.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

template <typename E>
void select_rows(const E* x, E* out, const int64_t* idx, int64_t outer, int64_t n, int64_t m,
                 int64_t inner) {
  // One work item per output row; small rows are batched by the grain so a 1-D gather of a
  // million scalars still splits across threads.
  const int64_t rows = outer * m;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / m, j = r - o * m;
      const E* s = x + (o * n + idx[j]) * inner;
      E* d = out + r * inner;
      if (inner == 1) *d = *s;
      else std::memcpy(d, s, sizeof(E) * inner);
    }
  });
}

template <typename T>
void add_rows(T* acc, const T* src, const int64_t* idx, int64_t outer, int64_t n, int64_t m,
              int64_t inner) {
  // Units = (o, a range of destination rows). A unit scans all m indices (8 bytes each, cheap
  // next to a row) and adds the source rows whose destination falls in its range, whole rows
  // at a time, in index order. Destination ranges are disjoint, so there are no races, and
  // every element receives its additions in index order whatever the thread count. One range
  // per thread (when outer alone does not occupy them): more ranges would each stream through
  // the source skipping most rows (measured 1.4x slower single-threaded with four).
  int64_t ranges = 1;
  const bool big = (double)m * inner * outer >= (double)kParallelGrain;
  if (big) {
#ifdef _OPENMP
    ranges = std::max<int64_t>(1, ((int64_t)omp_get_max_threads() + outer - 1) / outer);
#endif
    ranges = std::min(ranges, n);
  }
  const int64_t units = outer * ranges;
  parallel_for(units, big ? 1 : units, [&](int64_t u0, int64_t u1) {   // small: one thread
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / ranges, r = u - o * ranges;
      const int64_t lo = n * r / ranges, hi = n * (r + 1) / ranges;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t row = idx[j];
        if (row < lo || row >= hi) continue;
        T* __restrict d = acc + (o * n + row) * inner;
        const T* __restrict s = src + (o * m + j) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
      }
    }
  });
}

}  // namespace

void index_select(DType dtype, const void* x, void* out, const int64_t* idx, int64_t outer,
                  int64_t n, int64_t m, int64_t inner) {
  if (outer * m * inner == 0) return;
  switch (itemsize(dtype)) {
    case 1: select_rows((const uint8_t*)x, (uint8_t*)out, idx, outer, n, m, inner); return;
    case 4: select_rows((const uint32_t*)x, (uint32_t*)out, idx, outer, n, m, inner); return;
    case 8: select_rows((const uint64_t*)x, (uint64_t*)out, idx, outer, n, m, inner); return;
  }
  throw std::invalid_argument(std::string("index_select: unsupported dtype ") + dtype_name(dtype));
}

void index_add(DType dtype, void* acc, const void* src, const int64_t* idx, int64_t outer,
               int64_t n, int64_t m, int64_t inner) {
  if (outer * m * inner == 0) return;
  switch (dtype) {
    case DType::Float32: add_rows((float*)acc, (const float*)src, idx, outer, n, m, inner); return;
    case DType::Float64: add_rows((double*)acc, (const double*)src, idx, outer, n, m, inner); return;
    case DType::Int64: add_rows((int64_t*)acc, (const int64_t*)src, idx, outer, n, m, inner); return;
    default: break;
  }
  throw std::invalid_argument(std::string("index_add: unsupported dtype ") + dtype_name(dtype) +
                              " (expected float32, float64 or int64)");
}

}  // namespace dlcore::cpu
