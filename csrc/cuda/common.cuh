// common.cuh — helpers shared by the CUDA kernel files: error checks, launch sizing, the
// strided-offset calculator and the dtype dispatch.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../core/cuda_runtime.h"
#include "../core/dtype.h"
#include "../core/loop.h"

namespace dlcore::cuda {

// ---- errors ------------------------------------------------------------------------------
// Every CUDA error becomes a std::runtime_error (Python RuntimeError) naming what failed.
[[noreturn]] inline void throw_cuda_error(const char* what, cudaError_t err) {
  cudaGetLastError();  // clear non-sticky errors so they are reported once
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}

#define DLCORE_CUDA_CHECK(expr)                                          \
  do {                                                                   \
    cudaError_t dlcore_err_ = (expr);                                    \
    if (dlcore_err_ != cudaSuccess) ::dlcore::cuda::throw_cuda_error(#expr, dlcore_err_); \
  } while (0)

// After every launch: a bad configuration (too many threads, too much shared memory) is only
// reported by cudaGetLastError, never by the launch statement itself.
inline void check_launch(const char* kernel_name) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw_cuda_error((std::string("launch of ") + kernel_name).c_str(), err);
}
#define DLCORE_LAUNCH_CHECK(kernel_name) ::dlcore::cuda::check_launch(kernel_name)

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// ---- device properties (cached per device: the queries are not free) -----------------------
inline int current_device_id() {
  int d = 0;
  DLCORE_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

inline int sm_count() {
  static std::atomic<int> cache[64];
  int d = current_device_id();
  if (d < 0 || d >= 64) d = 0;
  int v = cache[d].load(std::memory_order_relaxed);
  if (v > 0) return v;
  DLCORE_CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, d));
  if (v <= 0) v = 1;
  cache[d].store(v, std::memory_order_relaxed);
  return v;
}

inline int compute_major() {
  static std::atomic<int> cache[64];
  int d = current_device_id();
  if (d < 0 || d >= 64) d = 0;
  int v = cache[d].load(std::memory_order_relaxed);
  if (v > 0) return v;
  DLCORE_CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrComputeCapabilityMajor, d));
  cache[d].store(v, std::memory_order_relaxed);
  return v;
}

// ---- scratch memory ------------------------------------------------------------------------
// Device memory from the caching allocator for the life of a scope (at least 8 bytes, so never
// null). A freed block is handed out again on the same stream only, so kernels still queued on
// it when the scope ends are safe.
struct Scratch {
  int device;
  void* ptr;
  explicit Scratch(size_t bytes) : device(current_device_id()), ptr(cudart::raw_alloc(device, bytes ? bytes : 8)) {}
  ~Scratch() {
    try { cudart::raw_free(device, ptr); } catch (...) {}
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr); }
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs `launch(grid_z, batch_base)` over a batch in chunks of at most 65535 (gridDim.z).
template <typename F>
void over_batches(int64_t batch, F launch) {
  for (int64_t b0 = 0; b0 < batch; b0 += 65535) launch((unsigned)std::min<int64_t>(65535, batch - b0), b0);
}

// Whether work queued on `s` now goes into a graph being captured (then nothing may
// synchronize or call cudaMalloc, which the caching allocator may do). A failed query counts
// as capturing, its error cleared.
inline bool stream_capturing(cudaStream_t s) {
  cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &cs) != cudaSuccess) {
    cudaGetLastError();
    return true;
  }
  return cs != cudaStreamCaptureStatusNone;
}

// ---- launch sizing -----------------------------------------------------------------------
// Grid-stride loops: enough blocks to fill every SM several times over (so a wave of long
// blocks does not leave SMs idle at the tail), but never more blocks than there is work.
inline unsigned grid_for(int64_t work_items, int threads_per_block) {
  int64_t blocks = (work_items + threads_per_block - 1) / threads_per_block;
  int64_t cap = (int64_t)sm_count() * 16;
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return (unsigned)blocks;
}

// ---- strided offsets ---------------------------------------------------------------------
// Turns a linear element index into one element offset per operand, walking the Loop's dims
// from the innermost (ndim-1) outwards. The Loop (about 500 bytes) travels by value in the
// kernel parameters (constant bank), so every thread reads it without touching global memory.
// IndexT is uint32_t when numel < 2^31: 32-bit division is several times cheaper than 64-bit.
template <int NOPS, typename IndexT>
__device__ __forceinline__ void loop_offsets(const Loop& loop, IndexT linear, int64_t (&off)[NOPS]) {
#pragma unroll
  for (int k = 0; k < NOPS; ++k) off[k] = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d < loop.ndim) {
      IndexT size = (IndexT)loop.sizes[d];
      IndexT q = linear / size;
      int64_t i = (int64_t)(linear - q * size);
      linear = q;
#pragma unroll
      for (int k = 0; k < NOPS; ++k) off[k] += i * loop.strides[k][d];
    }
  }
}

// ---- numeric helpers ---------------------------------------------------------------------
template <typename T>
__host__ __device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point<T>::value) return x != x;
  else return false;
}

// 16-byte-friendly vector of N elements: one aligned load/store moves all of them.
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

}  // namespace dlcore::cuda

// ---- dtype dispatch ------------------------------------------------------------------------
// DLCORE_DISPATCH(dtype, T, body): runs `body` with `T` bound to the C++ element type. Bool is
// one byte holding 0 or 1 (`bool`).
#define DLCORE_DISPATCH_CASE(enumval, type, T, ...) \
  case ::dlcore::DType::enumval: {                  \
    using T = type;                                 \
    __VA_ARGS__;                                    \
    break;                                          \
  }

#define DLCORE_DISPATCH(dtype, T, ...)                                                        \
  do {                                                                                         \
    switch (dtype) {                                                                           \
      DLCORE_DISPATCH_CASE(Float32, float, T, __VA_ARGS__)                                     \
      DLCORE_DISPATCH_CASE(Float64, double, T, __VA_ARGS__)                                    \
      DLCORE_DISPATCH_CASE(Int64, int64_t, T, __VA_ARGS__)                                     \
      DLCORE_DISPATCH_CASE(Bool, bool, T, __VA_ARGS__)                                         \
      default: throw std::runtime_error("dlcore cuda: unknown dtype");                         \
    }                                                                                          \
  } while (0)

#define DLCORE_DISPATCH_FLOAT(dtype, T, name, ...)                                            \
  do {                                                                                         \
    switch (dtype) {                                                                           \
      DLCORE_DISPATCH_CASE(Float32, float, T, __VA_ARGS__)                                     \
      DLCORE_DISPATCH_CASE(Float64, double, T, __VA_ARGS__)                                    \
      default:                                                                                 \
        throw std::runtime_error(std::string(name) + ": dtype " + ::dlcore::dtype_name(dtype) + \
                                 " is not supported (float32 or float64 expected)");          \
    }                                                                                          \
  } while (0)
