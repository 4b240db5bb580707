// cpu.cpp — what the CPU can do and how many threads dlcore uses.
//
// The wheel is built for baseline x86-64; the AVX2+FMA kernels (*_avx2.cpp) are compiled
// separately and only called when this file says the CPU *and the OS* support them: AVX
// state must be enabled in XCR0 (xgetbv), or the first ymm instruction faults even on a
// CPU whose cpuid advertises AVX2.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels.h"

namespace dlcore::cpu {
namespace {

bool detect_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool fma = ecx & (1u << 12), osxsave = ecx & (1u << 27), avx = ecx & (1u << 28);
  if (!(fma && osxsave && avx)) return false;
  unsigned xlo = 0, xhi = 0;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  if ((xlo & 0x6u) != 0x6u) return false;          // XMM and YMM state saved by the OS
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ebx & (1u << 5);                          // AVX2
#else
  return false;
#endif
}

// AVX-512 F/BW/DQ/VL (what gemm_avx512.cpp is compiled for) and the OS saving the opmask
// and zmm state: XCR0 bits 1-2 (XMM, YMM) and 5-7 (opmask, ZMM_Hi256, Hi16_ZMM).
bool detect_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  if (!detect_avx2_fma()) return false;
  unsigned xlo = 0, xhi = 0;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  if ((xlo & 0xE6u) != 0xE6u) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);   // F DQ BW VL
  return (ebx & need) == need;
#else
  return false;
#endif
}

// Size in bytes of the level-`level` data or unified cache of cpu0 from sysfs; 0 if absent.
// (Preferred over sysconf: under some hypervisors glibc derives L3 from cpuid leaves that
// report the host's whole socket, e.g. 320 MB on a 32 MB-L3 guest.)
int64_t sysfs_cache_bytes(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    auto read = [&](const char* name, char* buf, int n) {
      FILE* f = std::fopen((dir + name).c_str(), "r");
      if (!f) return false;
      const bool ok = std::fgets(buf, n, f) != nullptr;
      std::fclose(f);
      return ok;
    };
    char lvl[16] = {0}, type[32] = {0}, size[32] = {0};
    if (!read("level", lvl, sizeof lvl)) break;
    if (std::atoi(lvl) != level || !read("type", type, sizeof type)) continue;
    if (std::strncmp(type, "Instruction", 11) == 0 || !read("size", size, sizeof size)) continue;
    char* end = nullptr;
    int64_t v = std::strtoll(size, &end, 10);
    if (end && (*end == 'K' || *end == 'k')) v <<= 10;
    else if (end && (*end == 'M' || *end == 'm')) v <<= 20;
    return v;
  }
  return 0;
}

int64_t sysconf_cache_bytes(int level) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
  const long v = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE
                         : level == 2 ? _SC_LEVEL2_CACHE_SIZE : _SC_LEVEL3_CACHE_SIZE);
  return v > 0 ? v : 0;
#else
  (void)level;
  return 0;
#endif
}

// First source that gives a size within [lo, hi], else `typical`.
int64_t cache_bytes(int level, int64_t lo, int64_t hi, int64_t typical) {
  for (int64_t v : {sysfs_cache_bytes(level), sysconf_cache_bytes(level)})
    if (v >= lo && v <= hi) return v;
  return typical;
}

std::atomic<int> g_threads{0};                     // 0: not set, use OpenMP's default

}  // namespace

bool has_avx2_fma() {
  static const bool ok = detect_avx2_fma();
  return ok;
}

bool has_avx512() {
  static const bool ok = detect_avx512();
  return ok;
}

// Read on every call (cheap) so tests can flip DLCORE_CPU_PATH=generic at run time and
// check the portable kernels against the AVX2 ones in one process.
const char* simd_path() {
  const char* forced = std::getenv("DLCORE_CPU_PATH");
  if (forced && std::strcmp(forced, "generic") == 0) return "generic";
  return has_avx2_fma() ? "avx2-fma" : "generic";
}

bool use_avx2_kernels() { return std::strcmp(simd_path(), "avx2-fma") == 0; }

// The GEMM has one more level: "avx512" when the CPU and OS support it, unless
// DLCORE_CPU_PATH=avx2 (or =avx2-fma, the path's own name) or =generic forces a lower path
// (to test and benchmark those kernels here).
// simd_path() keeps answering "avx2-fma" on such a CPU because the other kernel families
// (activation, softmax, elementwise, peak) select their AVX2 code by it (use_avx2_kernels).
const char* gemm_simd_path() {
  // One getenv (the GEMM asks on every call; see simd_path for why it is not cached).
  const char* forced = std::getenv("DLCORE_CPU_PATH");
  if ((forced && std::strcmp(forced, "generic") == 0) || !has_avx2_fma()) return "generic";
  if (forced && (std::strcmp(forced, "avx2") == 0 || std::strcmp(forced, "avx2-fma") == 0))
    return "avx2-fma";
  return has_avx512() ? "avx512" : "avx2-fma";
}

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes{cache_bytes(1, 8 << 10, 256 << 10, 32 << 10),
                                cache_bytes(2, 128 << 10, 8 << 20, 1 << 20),
                                cache_bytes(3, 1 << 20, 256 << 20, 8 << 20)};
  return sizes;
}

int num_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  if (n > 0) return n;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n < 1) n = 1;
  g_threads.store(n, std::memory_order_relaxed);
#ifdef _OPENMP
  omp_set_num_threads(n);                          // also governs the other kernels' loops
#endif
}

}  // namespace dlcore::cpu
