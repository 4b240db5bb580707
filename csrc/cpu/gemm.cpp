// gemm.cpp — the CPU GEMM: C[b] = act(alpha * A[b] @ B[b] + beta * C[b] + bias).
//
// Everything in dlcore that multiplies matrices ends here: Linear (x @ W^T), im2col
// convolution and its backward passes, transposed convolution, the LSTM gates.
//
// Structure (Goto / BLIS, "Anatomy of high-performance matrix multiplication"):
//
//   for jc in N step NC:              B block   KC x NC  packed once, lives in L3
//     for pc in K step KC:
//       pack B[pc:pc+kc, jc:jc+nc]    -> NR-wide micro-panels  b[k*NR + j]
//       for ic in M step MC:          A block   MC x KC  packed once, lives in L2
//         pack A[ic:ic+mc, pc:pc+kc]  -> MR-tall micro-panels  a[k*MR + i]
//         for jr in nc step NR:       one B micro-panel (KC x NR) stays in L1 ...
//           for ir in mc step MR:     ... while the A micro-panels stream past it
//             micro-kernel: MR x NR tile of C held in registers for kc rank-1 updates
//
// Packing turns any (row, col) strides of A and B (transposed views included) into the
// unit-stride streams the micro-kernel wants, and zero-pads the M/N edges so the
// micro-kernel always does a full tile; only the write-back clips. The epilogue (alpha,
// beta, bias, activation) is applied while the tile leaves the registers, so C is touched
// once per kc pass and never in a separate sweep.
//
// Threads: one OpenMP team works on each (jc, pc, ic) step together: they split the
// packing of B and A panels, then split the (jr, ir) micro-tiles of the block, jr-major,
// so a thread keeps its B micro-panel in L1 and both cores stay busy whether the block is
// wide (M = 64, N huge) or tall (N = 10). Small problems run on the calling thread only.
//
// Micro-kernels: gemm_avx512.cpp (12x32 float, 12x16 double) when the CPU and OS support
// AVX-512; else gemm_avx2.cpp (6x16 float, 6x8 double) when the CPU has AVX2+FMA; both run
// exact edge tiles (any row count, masked last vector). Else the portable kernel of
// gemm_generic.cpp (vectorised for SSE2, zero-padded edges). DLCORE_CPU_PATH=avx2 /
// =generic force the lower paths (tests compare them here). The masked loads also let the
// driver read a row-major B in place (direct_b) and compute a narrow C (N <= MR) as
// C^T = B^T A^T; see gemm_one. A narrow C (N <= 12) with a row-major A goes to the
// dot-product kernels instead (vectors along k; AVX-512 and AVX2). The AVX2 kernels' cache blocks
// come from the cache sizes read at run time (cache_blocked).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <memory>
#include <string>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gemm_internal.h"
#include "kernels.h"

namespace dlcore::cpu {
namespace gemm_detail {

namespace {

template <typename T>
using Ukr = void (*)(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b,
                     int64_t ldb, T* c, int64_t ldc, int mr, int nr, const TileEpilogue<T>& e);
template <typename T>
using Dot = void (*)(int64_t M, int N, int64_t K, const T* a, int64_t lda, const T* bt,
                     int64_t ldbt, T* c, int64_t ldc, const TileEpilogue<T>& e);
// Transposing panel packer: n vectors contiguous along k (vector j at src + j*stride).
template <typename T>
using PackTransposed = void (*)(int64_t kc, int n, const T* src, int64_t stride, T* dst);

// Register tile, cache blocks and kernels for one dtype on one SIMD path.
// KC: the B micro-panel (KC x NR) is reused by every A micro-panel of the block, so it
//     should stay close (L1 for AVX2, L2 for the wider AVX-512 panels); MC x KC of A sits in
//     L2; KC x NC of B sits in L3. The AVX2 blocks are derived from the cache sizes at run
//     time (cache_blocked says why each size); the AVX-512 ones are fixed.
template <typename T>
struct Kernel {
  int MR, NR, MC, KC, NC;
  Ukr<T> ukr;
  PackTransposed<T> pack_b_rowunit;  // optional fast packers (nullptr: scalar): a B with
  PackTransposed<T> pack_a_rowmajor; // unit row stride, a row-major A
  bool direct_b;                    // ukr may read a row-major B in place (masked edges)
  Dot<T> dot;                       // narrow-C kernel, vectors along k (nullptr: none)
  // A product that packs nothing may use the team from this many flops (see kParallelFlops).
  double team_in_place_flops = 2.5e5;
  // A row-major B is read in place (direct_b kernels) when M <= direct_b_max_m (few row
  // panels reuse it; B up to 4 MB) or when it has at most direct_b_bytes. The AVX2 tile
  // reads one 64-byte B row per 12 FMAs (AVX-512: two per 24) and suffers most when the
  // rows of a B read in place collide in L1 (row strides a multiple of 1-4 KB): packed,
  // 96x256x512 ran 2.0x, 64x784x256 1.12x, 128x64x128 1.3x faster on one thread (Zen4);
  // so it reads only a B of at most 16 KB in place (64^3: no difference).
  int direct_b_max_m = 96;
  double direct_b_bytes = 32768;
  // Kernels of a whole MR x NR tile (A packed / read in place), called without ukr's
  // dispatch (see UkrFull); nullptr: ukr for every tile.
  UkrFull<T> full_packed = nullptr, full_direct = nullptr;
  UkrColumn<T> column_packed = nullptr, column_direct = nullptr;   // runs of whole tiles
};

// ---- packing -----------------------------------------------------------------------------

// Pack rows [i0, i0+mr) of the mc x kc block at `a` (strides rs, cs) into an MR panel.
// MR and NR are template parameters so the copies below compile to fixed-size vector
// moves; a runtime width turns them into byte-counting scalar loops (measured 1.4x slower
// end to end for M = 64).
template <typename T, int MR>
void pack_a_panel(int mr, int64_t kc, const T* __restrict a, int64_t rs, int64_t cs,
                  T* __restrict d) {
  if (cs == 1) {                                   // row-major A: mr streams along k
    for (int i = 0; i < mr; ++i) {
      const T* s = a + i * rs;
      for (int64_t k = 0; k < kc; ++k) d[k * MR + i] = s[k];
    }
  } else if (rs == 1 && mr == MR) {                // A^T view: the MR values are adjacent
    for (int64_t k = 0; k < kc; ++k) std::memcpy(d + k * MR, a + k * cs, MR * sizeof(T));
    return;
  } else if (rs == 1) {                            // ... a partial panel (C^T path: B^T)
    for (int64_t k = 0; k < kc; ++k) {
      T* dk = d + k * MR;
      for (int i = 0; i < mr; ++i) dk[i] = a[k * cs + i];
      for (int i = mr; i < MR; ++i) dk[i] = T(0);
    }
    return;
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < mr; ++i) d[k * MR + i] = a[i * rs + k * cs];
  }
  if (mr < MR)
    for (int64_t k = 0; k < kc; ++k)
      for (int i = mr; i < MR; ++i) d[k * MR + i] = T(0);
}

// Pack the B micro-panels [p0, p1) of the kc x nc block at `b` (strides rs, cs).
template <typename T, int NR>
void pack_b_panels(PackTransposed<T> rowunit, int64_t p0, int64_t p1, int64_t nc, int64_t kc,
                   const T* b, int64_t rs, int64_t cs, T* Bp) {
  if (cs == 1) {
    // Row-major B: walk k outermost so each row of B is read as one contiguous run (a
    // panel-at-a-time walk would touch kc rows lda apart for every 64 bytes it copies).
    const int64_t pfull = std::min(p1, nc / NR);   // panels with all NR columns present
    // Consecutive rows of a wide B lie pages apart, where the hardware prefetcher stops:
    // fetch the row kPf steps ahead by hand (64x4096x4096: B packing is ~1/3 of the time).
    constexpr int64_t kPf = 8, kLine = 64 / sizeof(T);
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = b + k * rs;
      if (k + kPf < kc) {
        const int64_t j1 = std::min(p1 * NR, nc);
        for (int64_t j = p0 * NR; j < j1; j += kLine) __builtin_prefetch(s + kPf * rs + j);
        if (j1 > p0 * NR) __builtin_prefetch(s + kPf * rs + j1 - 1);   // B not 64-B aligned
      }
      for (int64_t p = p0; p < pfull; ++p) {
        // memcpy of a constant size: vector moves (a loop here is not vectorised, since
        // GCC cannot prove s and d do not overlap).
        std::memcpy(Bp + p * NR * kc + k * NR, s + p * NR, NR * sizeof(T));
      }
      for (int64_t p = std::max(p0, pfull); p < p1; ++p) {
        const int nr = (int)(nc - p * NR);
        T* d = Bp + p * NR * kc + k * NR;
        for (int j = 0; j < NR; ++j) d[j] = j < nr ? s[p * NR + j] : T(0);
      }
    }
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t j0 = p * NR;
    const int nr = (int)std::min<int64_t>(NR, nc - j0);
    const T* s = b + j0 * cs;
    T* d = Bp + p * NR * kc;
    if (rs == 1 && rowunit) {                      // B^T view (Linear weights)
      rowunit(kc, nr, s, cs, d);
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      T* dk = d + k * NR;
      int j = 0;
      for (; j < nr; ++j) dk[j] = s[k * rs + j * cs];
      for (; j < NR; ++j) dk[j] = T(0);
    }
  }
}

// Dispatch on the kernel's register tile (the shapes in kernel_f32/kernel_f64 below).
template <typename T>
void pack_a(const Kernel<T>& kr, int mr, int64_t kc, const T* a, int64_t rs, int64_t cs, T* d) {
  if (cs == 1 && kr.pack_a_rowmajor) kr.pack_a_rowmajor(kc, mr, a, rs, d);
  else if (kr.MR == 6) pack_a_panel<T, 6>(mr, kc, a, rs, cs, d);
  else if (kr.MR == 12) pack_a_panel<T, 12>(mr, kc, a, rs, cs, d);
  else throw std::logic_error("gemm: unsupported MR");
}
template <typename T>
void pack_b(const Kernel<T>& kr, int64_t p0, int64_t p1, int64_t nc, int64_t kc, const T* b,
            int64_t rs, int64_t cs, T* Bp) {
  switch (kr.NR) {
    case 32: pack_b_panels<T, 32>(kr.pack_b_rowunit, p0, p1, nc, kc, b, rs, cs, Bp); return;
    case 16: pack_b_panels<T, 16>(kr.pack_b_rowunit, p0, p1, nc, kc, b, rs, cs, Bp); return;
    case 8: pack_b_panels<T, 8>(kr.pack_b_rowunit, p0, p1, nc, kc, b, rs, cs, Bp); return;
    case 4: pack_b_panels<T, 4>(kr.pack_b_rowunit, p0, p1, nc, kc, b, rs, cs, Bp); return;
  }
  throw std::logic_error("gemm: unsupported NR");
}

// ---- scratch -----------------------------------------------------------------------------
// Packing buffers are kept per calling thread and only grow, so repeated calls (training
// loops) neither allocate nor take fresh page faults. Worker threads of the team use the
// caller's buffers; a gemm called from inside a parallel region uses its own thread's.
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(p);
      const size_t sz = (bytes + 63) / 64 * 64;
      p = std::aligned_alloc(64, sz);
      if (!p) { cap = 0; throw std::bad_alloc(); }
      cap = sz;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch tl_pack_a, tl_pack_b, tl_tmp_ct;

// ---- one matrix product ------------------------------------------------------------------

template <typename T>
struct Mat {
  int64_t M, N, K;
  const T* A; int64_t ars, acs;
  const T* B; int64_t brs, bcs;
  T* C; int64_t ldc;
  T alpha, beta;
  const T* bias; bool bias_per_row;
  Activation act;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
// Split `total` into ceil(total/block) equal steps rounded up to `unit`, so that the last
// block is not a sliver (N = 4096 with NC = 4080 would otherwise leave a 16-wide block).
inline int64_t even_block(int64_t total, int64_t block, int64_t unit) {
  return round_up(ceil_div(total, ceil_div(total, block)), unit);
}

// The epilogue of the whole product (gemm_blocked splits it over the kc passes).
template <typename T>
TileEpilogue<T> epilogue_of(const Mat<T>& m) {
  TileEpilogue<T> e;
  e.alpha = m.alpha; e.beta = m.beta; e.bias = m.bias; e.bias_per_row = m.bias_per_row;
  e.act = m.act;
  return e;
}

// Only a real team synchronises: with nt == 1 this may run inside someone else's parallel
// loop (batched path), where an orphaned barrier would bind to that loop's team.
inline void team_barrier(int nt) {
  if (nt > 1) {
#pragma omp barrier
  }
}

// Spin until `flag` reaches `value` (acquire); yield the core after a while, so that on a
// busy machine the thread being waited for can get it.
inline void wait_at_least(const std::atomic<int64_t>& flag, int64_t value) {
  for (int spins = 0; flag.load(std::memory_order_acquire) < value; ++spins) {
    if (spins < 4096) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

// The body every thread of the team runs (tid in [0, nt)); with nt == 1 it is the serial
// algorithm. Bp is the shared B buffer; Ap holds nt A buffers a_stride elements apart
// (thread tid's own at Ap + tid * a_stride when it packs its own rows, else all share Ap).
template <typename T>
void gemm_blocked(const Mat<T>& m, const Kernel<T>& kr, bool direct_a, bool direct_b, T* Ap,
                  int64_t a_stride, T* Bp, int tid, int nt, std::atomic<int64_t>* claim,
                  std::atomic<int64_t>* ready) {
  int64_t pass = 0, claimed = -1;   // the tall-A branch's row-chunk claims (see there)
  const int MR = kr.MR, NR = kr.NR;
  const bool exact = kr.direct_b;
  const Ukr<T> full_packed = kr.full_packed, full_direct = kr.full_direct;
  const int64_t NCb = even_block(m.N, kr.NC, NR);
  const int64_t KCb = even_block(m.K, kr.KC, 1);
  const int64_t MCb = even_block(m.M, kr.MC, MR);
  for (int64_t jc = 0; jc < m.N; jc += NCb) {
    const int64_t nc = std::min(NCb, m.N - jc);
    const int64_t npan = ceil_div(nc, NR);
    for (int64_t pc = 0; pc < m.K; pc += KCb) {
      const int64_t kc = std::min(KCb, m.K - pc);
      TileEpilogue<T> ep;
      ep.alpha = m.alpha;
      ep.beta = pc == 0 ? m.beta : T(1);
      ep.bias_per_row = m.bias_per_row;
      ep.act = pc + kc >= m.K ? m.act : Activation::None;
      const T* bias = pc == 0 ? m.bias : nullptr;

      // Direct A: full MR-row panels are read in place; a ragged last panel is packed
      // (zero-padded) for the kernels that always read MR rows, read in place for the
      // AVX-512 ones (exact row counts, `exact`).
      auto pack_a_block = [&](int64_t ic, int64_t mc, int64_t full) {
        const int64_t mpan = ceil_div(mc, MR), todo = mpan - full;
        const int64_t p0 = full + todo * tid / nt, p1 = full + todo * (tid + 1) / nt;
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t i0 = p * MR;
          const int mr = (int)std::min<int64_t>(MR, mc - i0);
          pack_a(kr, mr, kc, m.A + (ic + i0) * m.ars + pc * m.acs, m.ars, m.acs,
                       Ap + p * MR * kc);
        }
      };
      auto tile = [&](int64_t ic, int64_t full, int64_t ir, int64_t jr,
                      const TileEpilogue<T>& ep, const T* Ap) {
        const int64_t i = ic + ir * MR, j = jc + jr * NR;
        const int mr = (int)std::min<int64_t>(MR, m.M - i);
        const int nr = (int)std::min<int64_t>(NR, m.N - j);
        // The tile's own epilogue only when it has a bias to offset (a copy per tile).
        TileEpilogue<T> eb;
        const TileEpilogue<T>* e = &ep;
        if (bias) {
          eb = ep;
          eb.bias = m.bias_per_row ? bias + i : bias + j;
          e = &eb;
        }
        T* c = m.C + i * m.ldc + j;
        const T* b = direct_b ? m.B + pc * m.brs + j : Bp + jr * NR * kc;
        const int64_t ldb = direct_b ? m.brs : NR;
        const bool whole = mr == MR && nr == NR;
        if (ir < full)
          (whole && full_direct ? full_direct : kr.ukr)(kc, m.A + i * m.ars + pc * m.acs, m.ars, m.acs, b,
                                                        ldb, c, m.ldc, mr, nr, *e);
        else
          (whole && full_packed ? full_packed : kr.ukr)(kc, Ap + ir * MR * kc, 1, MR, b, ldb, c,
                                                        m.ldc, mr, nr, *e);
      };
      // Tiles [ir0, ir1) of column jr: runs of whole tiles (all MR rows, all NR columns, A
      // read in place / packed) go to the column kernel in one call each, the rest to tile().
      // A bias per row changes from tile to tile: then every tile is called on its own.
      auto column = [&](int64_t ic, int64_t full, int64_t ir0, int64_t ir1, int64_t jr,
                        const TileEpilogue<T>& ep, const T* Ap) {
        const int64_t j = jc + jr * NR;
        if (!kr.column_direct || m.N - j < NR || (bias && m.bias_per_row)) {
          for (int64_t ir = ir0; ir < ir1; ++ir) tile(ic, full, ir, jr, ep, Ap);
          return;
        }
        TileEpilogue<T> eb;
        const TileEpilogue<T>* e = &ep;
        if (bias) {
          eb = ep;
          eb.bias = bias + j;
          e = &eb;
        }
        const T* b = direct_b ? m.B + pc * m.brs + j : Bp + jr * NR * kc;
        const int64_t ldb = direct_b ? m.brs : NR;
        const int64_t whole_rows = (m.M - ic) / MR;   // tiles ir < whole_rows have MR rows
        int64_t ir = ir0;
        const int64_t d1 = std::min({ir1, full, whole_rows});
        if (ir < d1) {
          const int64_t i = ic + ir * MR;
          kr.column_direct(d1 - ir, MR * m.ars, kc, m.A + i * m.ars + pc * m.acs, m.ars, m.acs, b, ldb,
                           m.C + i * m.ldc + j, m.ldc, *e);
          ir = d1;
        }
        for (; ir < std::min(ir1, full); ++ir) tile(ic, full, ir, jr, ep, Ap);
        const int64_t p1 = std::min(ir1, whole_rows);
        if (ir < p1) {
          const int64_t i = ic + ir * MR;
          kr.column_packed(p1 - ir, MR * kc, kc, Ap + ir * MR * kc, 1, MR, b, ldb,
                           m.C + i * m.ldc + j, m.ldc, *e);
          ir = p1;
        }
        for (; ir < ir1; ++ir) tile(ic, full, ir, jr, ep, Ap);
      };

      if (m.M <= MCb && npan >= 2 * nt) {
        // One A block and enough B panels for every thread: each thread owns a contiguous
        // run of panels and packs a few of them right before computing all their tiles, so
        // they are consumed while still in L1/L2 and one core's packing (memory bound)
        // overlaps the other's FMAs. The only shared data is A: one barrier per kc step.
        const int64_t mpan = ceil_div(m.M, MR), full = direct_a ? (exact ? mpan : m.M / MR) : 0;
        const bool shared = full < mpan;   // B panels are private to their thread
        pack_a_block(0, m.M, full);
        if (shared) team_barrier(nt);
        // Panels packed per group: ~256 KB of packed B (16 AVX2 panels of 16 x 256 floats),
        // so a group is still in L2 when its tiles run.
        const int64_t kGroup = std::max<int64_t>(1, (256 << 10) / (NR * kc * (int64_t)sizeof(T)));
        const int64_t p0 = npan * tid / nt, p1 = npan * (tid + 1) / nt;
        // A row-major B is read from memory once, here, with rows far apart (M = 64,
        // N = 4096: 16 KB): packing a group stalls on DRAM. So the tiles of group g
        // prefetch the source rows of group g+1 into L2 as they run (kernels with a side
        // stream only), each tile a slice of the rows, one line per 4 k steps.
        const bool side = kr.direct_b && !direct_b && m.bcs == 1;
        for (int64_t g = p0; g < p1; g += kGroup) {
          const int64_t g1 = std::min(p1, g + kGroup);
          if (!direct_b)
            pack_b(kr, g, g1, nc, kc, m.B + pc * m.brs + jc * m.bcs, m.brs, m.bcs, Bp);
          // Next group: [g1, g2) of this kc pass, or after the last one the thread's first
          // group of the next kc pass (rows pc+kc...).
          int64_t n0 = g1, n1 = std::min(p1, g1 + kGroup), k0 = pc, nk = kc;
          if (n1 <= n0 && pc + kc < m.K) {
            n0 = p0; n1 = std::min(p1, p0 + kGroup); k0 = pc + kc;
            nk = std::min(KCb, m.K - k0);
          }
          const int64_t tiles_g = (g1 - g) * mpan;
          TileEpilogue<T> e = ep;
          if (side && n1 > n0) {
            // Lines spanned by a row's bytes; a B whose rows do not start on a 64-byte
            // boundary (NumPy's buffers start 16 bytes in) spans one more than bytes / 64.
            const int64_t stride = m.brs * (int64_t)sizeof(T);
            const int64_t bytes = (std::min(n1 * NR, nc) - n0 * NR) * (int64_t)sizeof(T);
            const auto first = reinterpret_cast<uintptr_t>(m.B + k0 * m.brs + jc + n0 * NR);
            const int64_t off = stride % 64 == 0 ? (int64_t)(first % 64) : 63;
            e.pf_stride = stride;
            e.pf_lines = (int)ceil_div(off + bytes, 64);
          }
          if (!e.pf_lines) {
            for (int64_t jr = g; jr < g1; ++jr) column(0, full, 0, mpan, jr, e, Ap);
            continue;
          }
          // With the side stream each tile prefetches its own slice of rows: tile by tile.
          int64_t t = 0;
          for (int64_t jr = g; jr < g1; ++jr)
            for (int64_t ir = 0; ir < mpan; ++ir, ++t) {
              const int64_t r0 = nk * t / tiles_g, r1 = nk * (t + 1) / tiles_g;
              e.pf = reinterpret_cast<const char*>(m.B + (k0 + r0) * m.brs + jc + n0 * NR);
              e.pf_rows = (int)(r1 - r0);
              tile(0, full, ir, jr, e, Ap);
            }
        }
        if (shared) team_barrier(nt);
        continue;
      }

      // General case, several threads, tall A (>= 32 row panels per thread): the threads
      // claim chunks of rows (at most an MC block; ~4 per thread) from a shared counter and
      // pack their own A for each. The only shared data is the B block: one barrier after
      // the team packed it, one before it is repacked. (Splitting each block's tiles between
      // threads costs two barriers per block, and every thread reads A panels the other one
      // packed, from the other core's cache: 1024^3 and 2048^3 +2-3% this way. Claiming, not
      // fixed halves: on a machine shared with other work a thread that loses its core for
      // a time slice leaves its rows to the other, instead of holding up the barrier with
      // half of the pass; a chunk re-reads the B block from L3, 2/mc bytes per flop.)
      // No barrier after the packing of B: each thread publishes its share of the panels
      // (ready[tid] = pass + 1) and starts on them; a chunk crosses into another thread's
      // panels only after that thread published them (the late one's packing, or its start
      // of the team, overlaps the other's FMAs).
      if (nt > 1 && ceil_div(m.M, MR) >= 32 * nt) {
        if (!direct_b) {
          pack_b(kr, npan * tid / nt, npan * (tid + 1) / nt, nc, kc,
                 m.B + pc * m.brs + jc * m.bcs, m.brs, m.bcs, Bp);
          ready[8 * tid].store(pass + 1, std::memory_order_release);
        }
        // Chunks of at most an MC block and ~4 per thread, their count a multiple of the team
        // (equal sizes, panels [P*c/chunks, P*(c+1)/chunks)): a count one past a multiple left
        // one thread a whole chunk alone at the end of each pass (2048^3 on AVX-512 had 15
        // chunks of 12 panels, float64 1024^3 11 of 8: ~7% of the pass on one core).
        const int64_t P = ceil_div(m.M, MR);
        const int64_t per_max = std::min(ceil_div(MCb, MR), ceil_div(P, 4 * nt));  // panels
        const int64_t chunks = std::min<int64_t>(P, nt * ceil_div(P, nt * per_max));
        T* Ap_own = Ap + tid * a_stride;
        // Claim numbers grow over the passes: [pass*chunks, (pass+1)*chunks) are this
        // pass's; a thread that draws a later one keeps it for its pass.
        for (;;) {
          if (claimed < 0) claimed = claim->fetch_add(1, std::memory_order_relaxed);
          const int64_t c = claimed - pass * chunks;
          if (c >= chunks) break;
          claimed = -1;
          const int64_t ic = P * c / chunks * MR;
          const int64_t mc = std::min(P * (c + 1) / chunks * MR, m.M) - ic;
          const int64_t mpan = ceil_div(mc, MR);
          const int64_t full = direct_a ? (exact ? mpan : mc / MR) : 0;
          for (int64_t p = full; p < mpan; ++p) {
            const int mr = (int)std::min<int64_t>(MR, mc - p * MR);
            pack_a(kr, mr, kc, m.A + (ic + p * MR) * m.ars + pc * m.acs, m.ars, m.acs,
                   Ap_own + p * MR * kc);
          }
          // The B panels of thread tid, tid + 1, ... (its own first, each share once ready).
          for (int q = 0; q < nt; ++q) {
            const int owner = (tid + q) % nt;
            if (!direct_b && owner != tid) wait_at_least(ready[8 * owner], pass + 1);
            for (int64_t jr = npan * owner / nt; jr < npan * (owner + 1) / nt; ++jr)
              column(ic, full, 0, mpan, jr, ep, Ap_own);
          }
        }
        ++pass;
        team_barrier(nt);   // nobody repacks B while another reads it; claims of the pass done
        continue;
      }

      // General case, one thread or a short A. Pack B: thread tid takes panels [p0, p1).
      // No barrier yet; the one after the A packing below covers both.
      if (!direct_b)
        pack_b(kr, npan * tid / nt, npan * (tid + 1) / nt, nc, kc,
               m.B + pc * m.brs + jc * m.bcs, m.brs, m.bcs, Bp);
      for (int64_t ic = 0; ic < m.M; ic += MCb) {
        const int64_t mc = std::min(MCb, m.M - ic);
        const int64_t mpan = ceil_div(mc, MR);
        const int64_t full = direct_a ? (exact ? mpan : mc / MR) : 0;
        // Nothing packed at all (A and B read in place): no barriers, the threads' tiles
        // are independent (64^3 on two threads: the two barriers cost as much as the work).
        const bool shared = full < mpan || !direct_b;
        pack_a_block(ic, mc, full);
        if (shared) team_barrier(nt);
        // Micro-tiles of this block, numbered jr-major; each thread a contiguous range.
        const int64_t tiles = mpan * npan;
        const int64_t t0 = tiles * tid / nt, t1 = tiles * (tid + 1) / nt;
        int64_t jr = t0 / mpan, ir = t0 - jr * mpan;   // one division per block, not per tile
        for (int64_t t = t0; t < t1; jr++, ir = 0) {
          const int64_t ir1 = std::min(mpan, ir + (t1 - t));
          column(ic, full, ir, ir1, jr, ep, Ap);
          t += ir1 - ir;
        }
        // Nobody may repack A (next ic) or B (next pc/jc) while another thread reads them.
        if (shared) team_barrier(nt);
      }
    }
  }
}

// Below this many flops a product runs on one thread: waking the team and the two
// barriers per block cost more than they save. Measured on Zen4 (2 cores): 64^3 takes 6.6 us
// on one thread and 10.9 us on two; 96^3 18.3 vs 19.4 us; 128^3 (4.2 MFLOP) breaks even.
// A product that packs nothing (A and B read in place, exact-row AVX-512 tiles, or the
// narrow-C dot kernel) needs no barrier, only the team's start and join, so it uses the
// team from kParallelFlopsInPlace: 64^3 then runs at 100-130 GFLOP/s against ~97 on one
// thread, 256x256x10 at ~110 against ~75.
constexpr double kParallelFlops = 4.0e6;
constexpr double kParallelFlopsInPlace = 2.5e5;
// Each extra thread must get at least this much work.
constexpr double kFlopsPerThread = 2.0e5;

// The team a product may use (gemm_one cuts it to 1 below kParallelFlops unless the product
// packs nothing).
inline int team_size(double flops) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  if (flops < kParallelFlopsInPlace) return 1;
  const int nt = num_threads();
  return (int)std::max<double>(1, std::min<double>(nt, flops / kFlopsPerThread));
}

// B^T for the dot kernels: by AVX-512 gathers (row-major B whose gather indices fit 32
// bits) or AVX2 8x8 transposes, float only; false: the caller copies scalar.
inline bool pack_bt_fast(bool avx512, int64_t K, int N, const float* b, int64_t rs, int64_t cs,
                         float* bt) {
  if (cs != 1) return false;
  if (!avx512) {
    pack_bt_f32_avx2(K, N, b, rs, bt);
    return true;
  }
  if (rs >= (int64_t(1) << 26)) return false;
  pack_bt_f32_avx512(K, N, b, rs, bt);
  return true;
}
inline bool pack_bt_fast(bool, int64_t, int, const double*, int64_t, int64_t, double*) {
  return false;
}

template <typename T>
void gemm_one(const Mat<T>& m, const Kernel<T>& kr, int nt) {
  if (m.M <= 0 || m.N <= 0) return;
  // K == 0 or alpha == 0: the product contributes nothing; C = act(beta*C + bias).
  if (m.K == 0 || m.alpha == T(0)) {
    store_tile(static_cast<const T*>(nullptr), 0, 0, m.C, m.ldc, m.M, m.N, epilogue_of(m));
    return;
  }
  // A narrow C (N = 10 classes) with a row-major A: dot products along k (see dot_rows in
  // gemm_avx512.cpp and gemm_avx2.cpp), no transposes; B^T (N x K, tiny) is packed unless B is a B^T view.
  if (kr.dot && m.N <= 12 && m.acs == 1 && m.M >= 8 && m.K >= 16) {
    const T* bt = m.B;
    int64_t ldbt = m.bcs;
    if (m.brs != 1) {
      T* p = static_cast<T*>(tl_tmp_ct.get(sizeof(T) * m.N * m.K));
      if (!pack_bt_fast(kr.MR > 8, m.K, (int)m.N, m.B, m.brs, m.bcs, p))
        for (int64_t j = 0; j < m.N; ++j)
          for (int64_t k = 0; k < m.K; ++k) p[j * m.K + k] = m.B[k * m.brs + j * m.bcs];
      bt = p;
      ldbt = m.K;
    }
    const TileEpilogue<T> e = epilogue_of(m);
    // Threads take equal runs of 4-row tiles (bias offset to each run's first row).
    const int64_t tiles = ceil_div(m.M, 4);
    nt = (int)std::min<int64_t>(nt, tiles);
    auto run = [&](int tid, int n) {
      const int64_t i0 = std::min(m.M, tiles * tid / n * 4);
      const int64_t i1 = std::min(m.M, tiles * (tid + 1) / n * 4);
      if (i1 <= i0) return;
      TileEpilogue<T> te = e;
      if (e.bias && e.bias_per_row) te.bias = e.bias + i0;
      kr.dot(i1 - i0, (int)m.N, m.K, m.A + i0 * m.ars, m.ars, bt, ldbt, m.C + i0 * m.ldc,
             m.ldc, te);
    };
    if (nt <= 1) { run(0, 1); return; }
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
      run(omp_get_thread_num(), omp_get_num_threads());
#else
      run(0, 1);
#endif
    }
    return;
  }
  // A narrow C (N = 10 classes) leaves most lanes of a 16-wide vector idle. With the
  // AVX-512 kernels (exact row counts, masked columns) compute C^T = B^T A^T instead: the N
  // columns become the kernel's rows, M runs along full vectors. B^T is read as an A panel
  // (a few rows), A^T is transpose-packed like a Linear weight. The product lands in a
  // scratch C^T (alpha = 1, beta = 0); the epilogue is applied while transposing it back.
  if (kr.direct_b && m.N <= kr.MR && m.M >= 32 && m.K >= 16) {
    T* ct = static_cast<T*>(tl_tmp_ct.get(sizeof(T) * m.M * m.N));
    Mat<T> t;
    t.M = m.N; t.N = m.M; t.K = m.K;
    t.A = m.B; t.ars = m.bcs; t.acs = m.brs;
    t.B = m.A; t.brs = m.acs; t.bcs = m.ars;
    t.C = ct; t.ldc = m.M;
    t.alpha = T(1); t.beta = T(0); t.bias = nullptr; t.bias_per_row = false;
    t.act = Activation::None;
    gemm_one(t, kr, nt);
    store_tile(ct, 1, m.M, m.C, m.ldc, m.M, m.N, epilogue_of(m));
    return;
  }
  // Largest blocks gemm_blocked will pack (even_block rounds to MR / NR already).
  const int64_t kcmax = even_block(m.K, kr.KC, 1);
  const int64_t mcmax = even_block(m.M, kr.MC, kr.MR);
  const int64_t ncmax = even_block(m.N, kr.NC, kr.NR);
  // One A buffer per thread (the general case packs each thread's rows separately).
  const int64_t a_stride = round_up(mcmax * kcmax, 64 / (int64_t)sizeof(T));
  T* Ap = static_cast<T*>(tl_pack_a.get(sizeof(T) * a_stride * std::max(nt, 1)));
  T* Bp = static_cast<T*>(tl_pack_b.get(sizeof(T) * ncmax * kcmax));
  // A row-major A is read in place when packing it would not pay: when it is small
  // (L2-resident anyway, and the scalar repack costs about as much as the product for
  // small or narrow products) or when few B panels would reuse the packed copy. A large A
  // is packed: its rows lie lda apart and a power-of-two lda makes them collide in L2.
  // (The AVX-512 tile has 12 rows: more than L1's 8 ways when lda is a multiple of 4 KB,
  // so it reads only a small A in place: 64x4096x4096 +5%, 4096x64x4096 +6% packed. The
  // 6-row AVX2 tile reads up to half of L2 in place: 512^3 (1 MB of A) ran ~5% faster
  // packed, with the transposing packer.)
  // A transposed view (column-major A: the weight gradient dY^T X of a Linear layer, K = the
  // batch) is read in place the same way: a k step's MR values are adjacent, as in a packed
  // panel, only csa = lda apart instead of MR. (Packed, 64x128x1600 from a [1600, 64] dY
  // ran at 127 GFLOP/s on two threads, 2 barriers per kc pass; in place 200, no barrier.)
  const double a_lim = kr.MR > 8 ? (1 << 18) : (1 << 19);
  const bool direct_a =
      (m.acs == 1 || m.ars == 1) && ((double)m.M * m.K * sizeof(T) <= a_lim || m.N <= 4 * kr.NR);
  // A row-major B is read in place (kernels with masked edges only) when few row panels
  // reuse each B strip, so packing it would cost about what the product costs, or when B
  // is so small that it stays in L1 anyway (Kernel::direct_b_max_m / direct_b_bytes).
  // (A big B with M small is still packed: its rows, a large power of two apart, collide
  // in L1/L2 and the re-reads by the next row panels went to L3: 0.8x of packing it.)
  const double b_bytes = (double)m.K * m.N * sizeof(T);
  const bool direct_b = kr.direct_b && m.bcs == 1 &&
                        ((m.M <= kr.direct_b_max_m && b_bytes <= 4.0 * (1 << 20)) ||
                         b_bytes <= kr.direct_b_bytes);
  const double flops = 2.0 * m.M * m.N * m.K;
  if (flops < kParallelFlops && !(direct_a && kr.direct_b && direct_b && flops >= kr.team_in_place_flops))
    nt = 1;
  // Never more threads than micro-tiles in the biggest block.
  const int64_t tiles = ceil_div(mcmax, kr.MR) * ceil_div(ncmax, kr.NR);
  nt = (int)std::min<int64_t>(nt, tiles);
  std::atomic<int64_t> claim{0};
  if (nt <= 1) {
    gemm_blocked(m, kr, direct_a, direct_b, Ap, a_stride, Bp, 0, 1, &claim, nullptr);
    return;
  }
  // Per-thread "B panels packed" marks of the tall-A branch (one cache line each).
  std::unique_ptr<std::atomic<int64_t>[]> ready(new std::atomic<int64_t>[8 * nt]);
  for (int i = 0; i < 8 * nt; ++i) ready[i].store(0, std::memory_order_relaxed);
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    gemm_blocked(m, kr, direct_a, direct_b, Ap, a_stride, Bp, omp_get_thread_num(),
                 omp_get_num_threads(), &claim, ready.get());
#else
    gemm_blocked(m, kr, direct_a, direct_b, Ap, a_stride, Bp, 0, 1, &claim, nullptr);
#endif
  }
}

template <typename T>
void gemm_batched(const GemmParams& p, const Kernel<T>& kr) {
  if (p.batch <= 0 || p.M <= 0 || p.N <= 0) return;
  const T* A = static_cast<const T*>(p.A);
  const T* B = static_cast<const T*>(p.B);
  T* C = static_cast<T*>(p.C);
  auto mat = [&](int64_t b) {
    Mat<T> m;
    m.M = p.M; m.N = p.N; m.K = p.K;
    m.A = A + b * p.a_batch_stride; m.ars = p.a_row_stride; m.acs = p.a_col_stride;
    m.B = B + b * p.b_batch_stride; m.brs = p.b_row_stride; m.bcs = p.b_col_stride;
    m.C = C + b * p.c_batch_stride; m.ldc = p.c_row_stride;
    m.alpha = (T)p.alpha; m.beta = (T)p.beta;
    m.bias = static_cast<const T*>(p.bias); m.bias_per_row = p.bias_per_row;
    m.act = p.act;
    return m;
  };
  const double flops = 2.0 * p.M * p.N * std::max<int64_t>(p.K, 1);
  const int nt_total = flops * p.batch < kParallelFlops ? 1 : team_size(flops * p.batch);
  // Many small products: one product per thread (each with its own packing buffers) beats
  // a team squeezing into each small product. Large products: the team works on each.
  if (p.batch > 1 && nt_total > 1 && flops < 8 * kParallelFlops) {
    const int nt = (int)std::min<int64_t>(nt_total, p.batch);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t b = 0; b < p.batch; ++b) gemm_one(mat(b), kr, 1);
    return;
  }
  const int nt = team_size(flops);
  for (int64_t b = 0; b < p.batch; ++b) gemm_one(mat(b), kr, nt);
}

// The path is looked up once per gemm call (gemm_simd_path reads the environment: two
// getenv scans, ~0.1 us each, a tenth of a 64^3 product's overhead budget when repeated).
enum class Path { Generic, Avx2, Avx512 };
Path current_path() {
  const char* p = gemm_simd_path();
  return std::strcmp(p, "avx512") == 0 ? Path::Avx512
         : std::strcmp(p, "avx2-fma") == 0 ? Path::Avx2 : Path::Generic;
}

// Cache blocks of the AVX2 (and portable) kernels, from the cache sizes of this machine:
//   KC: the B micro-panel (KC x NR) that stays in L1 while the A panels stream past it
//       takes 3/4 of L1 (32 KB: KC = 384 floats or doubles); the rest holds the A
//       micro-panel in flight and the lines of C. Each kc pass loads and stores the whole
//       C tile and pays the per-tile call, so a long KC pays: 1024^3 and 2048^3 ran 5-8%
//       faster with 384 than with 256 (half of L1), 512 (all of L1) no better than 384.
//   MC: the packed A block (MC x KC) takes half of the private L2 (1 MB: MC = 336 rows), the
//       rest is for the B panels streaming in from L3. A larger MC reuses each B micro-panel
//       from L1 for more row panels and packs B's traffic from L3 less often per flop.
//   NC: the packed B block (KC x NC) takes a quarter of the shared L3 (both threads read
//       it; the other tenants of L3 keep the rest), at most 8K columns.
template <typename T>
Kernel<T> cache_blocked(Kernel<T> k) {
  const CacheSizes& cs = cache_sizes();
  const int64_t esz = sizeof(T);
  int64_t kc = cs.l1d * 3 / 4 / (k.NR * esz);
  kc = std::clamp<int64_t>(kc / 16 * 16, 128, 1024);
  int64_t mc = cs.l2 / 2 / (kc * esz);
  mc = std::clamp<int64_t>(mc / k.MR * k.MR, 8 * k.MR, 170 * k.MR);
  int64_t nc = cs.l3 / 4 / (kc * esz);
  nc = std::clamp<int64_t>(nc / k.NR * k.NR, 32 * k.NR, 8192);
  k.KC = (int)kc; k.MC = (int)mc; k.NC = (int)nc;
  return k;
}

template <typename T>
Kernel<T> with_full(Kernel<T> k, UkrFull<T> (*full)(bool packed),
                    UkrColumn<T> (*column)(bool packed)) {
  k.full_packed = full(true);
  k.full_direct = full(false);
  k.column_packed = column(true);
  k.column_direct = column(false);
  return k;
}

const Kernel<float>& kernel_f32(Path path) {
#if defined(__x86_64__) || defined(__i386__)
  // KC = 512 (not 256 as for AVX2): the C tile is loaded and stored once per kc pass, and
  // its 12 rows, a power of two apart for 1024^2 or 2048^2 matrices, share one L1 set;
  // halving the passes measured +8% at 1024^3 and 2048^3. The 64 KB B micro-panel then
  // streams from L2 (the 24-FMA steps leave the load ports idle half the time).
  static const Kernel<float> avx512 = with_full(
      Kernel<float>{kAvx512MR, kAvx512NRf, 144, 512, 4096, ukr_f32_avx512,
                    pack_b_rowunit_f32_avx512, pack_a_rowmajor_f32_avx512, true,
                    dot_f32_avx512},
      ukr_f32_avx512_full,
      ukr_f32_avx512_column);
  if (path == Path::Avx512) return avx512;
  // The AVX2 products that pack nothing use the team from 0.6 MFLOP: 64^3 (0.52) took
  // 7.7 us on two threads against 7.2 on one (the 6-row tiles leave each thread too little
  // work for the team's start and join; OpenBLAS keeps it on one thread too), 256x10x128
  // (0.66, the MLP's last-layer input gradient at batch 256; OpenBLAS uses two) ran at
  // 62 GFLOP/s on two against 52 on one (best of 9, Zen4, busy machine).
  static const Kernel<float> avx2 = with_full(cache_blocked(Kernel<float>{
      kAvx2MRf, kAvx2NRf, 0, 0, 0, ukr_f32_avx2, pack_b_rowunit_f32_avx2,
      pack_a_rowmajor_f32_avx2, true, dot_f32_avx2, 6.0e5, 0, 16384}), ukr_f32_avx2_full,
      ukr_f32_avx2_column);
  if (path == Path::Avx2) return avx2;
#endif
  static const Kernel<float> generic{kGenericMR, kGenericNRf, 144, 256, 4080, ukr_f32_generic,
                                     nullptr, nullptr, false, nullptr};
  return generic;
}

const Kernel<double>& kernel_f64(Path path) {
#if defined(__x86_64__) || defined(__i386__)
  // KC = 512 as for float (C tile passes halved; the 64 KB B micro-panel streams from L2),
  // MC = 96 keeps the A block at 384 KB of L2: 1024^3 0.90x -> 0.98x NumPy on one thread.
  static const Kernel<double> avx512 = with_full(
      Kernel<double>{kAvx512MR, kAvx512NRd, 96, 512, 2048, ukr_f64_avx512, nullptr, nullptr,
                     true, dot_f64_avx512},
      ukr_f64_avx512_full,
      ukr_f64_avx512_column);
  if (path == Path::Avx512) return avx512;
  static const Kernel<double> avx2 = with_full(cache_blocked(Kernel<double>{
      kAvx2MRd, kAvx2NRd, 0, 0, 0, ukr_f64_avx2, nullptr, nullptr, true, dot_f64_avx2, 6.0e5,
      0, 16384}), ukr_f64_avx2_full,
      ukr_f64_avx2_column);
  if (path == Path::Avx2) return avx2;
#endif
  static const Kernel<double> generic{kGenericMR, kGenericNRd, 144, 256, 2040, ukr_f64_generic,
                                      nullptr, nullptr, false, nullptr};
  return generic;
}

}  // namespace
}  // namespace gemm_detail

GemmBlocking gemm_blocking(DType dtype) {
  using namespace gemm_detail;
  auto of = [](const auto& k) { return GemmBlocking{k.MR, k.NR, k.MC, k.KC, k.NC}; };
  if (dtype == DType::Float64) return of(kernel_f64(current_path()));
  return of(kernel_f32(current_path()));
}

void gemm(const GemmParams& p) {
  using namespace gemm_detail;
  if (p.batch < 0 || p.M < 0 || p.N < 0 || p.K < 0)
    throw std::invalid_argument("gemm: negative size (batch=" + std::to_string(p.batch) +
                                ", M=" + std::to_string(p.M) + ", N=" + std::to_string(p.N) +
                                ", K=" + std::to_string(p.K) + ")");
  if (p.batch == 0 || p.M == 0 || p.N == 0) return;
  if (!p.C || (p.K > 0 && p.alpha != 0.0 && (!p.A || !p.B)))
    throw std::invalid_argument("gemm: null operand pointer");
  if (p.c_row_stride < p.N && p.M > 1)
    throw std::invalid_argument("gemm: C row stride " + std::to_string(p.c_row_stride) +
                                " is smaller than N = " + std::to_string(p.N));
  switch (p.dtype) {
    case DType::Float32: gemm_batched<float>(p, kernel_f32(current_path())); return;
    case DType::Float64: gemm_batched<double>(p, kernel_f64(current_path())); return;
    default:
      throw std::invalid_argument(std::string("gemm: unsupported dtype ") +
                                  dtype_name(p.dtype) + " (expected float32 or float64)");
  }
}

}  // namespace dlcore::cpu
