// sort.cpp — sort, and top-k selection, along the last dim of a [rows, n] block (CPU).
//
// Every value is first mapped to an unsigned key whose integer order is torch's order of the
// values: for floats, flip all bits of negatives and the sign bit of positives (IEEE order
// becomes integer order), send every NaN to the largest key (torch sorts NaN above +inf) and
// -0.0 to the key of +0.0 (they compare equal, so they must stay in input order). Descending
// order is the complement of the key. From then on the work is on integers:
//
//   sort: rows of >= kRadixMin keys take an LSD radix sort (8-bit digits: 4 passes for
//         32-bit keys, 8 for 64-bit; a pass whose digit is the same for every key is skipped),
//         which is stable by construction; short rows sort (key, index) pairs, where the index
//         breaks ties, so they are stable too.
//   topk: the k smallest keys (complemented for largest=True). A small k keeps a sorted list
//         of the best k seen, and most elements are rejected by one compare with its last
//         entry; a large k runs nth_element on (key, index) pairs then sorts the first k.
//
// Values are read back from x at the chosen indices, so NaN payloads and -0.0 survive as they
// were. Rows run in parallel; one long row (a 1M-element sort) runs on one thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace {

constexpr int64_t kRadixMin = 256;   // below this a comparison sort of pairs is faster
// 8-bit digits: 256 write streams per pass. 11-bit digits (3 passes instead of 4) measured 3x
// slower on 1M floats: 2048 destinations per array thrash the L1 and the TLB on the scatter.
constexpr int kDigitBits = 8;
constexpr int kBuckets = 1 << kDigitBits;

// Branch-free, so a block of keys vectorises: flip negatives whole and positives' sign bit,
// then -0.0 takes +0.0's key and every NaN the largest key.
inline uint32_t key_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  uint32_t k = u ^ ((uint32_t)((int32_t)u >> 31) | 0x80000000u);
  k = u == 0x80000000u ? 0x80000000u : k;
  return (u & 0x7FFFFFFFu) > 0x7F800000u ? 0xFFFFFFFFu : k;
}
inline uint64_t key_of(double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  const uint64_t sign = uint64_t(1) << 63;
  uint64_t k = u ^ ((uint64_t)((int64_t)u >> 63) | sign);
  k = u == sign ? sign : k;
  return (u & ~sign) > 0x7FF0000000000000ull ? ~uint64_t(0) : k;
}
inline uint64_t key_of(int64_t v) { return (uint64_t)v ^ (uint64_t(1) << 63); }

template <typename T> struct KeyOf { using type = uint64_t; };
template <> struct KeyOf<float> { using type = uint32_t; };

// Stable LSD radix sort of keys[0:n] carrying idx; the result is left in keys / idx.
template <typename K>
void radix_sort(K* keys, uint32_t* idx, K* keys_tmp, uint32_t* idx_tmp, int64_t n) {
  constexpr int passes = (int)((sizeof(K) * 8 + kDigitBits - 1) / kDigitBits);
  std::vector<uint32_t> count(kBuckets);
  K* ks = keys; uint32_t* is = idx;
  K* kd = keys_tmp; uint32_t* id = idx_tmp;
  for (int p = 0; p < passes; ++p) {
    const int shift = p * kDigitBits;
    std::fill(count.begin(), count.end(), 0u);
    for (int64_t j = 0; j < n; ++j) ++count[(ks[j] >> shift) & (kBuckets - 1)];
    if (count[(ks[0] >> shift) & (kBuckets - 1)] == (uint32_t)n) continue;  // one digit: no-op
    uint32_t sum = 0;
    for (int b = 0; b < kBuckets; ++b) { const uint32_t c = count[b]; count[b] = sum; sum += c; }
    for (int64_t j = 0; j < n; ++j) {
      const uint32_t pos = count[(ks[j] >> shift) & (kBuckets - 1)]++;
      kd[pos] = ks[j];
      id[pos] = is[j];
    }
    std::swap(ks, kd);
    std::swap(is, id);
  }
  if (ks != keys) {
    std::memcpy(keys, ks, sizeof(K) * n);
    std::memcpy(idx, is, sizeof(uint32_t) * n);
  }
}

template <typename T>
void sort_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, bool descending) {
  using K = typename KeyOf<T>::type;
  const K flip = descending ? ~K(0) : K(0);
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t r0, int64_t r1) {
    std::vector<K> keys(n), keys_tmp;
    std::vector<uint32_t> idx(n), idx_tmp;
    std::vector<std::pair<K, uint32_t>> pairs;
    if (n >= kRadixMin) { keys_tmp.resize(n); idx_tmp.resize(n); }
    else pairs.resize(n);
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * n;
      if (n >= kRadixMin) {
        for (int64_t j = 0; j < n; ++j) { keys[j] = key_of(xr[j]) ^ flip; idx[j] = (uint32_t)j; }
        radix_sort(keys.data(), idx.data(), keys_tmp.data(), idx_tmp.data(), n);
      } else {
        for (int64_t j = 0; j < n; ++j) pairs[j] = {key_of(xr[j]) ^ flip, (uint32_t)j};
        std::sort(pairs.begin(), pairs.end());   // the index breaks ties: stable
        for (int64_t j = 0; j < n; ++j) idx[j] = pairs[j].second;
      }
      T* vr = values + r * n;
      int64_t* ir = indices + r * n;
      for (int64_t j = 0; j < n; ++j) { vr[j] = xr[idx[j]]; ir[j] = idx[j]; }
    }
  });
}

template <typename T>
void topk_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t k,
               bool largest) {
  using K = typename KeyOf<T>::type;
  using P = std::pair<K, uint32_t>;   // (key, index): the index breaks ties, first wins
  const K flip = largest ? ~K(0) : K(0);
  // A sorted list of the best k costs O(k) per accepted element; random data accepts about
  // k log(n/k) of them, so up to k ~ 64 it beats building and partitioning n pairs.
  const bool small_k = k <= 64 && k * 16 <= n;
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
               [&](int64_t r0, int64_t r1) {
    constexpr int64_t kBlock = 256;
    std::vector<P> best(small_k ? k : n);
    K block[kBlock];
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * n;
      if (k == 0) continue;
      if (small_k) {
        // Keys a block at a time (vectorised), then one compare per key against the k-th best
        // key so far. A later equal key never displaces an earlier one, so a strict compare on
        // the key alone keeps ties in index order.
        int64_t have = 0;
        for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
          const int64_t w = std::min<int64_t>(kBlock, n - j0);
          for (int64_t t = 0; t < w; ++t) block[t] = key_of(xr[j0 + t]) ^ flip;
          for (int64_t t = 0; t < w; ++t) {
            const K key = block[t];
            if (have == k && !(key < best[k - 1].first)) continue;
            int64_t pos = have < k ? have++ : k - 1;
            while (pos > 0 && key < best[pos - 1].first) { best[pos] = best[pos - 1]; --pos; }
            best[pos] = P{key, (uint32_t)(j0 + t)};
          }
        }
      } else {
        for (int64_t j = 0; j < n; ++j) best[j] = {key_of(xr[j]) ^ flip, (uint32_t)j};
        if (k < n) std::nth_element(best.begin(), best.begin() + (k - 1), best.end());
        std::sort(best.begin(), best.begin() + k);
      }
      T* vr = values + r * k;
      int64_t* ir = indices + r * k;
      for (int64_t j = 0; j < k; ++j) { ir[j] = best[j].second; vr[j] = xr[best[j].second]; }
    }
  });
}

}  // namespace

void sort(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          bool descending) {
  if (rows * n == 0) return;
  switch (dtype) {
    case DType::Float32: sort_rows((const float*)x, (float*)values, indices, rows, n, descending); return;
    case DType::Float64: sort_rows((const double*)x, (double*)values, indices, rows, n, descending); return;
    case DType::Int64: sort_rows((const int64_t*)x, (int64_t*)values, indices, rows, n, descending); return;
    default: break;
  }
  throw std::invalid_argument(std::string("sort: unsupported dtype ") + dtype_name(dtype));
}

void topk(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          int64_t k, bool largest) {
  if (rows * k == 0) return;
  switch (dtype) {
    case DType::Float32: topk_rows((const float*)x, (float*)values, indices, rows, n, k, largest); return;
    case DType::Float64: topk_rows((const double*)x, (double*)values, indices, rows, n, k, largest); return;
    case DType::Int64: topk_rows((const int64_t*)x, (int64_t*)values, indices, rows, n, k, largest); return;
    default: break;
  }
  throw std::invalid_argument(std::string("topk: unsupported dtype ") + dtype_name(dtype));
}

}  // namespace dlcore::cpu
