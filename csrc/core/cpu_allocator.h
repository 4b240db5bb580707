// cpu_allocator.h — host memory for CPU tensors: 64-byte aligned, big blocks cached.
//
// A fresh big buffer is not free even with malloc: the kernel maps it page by page on first
// touch and must zero every page (a 64 MB GEMM output costs ~6 ms of clear_page before the
// first FMA lands; 4096x64x4096 ran at 131 GFLOP/s with a fresh output, 180 with a reused
// one). Training allocates the same activation sizes step after step, so freed blocks of
// at least kCacheMinBytes are kept and handed out again, like the CUDA caching allocator.
// Smaller blocks go straight to malloc/free, whose heap already recycles them. The bound is
// 256 KiB, not higher: glibc's heap does NOT reliably recycle blocks of a few hundred KiB
// (they are mmapped or trimmed back to the system, depending on its adaptive thresholds), and
// a character-LM training step (batch 32 x 50 steps x 64-128 features: 0.4-0.8 MB per
// activation) took ~380 page faults per step, ~4% of its time, before they were cached.
#pragma once
#include <cstddef>

namespace dlcore::cpualloc {

constexpr size_t kCacheMinBytes = size_t(256) << 10;

// nbytes > 0. Blocks of >= 4 MiB are 2 MiB aligned and marked for transparent huge pages
// (as NumPy does). Returns nullptr when the system has no memory left, after returning
// the cache to the system and trying once more.
void* alloc(size_t nbytes);
// p from alloc(nbytes), the same nbytes.
void free(void* p, size_t nbytes);

void empty_cache();              // return every cached block to the system
size_t live_bytes();             // bytes alloc handed out that free has not taken back
size_t live_blocks();            // how many such blocks (one per live CPU tensor storage)
size_t cached_bytes();           // bytes held in the cache (freed, not returned)
size_t cache_limit();            // the cache never holds more than this
// 0 disables the cache (and empties it). Default: min(1 GiB, RAM / 8); the environment
// variable DLCORE_CPU_CACHE_MB sets it at start-up.
void set_cache_limit(size_t bytes);

}  // namespace dlcore::cpualloc
