// cuda_runtime_none.cpp — cuda_runtime.h for a build without CUDA.
//
// The bindings call the same functions in both builds; here there is no device, so
// device_count() is 0 (dlcore.cuda.is_available() is False) and everything that would need
// a device reports clearly that this build has no CUDA support.
#include "cuda_runtime.h"

#include <stdexcept>
#include <string>

namespace dlcore::cudart {
namespace {

[[noreturn]] void no_cuda(const char* fn) {
  throw std::runtime_error(std::string("dlcore was built without CUDA support: ") + fn);
}

}  // namespace

bool compiled_with_cuda() { return false; }
std::string compiled_architectures() { return ""; }
int device_count() { return 0; }
int current_device() { no_cuda("current_device"); }
void set_device(int) { no_cuda("set_device"); }
void synchronize(int) { no_cuda("synchronize"); }
std::string device_name(int) { no_cuda("device_name"); }
void* current_stream(int) { no_cuda("current_stream"); }
void set_current_stream(int, void*) { no_cuda("set_current_stream"); }
void* raw_alloc(int, size_t) { no_cuda("raw_alloc"); }
void raw_free(int, void*) { no_cuda("raw_free"); }
void empty_cache() { no_cuda("empty_cache"); }
size_t memory_allocated(int) { no_cuda("memory_allocated"); }
size_t memory_reserved(int) { no_cuda("memory_reserved"); }
void memcpy(void*, const void*, size_t, CopyKind, int) { no_cuda("memcpy"); }

}  // namespace dlcore::cudart
