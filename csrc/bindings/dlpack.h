// dlpack.h — the DLPack ABI (https://dmlc.github.io/dlpack/latest/c_api.html), the structs
// written out from the specification, plus dlcore's exporter/importer.
#pragma once
#include <cstdint>

#include "common.h"

extern "C" {
typedef struct { int32_t device_type; int32_t device_id; } DLDevice;   // kDLCPU=1, kDLCUDA=2
typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;  // Int=0 UInt=1 Float=2 Bool=6
typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;   // in elements; NULL means compact row-major
  uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;
// DLPack >= 1.0: versioned, with flags (bit 0: read-only, bit 1: is a copy).
typedef struct { uint32_t major; uint32_t minor; } DLPackVersion;
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;
}

namespace dlcore {
// Returns a "dltensor" PyCapsule that keeps the tensor's storage alive until the consumer
// calls the deleter (or the capsule dies unconsumed).
// versioned: a "dltensor_versioned" capsule (DLPack 1.0, writable) instead of "dltensor".
py::capsule to_dlpack(const Tensor& t, bool versioned);
// Consumes a "dltensor" or "dltensor_versioned" capsule (renaming it "used_...") into a
// zero-copy Tensor; a producer that marks its memory read-only gets a private copy instead.
Tensor from_dlpack(py::capsule capsule);
}  // namespace dlcore
