// cpu_allocator.cpp — see cpu_allocator.h for why big host blocks are cached.
//
// Sizes are rounded to classes and a cached block is reused only by a request of the same
// class, so free() knows a block's size from the tensor's byte count alone (no table of
// live blocks): >= 4 MiB rounds up to a multiple of 2 MiB (huge pages), 256 KiB-4 MiB to a
// multiple of 64 KiB. When adding a freed block would exceed the limit, the blocks freed
// longest ago go back to the system first. Under AddressSanitizer the default limit is 0,
// so a use after free still lands on memory ASan has poisoned.
#include "cpu_allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#if defined(__linux__) || defined(__APPLE__)
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define DLCORE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DLCORE_ASAN 1
#endif
#endif

namespace dlcore::cpualloc {
namespace {

constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kMidStep = size_t(64) << 10;

size_t round_size(size_t n) {
  if (n >= 2 * kHuge) return (n + kHuge - 1) / kHuge * kHuge;
  if (n >= kCacheMinBytes) return (n + kMidStep - 1) / kMidStep * kMidStep;
  return (n + 63) / 64 * 64;   // aligned_alloc wants a multiple of the alignment
}

void* system_alloc(size_t size) {
  const size_t align = size >= 2 * kHuge ? kHuge : 64;
  void* p = std::aligned_alloc(align, size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p && align == kHuge) madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

size_t default_limit() {
#ifdef DLCORE_ASAN
  return 0;
#else
  if (const char* env = std::getenv("DLCORE_CPU_CACHE_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') return size_t(mb) << 20;
  }
  size_t limit = size_t(1) << 30;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) limit = std::min(limit, size_t(pages) * size_t(page) / 8);
#endif
  return limit;
#endif
}

struct Cached {
  void* p;
  uint64_t freed_at;   // tick of the free(): the smallest is evicted first
};

struct Cache {
  std::mutex mu;
  std::multimap<size_t, Cached> blocks;   // size class -> free blocks of that class
  size_t bytes = 0;
  size_t limit = default_limit();
  uint64_t tick = 0;

  // Caller holds mu. Returns blocks to the system until `want` more bytes fit the limit.
  void evict_for(size_t want) {
    while (!blocks.empty() && bytes + want > limit) {
      auto oldest = blocks.begin();
      for (auto it = blocks.begin(); it != blocks.end(); ++it)
        if (it->second.freed_at < oldest->second.freed_at) oldest = it;
      std::free(oldest->second.p);
      bytes -= oldest->first;
      blocks.erase(oldest);
    }
  }
};

// Never destroyed: tensors can outlive static destructors (interpreter teardown).
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// Live tensor memory (what alloc handed out and free has not taken back), for leak checks and
// dlcore.cpu.memory_allocated(). Relaxed atomics: a count, not a synchronisation point.
std::atomic<int64_t> g_live_bytes{0}, g_live_blocks{0};

}  // namespace

static void* alloc_block(size_t nbytes) {
  const size_t size = round_size(nbytes);
  if (size >= kCacheMinBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.blocks.find(size);
    if (it != c.blocks.end()) {
      void* p = it->second.p;
      c.bytes -= size;
      c.blocks.erase(it);
      return p;
    }
  }
  void* p = system_alloc(size);
  if (!p) {
    empty_cache();
    p = system_alloc(size);
  }
  return p;
}

void* alloc(size_t nbytes) {
  void* p = alloc_block(nbytes);
  if (p) {
    g_live_bytes.fetch_add(int64_t(nbytes), std::memory_order_relaxed);
    g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  }
  return p;
}

void free(void* p, size_t nbytes) {
  if (!p) return;
  g_live_bytes.fetch_sub(int64_t(nbytes), std::memory_order_relaxed);
  g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
  const size_t size = round_size(nbytes);
  if (size >= kCacheMinBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (size <= c.limit) {
      c.evict_for(size);
      c.blocks.emplace(size, Cached{p, ++c.tick});
      c.bytes += size;
      return;
    }
  }
  std::free(p);
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, b] : c.blocks) std::free(b.p);
  c.blocks.clear();
  c.bytes = 0;
}

size_t live_bytes() { return size_t(g_live_bytes.load(std::memory_order_relaxed)); }
size_t live_blocks() { return size_t(g_live_blocks.load(std::memory_order_relaxed)); }

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

size_t cache_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

void set_cache_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  c.evict_for(0);
}

}  // namespace dlcore::cpualloc
