// cuda_runtime.h — what the rest of dlcore needs from the CUDA runtime, in plain C++.
//
// Implemented in csrc/core/cuda_runtime.cu when dlcore is built with CUDA, and by
// csrc/core/cuda_runtime_none.cpp otherwise (every call then reports "not compiled with
// CUDA", and device_count() is 0). No CUDA header leaks out of this interface, so the
// bindings compile the same way in both builds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dlcore::cudart {

bool compiled_with_cuda();
std::string compiled_architectures();   // e.g. "80;90", "" without CUDA
int device_count();                      // 0 when no driver / no GPU (never throws)
int current_device();
void set_device(int device);
void synchronize(int device);            // cudaDeviceSynchronize on that device
std::string device_name(int device);

// The current stream of `device` (a cudaStream_t); nullptr is the legacy default stream.
void* current_stream(int device);
void set_current_stream(int device, void* stream);

// Caching allocator: blocks are kept in per-device, per-size free lists and reused, so
// steady-state training does no cudaMalloc/cudaFree. raw_free returns the block to the cache.
void* raw_alloc(int device, size_t nbytes);
void raw_free(int device, void* ptr);
void empty_cache();                       // return cached blocks to the driver
size_t memory_allocated(int device);      // bytes handed out and not yet freed
size_t memory_reserved(int device);       // bytes held from the driver (in use + cached)

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
// Copies on the current stream of `device`; copies that touch host memory synchronize.
void memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device);

}  // namespace dlcore::cudart
