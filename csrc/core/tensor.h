// tensor.h — Tensor = shape + strides + offset + dtype + device + shared storage.
//
// Storage owns (or borrows, for zero-copy NumPy/DLPack) one allocation. CPU allocations are
// 64-byte aligned (one cache line, and the width of an AVX-512 vector); CUDA allocations come
// from the caching allocator in cuda_runtime. Views share the Storage through shared_ptr, so
// the memory lives as long as any view of it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dtype.h"
#include "loop.h"

namespace dlcore {

enum class DeviceType : int8_t { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;
};

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::function<void(void*)> deleter;   // empty: memory is not ours to free
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { if (deleter && data) deleter(data); }
};
using StoragePtr = std::shared_ptr<Storage>;

// Allocates nbytes on `device` (CPU: 64-byte aligned; CUDA: caching allocator).
StoragePtr allocate_storage(size_t nbytes, Device device);

struct Tensor {
  StoragePtr storage;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;    // in elements
  int64_t offset = 0;              // in elements
  DType dtype = DType::Float32;

  Device device() const { return storage->device; }
  int64_t dim() const { return (int64_t)sizes.size(); }
  int64_t numel() const;
  bool is_contiguous() const;
  size_t element_size() const { return itemsize(dtype); }
  void* data() const { return (char*)storage->data + offset * (int64_t)itemsize(dtype); }
};

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes);
Tensor empty(const std::vector<int64_t>& sizes, DType dtype, Device device);
// A view over the same storage; throws IndexError if any element would fall outside it.
Tensor as_strided(const Tensor& t, const std::vector<int64_t>& sizes,
                  const std::vector<int64_t>& strides, int64_t offset);

// NumPy broadcasting of two shapes; throws ShapeError naming `op` and both shapes.
std::vector<int64_t> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                      const char* op);
// Strides of `t` seen as `shape` (t's shape must broadcast to it): broadcast dims get stride 0.
std::vector<int64_t> broadcast_strides(const Tensor& t, const std::vector<int64_t>& shape,
                                       const char* op);

// Builds the collapsed loop for operands that all have logical shape `shape`; `strides[k]` are
// operand k's strides (already broadcast). Size-1 dims are dropped and mergeable dims merged.
Loop make_loop(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides);

}  // namespace dlcore
