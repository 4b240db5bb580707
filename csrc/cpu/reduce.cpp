// reduce.cpp — reductions over the middle axis of a contiguous [outer, red, inner] block.
//
// Any reduction over a set of adjacent dims of a contiguous tensor is this shape (the
// bindings merge the reduced dims into `red`, the dims before into `outer`, after into
// `inner`). Two loop orders:
//   inner == 1  each output reduces one contiguous row;
//   inner  > 1  each output row of `inner` values is updated red times by streaming whole
//               input rows — unit-stride reads, vectorized adds, no strided gathers.
// Sums are cascaded (see `Cascade`): the rounding error grows like log(red), not red, as in
// NumPy's pairwise sum and the CUDA tree, and the result does not depend on the thread count.
// Arg-reductions track (value, first index); NaN counts as the extreme, like PyTorch.
#include <algorithm>
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

// ---- cascaded summation -----------------------------------------------------------------
// One running float accumulator over n values has a rounding error that grows like n (a
// float32 sum of 10^6 values loses ~3 digits). Here kSumBlock values are summed into 32
// independent lanes (lane j takes values j, j + 32, ...: 32 additions each), and block sums
// are merged like a binary counter: level[k] holds the sum of 2^k consecutive blocks, so each
// addition joins two sums of equal size — a balanced tree with O(log n) error, no extra
// memory traffic. Why 32 lanes: a lane is a chain of dependent adds; with 8 (one AVX vector)
// the adder's latency, not the loads, set the speed (~20 GB/s on one Zen 4 core from L1,
// slower than one core's share of DRAM); 32 lanes are four independent vector chains.
constexpr int64_t kSumBlock = 1024;
constexpr int kSumLanes = 32;
constexpr int kSuperLevel = 5;                                // a super-block is 2^5 blocks:
constexpr int64_t kSuperBlock = kSumBlock << kSuperLevel;     // 32768 values, the unit of work
                                                              // split over threads
// The block's lanes combined: s[k] = (l[k] + l[k+8]) + (l[k+16] + l[k+24]) for k < 8 (whole
// vectors added), then ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).
template <typename T>
T combine_lanes(const T* l) {
  T s[8];
  for (int k = 0; k < 8; ++k) s[k] = (l[k] + l[k + 8]) + (l[k + 16] + l[k + 24]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// The block's sum, its lanes held as kVecBytes-wide vectors (GCC/Clang vector extension):
// 16 bytes (8 SSE registers for float) in the baseline build, 32 in the AVX2 variant below.
// Wider vectors do not change which value goes to which lane, so both give the same bits.
// (32-byte vectors in baseline code are lowered through the stack: 2x slower than a scalar
// loop; and a plain `lanes[j] += p[i + j]` loop is not reliably vectorized into independent
// chains.)
template <typename T, int kVecBytes>
__attribute__((always_inline)) inline T block_sum_lanes(const T* p, int64_t n) {
  T lanes[kSumLanes] = {};
  int64_t i = 0;
#if defined(__GNUC__)
  typedef T Vec __attribute__((vector_size(kVecBytes)));
  constexpr int kPerVec = kVecBytes / sizeof(T), kVecs = kSumLanes / kPerVec;
  Vec acc[kVecs] = {};
  for (; i + kSumLanes <= n; i += kSumLanes) {
#pragma GCC unroll 16
    for (int v = 0; v < kVecs; ++v) {
      Vec x;
      std::memcpy(&x, p + i + v * kPerVec, sizeof x);
      acc[v] += x;
    }
  }
  std::memcpy(lanes, acc, sizeof acc);
#else
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int j = 0; j < kSumLanes; ++j) lanes[j] += p[i + j];
#endif
  for (int j = 0; i + j < n; ++j) lanes[j] += p[i + j];   // the last n % 32 values, one per lane
  return combine_lanes(lanes);
}

template <typename T>
T block_sum(const T* p, int64_t n) { return block_sum_lanes<T, 16>(p, n); }

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
// Half the load and add instructions: with both threads of a 2-vCPU VM on one physical core
// (some of its phases), the SSE loop became instruction-bound and a 16M-float sum ran at
// 35 GB/s against torch's 40. Called only when the CPU has AVX2 (use_avx2_kernels()).
template <typename T>
__attribute__((target("avx2"))) T block_sum_avx2(const T* p, int64_t n) {
  return block_sum_lanes<T, 32>(p, n);
}
#endif
template <typename T>
using BlockSum = T (*)(const T*, int64_t);
template <typename T>
BlockSum<T> pick_block_sum() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (use_avx2_kernels()) return block_sum_avx2<T>;
#endif
  return block_sum<T>;
}

template <typename T>
struct Cascade {
  T level[64];
  uint64_t used = 0;   // bit k: level[k] holds a partial sum
  // Adds the sum of 2^k0 blocks (levels below k0 must be empty: true at super-block edges).
  void push(T s, int k0 = 0) {
    int k = k0;
    for (; (used >> k) & 1; ++k) s = level[k] + s;
    used = (used & ~((uint64_t(2) << k) - 1)) | (uint64_t(1) << k);
    level[k] = s;
  }
  T total() const {
    T t = 0;
    for (int k = 0; k < 64; ++k)
      if ((used >> k) & 1) t = t + level[k];
    return t;
  }
};

// Sum of one contiguous row. Whole super-blocks are summed independently (in parallel when
// the row is long and there are few rows) and pushed at their level, then the tail block by
// block: the same tree, hence the same bits, on any number of threads.
template <typename T>
T row_sum(const T* row, int64_t n, bool may_split, BlockSum<T> block_sum) {
  auto super_sum = [&](int64_t s) {
    Cascade<T> c;
    for (int64_t b = 0; b < kSuperBlock; b += kSumBlock) c.push(block_sum(row + s * kSuperBlock + b, kSumBlock));
    return c.total();
  };
  const int64_t nsup = n / kSuperBlock;
  Cascade<T> c;
  if (may_split && nsup >= 2) {
    std::vector<T> part(nsup);
    parallel_for(nsup, 1, [&](int64_t b, int64_t e) {
      for (int64_t s = b; s < e; ++s) part[s] = super_sum(s);
    });
    for (int64_t s = 0; s < nsup; ++s) c.push(part[s], kSuperLevel);
  } else {
    for (int64_t s = 0; s < nsup; ++s) c.push(super_sum(s), kSuperLevel);
  }
  for (int64_t b = nsup * kSuperBlock; b < n; b += kSumBlock)
    c.push(block_sum(row + b, std::min(kSumBlock, n - b)));
  return c.total();
}

template <typename T>
void reduce_rows(ReduceOp op, const T* in, void* out, int64_t outer, int64_t red) {
  const BlockSum<T> block_sum = pick_block_sum<T>();
  parallel_for(outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red, 1)),
               [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* row = in + o * red;
      switch (op) {
        case ReduceOp::Sum:
          // Few long rows: split each row's super-blocks over the threads instead.
          ((T*)out)[o] = row_sum(row, red, outer < 4 && outer == e - b, block_sum);
          break;
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

// ---- column sums: the same cascade on vectors of columns ---------------------------------
// kColBlock rows are summed into a vector of n <= kColChunk columns, and those block vectors
// are merged through levels of 2^k blocks. Super-blocks of 2^level blocks (at most
// 2^kColSuperLevel: 2048 rows) are the unit that may run on another thread: streaming whole
// rows keeps the reads contiguous (splitting the columns instead would read a few hundred bytes per 4 KB row,
// a new page each time, and measured 2x slower than one thread).
constexpr int64_t kColChunk = 1024, kColBlock = 32;
constexpr int kColSuperLevel = 6;

// The cascade's levels and the block vector live in one scratch buffer per thread, reused
// from call to call: a 1600 x 64 column sum made ~30 heap allocations (levels grown one at a
// time, per super-block), ~1 us of a ~5 us call.
// Slot 0 holds the calling thread's top cascade (and the super-block parts), slot 1 the
// cascade of whichever super-block a thread is summing: distinct, so the caller's own
// super-blocks never resize the buffer its top cascade lives in.
template <typename T, int kSlot>
T* col_scratch(int64_t floats) {
  thread_local std::vector<T> buf;
  if ((int64_t)buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// Level k at [k*n, (k+1)*n) of `levels` (caller's memory, room for cascade_levels() levels).
template <typename T>
struct ColCascade {
  int64_t n;
  T* levels;
  uint64_t used = 0;
  ColCascade(int64_t n_, T* storage) : n(n_), levels(storage) {}
  void push(T* v, int k0) {   // v (n values) is used as scratch
    int k = k0;
    for (; (used >> k) & 1; ++k) {
      const T* lk = levels + k * n;
      for (int64_t i = 0; i < n; ++i) v[i] = lk[i] + v[i];
    }
    std::copy(v, v + n, levels + k * n);
    used = (used & ~((uint64_t(2) << k) - 1)) | (uint64_t(1) << k);
  }
  void total(T* dst) const {
    for (int64_t i = 0; i < n; ++i) dst[i] = T(0);
    for (int k = 0; (used >> k) != 0; ++k)
      if ((used >> k) & 1)
        for (int64_t i = 0; i < n; ++i) dst[i] = dst[i] + levels[k * n + i];
  }
};

// Levels a cascade of `blocks` pushes at level 0 can fill: floor(log2(blocks)) + 1.
inline int cascade_levels(int64_t blocks) {
  int l = 1;
  while ((int64_t(1) << l) <= blocks) ++l;
  return l;
}

// part = sum of rows [r0, r1) (row stride `inner`), n columns, in row order. Strips of 8
// vectors of columns stay in registers for all the block's rows (one load and one add per
// vector and row; a plain `part[i] += src[r][i]` loop also loads and stores part for every
// row). Each column's additions are the same in either form, so are the bits.
template <typename T, int kVecBytes>
__attribute__((always_inline)) inline void block_rows_lanes(const T* src, int64_t inner, int64_t r0,
                                                            int64_t r1, int64_t n, T* part) {
  int64_t i = 0;
#if defined(__GNUC__)
  typedef T Vec __attribute__((vector_size(kVecBytes)));
  constexpr int P = kVecBytes / sizeof(T), S = 8;
  for (; i + S * P <= n; i += S * P) {
    Vec acc[S];
    const T* row = src + r0 * inner + i;
#pragma GCC unroll 8
    for (int v = 0; v < S; ++v) std::memcpy(&acc[v], row + v * P, sizeof(Vec));
    for (int64_t r = r0 + 1; r < r1; ++r) {
      row += inner;
#pragma GCC unroll 8
      for (int v = 0; v < S; ++v) {
        Vec x;
        std::memcpy(&x, row + v * P, sizeof x);
        acc[v] += x;
      }
    }
#pragma GCC unroll 8
    for (int v = 0; v < S; ++v) std::memcpy(part + i + v * P, &acc[v], sizeof(Vec));
  }
#endif
  if (i == n) return;
  for (int64_t j = i; j < n; ++j) part[j] = src[r0 * inner + j];
  for (int64_t r = r0 + 1; r < r1; ++r)
    for (int64_t j = i; j < n; ++j) part[j] += src[r * inner + j];
}

template <typename T>
void block_rows(const T* src, int64_t inner, int64_t r0, int64_t r1, int64_t n, T* part) {
  block_rows_lanes<T, 16>(src, inner, r0, r1, n, part);
}
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
template <typename T>
__attribute__((target("avx2"))) void block_rows_avx2(const T* src, int64_t inner, int64_t r0,
                                                    int64_t r1, int64_t n, T* part) {
  block_rows_lanes<T, 32>(src, inner, r0, r1, n, part);
}
#endif
template <typename T>
using BlockRows = void (*)(const T*, int64_t, int64_t, int64_t, int64_t, T*);
template <typename T>
BlockRows<T> pick_block_rows() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (use_avx2_kernels()) return block_rows_avx2<T>;
#endif
  return block_rows<T>;
}

// dst[0:n] = column sums of rows [0, red). Same tree, hence same bits, split or not.
template <typename T>
void col_sum(const T* src, int64_t inner, int64_t red, int64_t n, T* dst, bool may_split) {
  const BlockRows<T> block_rows = pick_block_rows<T>();
  // A super-block of 2^level blocks pushed at its level is the subtree the blocks pushed one
  // by one would build (the levels below are empty at its start), so any level gives the
  // same bits. Splitting over threads takes a level low enough for two super-blocks per
  // thread (1600 rows: 6 of 256 rows) but not below ~16K values each.
  int level = kColSuperLevel;
  const int nt = may_split ? thread_count_for(red * n) : 1;
  while (nt > 1 && level > 0 && red / (kColBlock << level) < 2 * nt &&
         (kColBlock << (level - 1)) * n >= kParallelGrain / 2)
    --level;
  const int64_t super_rows = kColBlock << level;
  // A super-block's cascade: levels 0..level, then its block vector, in the running
  // thread's slot-1 scratch.
  const int sup_levels = level + 1, top_levels = cascade_levels((red + kColBlock - 1) / kColBlock);
  const int64_t top_floats = (top_levels + 1) * n, sup_floats = (sup_levels + 1) * n;
  auto super_sum = [&](int64_t s, T* res, T* scratch) {
    ColCascade<T> c(n, scratch);
    T* part = scratch + sup_levels * n;
    for (int64_t r0 = s * super_rows; r0 < (s + 1) * super_rows; r0 += kColBlock) {
      block_rows(src, inner, r0, r0 + kColBlock, n, part);
      c.push(part, 0);
    }
    c.total(res);
  };
  const int64_t nsup = red / super_rows;
  const bool split = nt > 1 && nsup >= 2;
  T* mine = col_scratch<T, 0>(top_floats + (split ? nsup * n : 0));
  ColCascade<T> c(n, mine);
  T* part = mine + top_levels * n;
  if (split) {
    T* parts = mine + top_floats;
    parallel_for(nsup, 1, [&](int64_t b, int64_t e) {
      T* scratch = col_scratch<T, 1>(sup_floats);
      for (int64_t s2 = b; s2 < e; ++s2) super_sum(s2, parts + s2 * n, scratch);
    });
    for (int64_t s2 = 0; s2 < nsup; ++s2) c.push(parts + s2 * n, level);
  } else {
    for (int64_t s2 = 0; s2 < nsup; ++s2) {
      super_sum(s2, part, col_scratch<T, 1>(sup_floats));
      c.push(part, level);
    }
  }
  for (int64_t r0 = nsup * super_rows; r0 < red; r0 += kColBlock) {
    block_rows(src, inner, r0, std::min(red, r0 + kColBlock), n, part);
    c.push(part, 0);
  }
  c.total(dst);
}

template <typename T>
void reduce_cols(ReduceOp op, const T* in, void* out, int64_t outer, int64_t red, int64_t inner) {
  // Units of (outer, chunk of up to 1024 columns) go to the threads; when there are fewer
  // units than threads, a column sum splits its rows instead (col_sum).
  const int64_t chunk = kColChunk;
  const int64_t nchunks = (inner + chunk - 1) / chunk;
  const int64_t units = outer * nchunks;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(red * std::min(chunk, inner), 1));
  const bool split_rows = op == ReduceOp::Sum && thread_count_for(units, grain) < thread_count_for(units * red * std::min(chunk, inner));
  parallel_for(units, split_rows ? units : grain, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx;
    for (int64_t w = b; w < e; ++w) {
      const int64_t o = w / nchunks, i0 = (w % nchunks) * chunk;
      const int64_t n = std::min(chunk, inner - i0);
      const T* src = in + o * red * inner + i0;
      T* dst = (T*)out + o * inner + i0;
      if (op == ReduceOp::Prod) {
        for (int64_t i = 0; i < n; ++i) dst[i] = T(1);
        for (int64_t r = 0; r < red; ++r)
          for (int64_t i = 0; i < n; ++i) dst[i] *= src[r * inner + i];
        continue;
      }
      if (op == ReduceOp::Sum) {
        col_sum(src, inner, red, n, dst, split_rows);
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
