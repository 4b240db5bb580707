// sort.cu — sort and top-k along the last dim of a [rows, n] block (CUDA). Mirror of
// csrc/cpu/sort.cpp: the same order-preserving unsigned keys (NaN largest, -0.0 == +0.0,
// complemented for descending / largest), and the same result: ties in input order.
//
// Each row is padded to a power of two P with (max key, index 0xFFFFFFFF) entries, which sort
// after every real element, and the (key, index) pairs go through a bitonic network in global
// memory: log2(P) (log2(P) + 1) / 2 compare-exchange passes over all rows at once. Because the
// index takes part in every comparison, equal keys come out in index order: the sort is stable.
// topk sorts the same way and keeps the first k of each row. A shared-memory network for short
// rows and a radix sort for long ones are the next steps; this path is simple and exact.
#include <cmath>
#include <cstring>

#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ uint32_t key_of(float v) {
  if (v != v) return 0xFFFFFFFFu;
  if (v == 0.0f) v = 0.0f;
  const uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ unsigned long long key_of(double v) {
  if (v != v) return ~0ull;
  if (v == 0.0) v = 0.0;
  const unsigned long long u = (unsigned long long)__double_as_longlong(v);
  return (u >> 63) ? ~u : (u | (1ull << 63));
}
__device__ __forceinline__ unsigned long long key_of(int64_t v) {
  return (unsigned long long)v ^ (1ull << 63);
}

template <typename T> struct KeyOf { using type = unsigned long long; };
template <> struct KeyOf<float> { using type = uint32_t; };

template <typename T, typename K>
__global__ void make_keys(const T* __restrict__ x, K* __restrict__ keys, uint32_t* __restrict__ idx,
                          int64_t rows, int64_t n, int64_t P, K flip) {
  const int64_t total = rows * P, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t r = t / P, j = t - r * P;
    if (j < n) {
      keys[t] = key_of(x[r * n + j]) ^ flip;
      idx[t] = (uint32_t)j;
    } else {
      keys[t] = ~K(0);
      idx[t] = 0xFFFFFFFFu;
    }
  }
}

// One compare-exchange pass of the bitonic network (stage k, distance j) over every row.
template <typename K>
__global__ void bitonic_pass(K* __restrict__ keys, uint32_t* __restrict__ idx, int64_t rows,
                             int64_t P, int64_t j, int64_t k) {
  const int64_t total = rows * P, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t r = t / P, i = t - r * P, l = i ^ j;
    if (l <= i) continue;
    const int64_t a = r * P + i, b = r * P + l;
    const bool ascending = (i & k) == 0;
    const K ka = keys[a], kb = keys[b];
    const uint32_t ia = idx[a], ib = idx[b];
    const bool a_after_b = ka > kb || (ka == kb && ia > ib);
    if (a_after_b == ascending) {
      keys[a] = kb; keys[b] = ka;
      idx[a] = ib; idx[b] = ia;
    }
  }
}

template <typename T>
__global__ void emit(const T* __restrict__ x, const uint32_t* __restrict__ idx, T* __restrict__ values,
                     int64_t* __restrict__ indices, int64_t rows, int64_t n, int64_t P, int64_t k) {
  const int64_t total = rows * k, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += step) {
    const int64_t r = t / k, j = t - r * k;
    const uint32_t s = idx[r * P + j];
    indices[t] = s;
    values[t] = x[r * n + s];
  }
}

template <typename T>
void sort_and_emit(const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
                   int64_t k, bool descending, cudaStream_t s) {
  using K = typename KeyOf<T>::type;
  int64_t P = 1;
  while (P < n) P <<= 1;
  Scratch keys(sizeof(K) * rows * P), idx(sizeof(uint32_t) * rows * P);
  K* kp = (K*)keys.ptr;
  uint32_t* ip = (uint32_t*)idx.ptr;
  const unsigned grid = grid_for(rows * P, kThreads);
  make_keys<T, K><<<grid, kThreads, 0, s>>>((const T*)x, kp, ip, rows, n, P,
                                             descending ? ~K(0) : K(0));
  DLCORE_LAUNCH_CHECK("sort make_keys");
  for (int64_t kk = 2; kk <= P; kk <<= 1)
    for (int64_t j = kk >> 1; j > 0; j >>= 1) {
      bitonic_pass<K><<<grid, kThreads, 0, s>>>(kp, ip, rows, P, j, kk);
      DLCORE_LAUNCH_CHECK("sort bitonic_pass");
    }
  emit<T><<<grid_for(rows * k, kThreads), kThreads, 0, s>>>((const T*)x, ip, (T*)values, indices,
                                                            rows, n, P, k);
  DLCORE_LAUNCH_CHECK("sort emit");
}

void dispatch(const char* op, DType dtype, const void* x, void* values, int64_t* indices,
              int64_t rows, int64_t n, int64_t k, bool descending, void* stream) {
  const cudaStream_t s = as_stream(stream);
  switch (dtype) {
    case DType::Float32: sort_and_emit<float>(x, values, indices, rows, n, k, descending, s); return;
    case DType::Float64: sort_and_emit<double>(x, values, indices, rows, n, k, descending, s); return;
    case DType::Int64: sort_and_emit<int64_t>(x, values, indices, rows, n, k, descending, s); return;
    default: break;
  }
  throw std::runtime_error(std::string(op) + ": unsupported dtype " + dtype_name(dtype));
}

}  // namespace

void sort(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          bool descending, void* stream) {
  if (rows * n == 0) return;
  dispatch("sort", dtype, x, values, indices, rows, n, n, descending, stream);
}

void topk(DType dtype, const void* x, void* values, int64_t* indices, int64_t rows, int64_t n,
          int64_t k, bool largest, void* stream) {
  if (rows * k == 0) return;
  dispatch("topk", dtype, x, values, indices, rows, n, k, largest, stream);
}

}  // namespace dlcore::cuda
