// cuda_runtime.cu — dlcore's thin layer over the CUDA runtime: devices, streams, copies and
// the caching allocator (the CUDA build; cuda_runtime_none.cpp is the build without CUDA).
//
// Every CUDA error becomes a std::runtime_error naming the operation and the CUDA message;
// the bindings turn that into a Python RuntimeError. The one exception is device_count(),
// which must answer 0 on a machine without a driver or a GPU so that `import dlcore` works.
//
// The caching allocator. cudaMalloc/cudaFree are slow (cudaFree also synchronizes the whole
// device), so a training step that allocated its activations with them would stall on every
// op. Instead, a freed block goes back into a per-device free list and the next request of a
// similar size reuses it. Sizes are rounded so that similar requests share blocks:
//   * small requests (<= 1 MiB) round up to a multiple of 512 B,
//   * large requests round up to a multiple of 2 MiB.
// A free block is reused for a request when it is at least the rounded size and not more than
// twice it (so a 1 GiB block is not burnt on a 2 MiB tensor). Blocks are tagged with the
// stream that was current when they were allocated and are only handed out again on that
// stream: work queued on one stream is ordered, so the next user on that stream can never
// overtake the previous user's pending kernels. When cudaMalloc runs out of memory, the
// cache is returned to the driver and the allocation is tried once more.
#include "cuda_runtime.h"
#include "errors.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#ifndef DLCORE_CUDA_ARCHS
#define DLCORE_CUDA_ARCHS ""
#endif

namespace dlcore::cudart {
namespace {

constexpr int kMaxDevices = 64;
constexpr size_t kSmallLimit = size_t(1) << 20;   // <= 1 MiB: 512-byte granularity
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;   // 2 MiB granularity above that

[[noreturn]] void fail(const char* op, cudaError_t err) {
  cudaGetLastError();  // clear the (non-sticky) error so the next launch check does not see it
  throw std::runtime_error(std::string("CUDA error in ") + op + ": " + cudaGetErrorString(err));
}

void check(cudaError_t err, const char* op) {
  if (err != cudaSuccess) fail(op, err);
}

void check_device(int device, const char* op) {
  int n = device_count();
  if (n == 0)
    throw std::runtime_error(std::string(op) + ": no CUDA device is available");
  if (device < 0 || device >= n)
    throw std::runtime_error(std::string(op) + ": invalid CUDA device " + std::to_string(device) +
                             " (this machine has " + std::to_string(n) + ")");
}

// Makes `device` current for the lifetime of the guard, then restores the previous one.
struct DeviceGuard {
  int prev = -1;
  explicit DeviceGuard(int device, const char* op) {
    check(cudaGetDevice(&prev), op);
    if (prev != device) check(cudaSetDevice(device), op);
  }
  ~DeviceGuard() {
    int now = -1;
    if (cudaGetDevice(&now) == cudaSuccess && now != prev) cudaSetDevice(prev);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
};

size_t round_size(size_t n) {
  if (n <= kSmallLimit) return (n + kSmallRound - 1) / kSmallRound * kSmallRound;
  return (n + kLargeRound - 1) / kLargeRound * kLargeRound;
}

// ---- current streams: one per device, global to the process (nullptr = legacy stream) ----
std::atomic<void*> g_streams[kMaxDevices];

// ---- the caching allocator ----------------------------------------------------------------
struct Block {
  size_t size;
  void* stream;
};

// A free block, ordered by (stream, size, address) so lower_bound finds the smallest fit.
using FreeKey = std::tuple<void*, size_t, void*>;

struct DevicePool {
  std::unordered_map<void*, Block> live;   // handed out
  std::unordered_map<void*, Block> cached; // free, waiting for reuse
  std::set<FreeKey> free_list;
  size_t allocated = 0;  // bytes of live blocks (rounded sizes)
  size_t reserved = 0;   // bytes obtained from cudaMalloc (live + cached)
};

struct Allocator {
  std::mutex mu;
  DevicePool pools[kMaxDevices];

  // Returns every cached block of `device` to the driver. Caller holds mu.
  void release_cached(int device) {
    DevicePool& p = pools[device];
    if (p.cached.empty()) return;
    DeviceGuard g(device, "empty_cache");
    for (auto& kv : p.cached) {
      cudaError_t err = cudaFree(kv.first);
      if (err != cudaSuccess) fail("cudaFree", err);
      p.reserved -= kv.second.size;
    }
    p.cached.clear();
    p.free_list.clear();
  }
};

// Never destroyed: tensors may be freed during interpreter shutdown, after static
// destructors have run, and the driver may already be gone then.
Allocator& allocator() {
  static Allocator* a = new Allocator();
  return *a;
}

}  // namespace

bool compiled_with_cuda() { return true; }

std::string compiled_architectures() { return DLCORE_CUDA_ARCHS; }

int device_count() {
  // Cached after the first successful query: the set of devices cannot change in a process.
  static std::atomic<int> cached{-1};
  int n = cached.load();
  if (n >= 0) return n;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // no driver, insufficient driver, no device: all mean "no CUDA here"
    count = 0;
  }
  if (count > kMaxDevices) count = kMaxDevices;
  cached.store(count);
  return count;
}

int current_device() {
  if (device_count() == 0) throw std::runtime_error("current_device: no CUDA device is available");
  int d = 0;
  check(cudaGetDevice(&d), "cudaGetDevice");
  return d;
}

void set_device(int device) {
  check_device(device, "set_device");
  check(cudaSetDevice(device), "cudaSetDevice");
}

void synchronize(int device) {
  check_device(device, "synchronize");
  DeviceGuard g(device, "synchronize");
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

std::string device_name(int device) {
  check_device(device, "device_name");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return std::string(prop.name);
}

void* current_stream(int device) {
  check_device(device, "current_stream");
  return g_streams[device].load(std::memory_order_relaxed);
}

void set_current_stream(int device, void* stream) {
  check_device(device, "set_current_stream");
  g_streams[device].store(stream, std::memory_order_relaxed);
}

void* raw_alloc(int device, size_t nbytes) {
  check_device(device, "raw_alloc");
  if (nbytes == 0) return nullptr;
  const size_t size = round_size(nbytes);
  void* stream = g_streams[device].load(std::memory_order_relaxed);

  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  DevicePool& p = a.pools[device];

  // 1. Smallest cached block on this stream that fits and wastes at most half of itself.
  auto it = p.free_list.lower_bound(FreeKey(stream, size, nullptr));
  if (it != p.free_list.end() && std::get<0>(*it) == stream && std::get<1>(*it) <= 2 * size) {
    void* ptr = std::get<2>(*it);
    Block b = p.cached.at(ptr);
    p.free_list.erase(it);
    p.cached.erase(ptr);
    p.live.emplace(ptr, b);
    p.allocated += b.size;
    return ptr;
  }

  // 2. A fresh block from the driver; on out-of-memory give the cache back and retry once.
  DeviceGuard g(device, "raw_alloc");
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    for (int d = 0; d < kMaxDevices; ++d) a.release_cached(d);
    err = cudaMalloc(&ptr, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    std::string msg = "CUDA out of memory or allocation failure: tried to allocate " +
                      std::to_string(nbytes) + " bytes on device " + std::to_string(device) +
                      " (" + std::to_string(p.allocated) + " bytes allocated, " +
                      std::to_string(p.reserved) + " reserved): " + cudaGetErrorString(err);
    if (err == cudaErrorMemoryAllocation) throw OutOfMemory(msg);   // -> Python MemoryError
    throw std::runtime_error(msg);
  }
  p.live.emplace(ptr, Block{size, stream});
  p.allocated += size;
  p.reserved += size;
  return ptr;
}

void raw_free(int device, void* ptr) {
  if (ptr == nullptr) return;
  if (device < 0 || device >= kMaxDevices)
    throw std::runtime_error("raw_free: invalid CUDA device " + std::to_string(device));
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  DevicePool& p = a.pools[device];
  auto it = p.live.find(ptr);
  if (it == p.live.end())
    throw std::runtime_error("raw_free: pointer was not allocated by dlcore on device " +
                             std::to_string(device));
  Block b = it->second;
  p.live.erase(it);
  p.allocated -= b.size;
  p.cached.emplace(ptr, b);
  p.free_list.insert(FreeKey(b.stream, b.size, ptr));
}

void empty_cache() {
  int n = device_count();
  if (n == 0) return;
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  for (int d = 0; d < n; ++d) a.release_cached(d);
}

size_t memory_allocated(int device) {
  check_device(device, "memory_allocated");
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.pools[device].allocated;
}

size_t memory_reserved(int device) {
  check_device(device, "memory_reserved");
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.pools[device].reserved;
}

void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device) {
  check_device(device, "memcpy");
  if (nbytes == 0) return;
  if (dst == nullptr || src == nullptr) throw std::runtime_error("memcpy: null pointer");
  DeviceGuard g(device, "memcpy");
  cudaStream_t stream = static_cast<cudaStream_t>(g_streams[device].load(std::memory_order_relaxed));
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  check(cudaMemcpyAsync(dst, src, nbytes, k, stream), "cudaMemcpyAsync");
  // Host memory may be pageable and is owned by the caller, who may reuse or read it as soon
  // as we return: copies that touch it must be complete before returning.
  if (kind != CopyKind::DeviceToDevice) check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

}  // namespace dlcore::cudart
