// gemm.cu — batched GEMM with a fused epilogue (CUDA). Mirror of csrc/cpu/gemm.cpp.
//
//   C[b] = act(alpha * A[b] @ B[b] + beta * C[b] + bias)        (core/gemm_params.h)
//
// Three kernels:
//   1. sgemm_simt (float32 and float64): the classic register-blocked SIMT GEMM. A block
//      computes a BM x BN tile of C; each k-step stages a BM x BK slice of A and a BK x BN slice
//      of B in shared memory, both stored k-major (As[k][m], Bs[k][n]) so that a thread reads
//      the 4 consecutive m (or n) values it needs as one 16-byte vector. Each thread owns a
//      TM x TN micro-tile of accumulators (8x8 for the 128x128 tile: 64 FMAs per 16 shared
//      loads), split in 4x4 quadrants 64 apart so a warp's vector reads are conflict-free.
//      The next k-slice is loaded from global memory into registers while the current one is
//      multiplied (register prefetch), and two shared buffers need one barrier per k-step.
//      Operands are read through arbitrary strides: the loader picks the thread mapping that
//      makes the contiguous direction of each operand coalesced (k-contiguous or m/n-
//      contiguous), with 16-byte loads when the stride and the pointer allow, else scalars.
//      Split-K: when the M x N tiles leave most SMs idle and K is long (an LSTM's per-step
//      backward GEMM), blockIdx.y takes a slice of K, the slices' raw sums go to a workspace,
//      and gemm_splitk_reduce adds them in a fixed order and applies the epilogue.
//   2. sgemm_tf32 (float32 with allow_tf32, sm_80+): tensor cores through
//      mma.sync.m16n8k8.tf32 (inline PTX). 128x128x32 block tile, 8 warps of 64x32 each;
//      global -> shared with cp.async (16-byte copies, zero-fill at the edges), two stages.
//      Used only when both operands are contiguous in one direction with 16-byte alignment;
//      anything else falls back to the SIMT kernel.
//   3. gemm_wgmma (gemm_wgmma.cu; float32 with allow_tf32 on compute capability 9.x, same
//      operand conditions as 2): Hopper wgmma.mma_async from 128B-swizzled shared tiles.
//      It was written without a GPU, so it is used on a device only after a self-check: the
//      first TF32 GEMM that would take it runs both it and sgemm_tf32 on a small awkward
//      problem (all four operand layouts, batch 2, partial tiles on every edge, beta, bias)
//      on the caller's stream; any CUDA error, a missing sm_90a image, or a disagreement
//      beyond TF32 rounding disables it for that device for good, with one line on stderr.
//      DLCORE_CUDA_WGMMA=0 in the environment disables it outright. gemm_tf32_path(device)
//      says which of the two a device uses.
//      wgmma reads TF32 tiles K-major only: an operand whose rows are the contiguous
//      direction (row-major B of A @ B; a column-major A such as xᵀ in a weight gradient) is
//      transposed through registers on its way to shared memory, and ptxas then retires each
//      wgmma group before the next k-tile: 88 TFLOP/s against 167 with both operands
//      K-contiguous (8192³, H200, 2026-12-04). A big enough product first copies such an
//      operand, or one not 16-byte aligned, into a K-contiguous workspace (gemm_wgmma.cu).
// Batches run on blockIdx.z (a batch stride of 0 broadcasts that operand).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "../core/cuda_runtime.h"
#include "common.cuh"
#include "gemm_common.cuh"
#include "kernels.h"

namespace dlcore::cuda {
namespace {

// ---- 4-element vector moves (float4, or two double2 for double) -----------------------------
__device__ __forceinline__ void ld4(const float* p, float r[4]) {
  float4 v = *reinterpret_cast<const float4*>(p);
  r[0] = v.x; r[1] = v.y; r[2] = v.z; r[3] = v.w;
}
__device__ __forceinline__ void ld4(const double* p, double r[4]) {
  double2 v0 = reinterpret_cast<const double2*>(p)[0], v1 = reinterpret_cast<const double2*>(p)[1];
  r[0] = v0.x; r[1] = v0.y; r[2] = v1.x; r[3] = v1.y;
}
__device__ __forceinline__ void st4(float* p, const float r[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(r[0], r[1], r[2], r[3]);
}
__device__ __forceinline__ void st4(double* p, const double r[4]) {
  reinterpret_cast<double2*>(p)[0] = make_double2(r[0], r[1]);
  reinterpret_cast<double2*>(p)[1] = make_double2(r[2], r[3]);
}

// Loads a chunk of 4 consecutive elements of an operand along its "fast" direction: element j
// is at p + j*step, valid while j < avail (out-of-range elements are 0). The vector path needs
// step == 1, all 4 valid, and a 16-byte aligned address (guaranteed by `vec`, see host code).
template <typename T>
__device__ __forceinline__ void load_chunk(const T* p, int64_t step, int64_t avail, bool vec, T r[4]) {
  if (vec && avail >= 4) {
    ld4(p, r);
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) r[j] = j < avail ? p[j * step] : T(0);
  }
}

// ---- 1. SIMT kernel ------------------------------------------------------------------------
// 256 threads; BM*BK == BN*BK == 4*256, so every thread moves exactly one 4-element chunk of
// A and one of B per k-step. A_KC: A is read along k (row-major A); else along m. B_KC: B is
// read along k (column-major B, e.g. W^T in Linear); else along n.
constexpr int kSimtThreads = 256;

template <typename T, int BM, int BN, int BK, int TM, int TN, bool A_KC, bool B_KC>
__global__ void __launch_bounds__(kSimtThreads)
gemm_simt(const GemmArgs<T> p) {
  static_assert(BM * BK == 4 * kSimtThreads && BN * BK == 4 * kSimtThreads, "one chunk per thread");
  static_assert((BM / TM) * (BN / TN) == kSimtThreads, "thread grid");
  constexpr int SA = BM + 4, SB = BN + 4;  // padded rows: transposed stores hit distinct banks
  constexpr int GM = TM / 4, GN = TN / 4;  // 4x4 quadrants per thread
  __shared__ __align__(16) T As[2][BK][SA];
  __shared__ __align__(16) T Bs[2][BK][SB];

  const int tid = threadIdx.x;
  const int64_t batch = p.batch_base + blockIdx.z;
  const int64_t tile_m = blockIdx.x / p.tiles_n, tile_n = blockIdx.x % p.tiles_n;
  const int64_t m0 = tile_m * BM, n0 = tile_n * BN;
  const T* Ab = p.A + batch * p.a_bs;
  const T* Bb = p.B + batch * p.b_bs;
  T* Cb = p.C + batch * p.c_bs;
  // This block's share of k (all of it unless split-K): [k_lo, k_hi).
  const int64_t k_lo = (int64_t)blockIdx.y * p.k_chunk;
  const int64_t k_hi = k_lo + p.k_chunk < p.K ? k_lo + p.k_chunk : p.K;

  // This thread's chunk coordinates inside the tiles.
  const int a_r = A_KC ? tid / (BK / 4) : (tid % (BM / 4)) * 4;   // m offset
  const int a_k = A_KC ? (tid % (BK / 4)) * 4 : tid / (BM / 4);   // k offset
  const int b_c = B_KC ? tid / (BK / 4) : (tid % (BN / 4)) * 4;   // n offset
  const int b_k = B_KC ? (tid % (BK / 4)) * 4 : tid / (BN / 4);   // k offset

  T ra[4], rb[4];
  auto load_tiles = [&](int64_t k0) {
    // k_chunk is a multiple of 4 (of BK, in fact), so a 4-element k chunk never straddles
    // two splits: k_hi bounds it exactly as K does without a split.
    const int64_t m = m0 + a_r, ka = k0 + a_k;
    if (A_KC) {
      if (m < p.M) load_chunk(Ab + m * p.a_rs + ka * p.a_cs, p.a_cs, k_hi - ka, p.a_vec, ra);
      else { ra[0] = ra[1] = ra[2] = ra[3] = T(0); }
    } else {
      if (ka < k_hi) load_chunk(Ab + m * p.a_rs + ka * p.a_cs, p.a_rs, p.M - m, p.a_vec, ra);
      else { ra[0] = ra[1] = ra[2] = ra[3] = T(0); }
    }
    const int64_t n = n0 + b_c, kb = k0 + b_k;
    if (B_KC) {
      if (n < p.N) load_chunk(Bb + kb * p.b_rs + n * p.b_cs, p.b_rs, k_hi - kb, p.b_vec, rb);
      else { rb[0] = rb[1] = rb[2] = rb[3] = T(0); }
    } else {
      if (kb < k_hi) load_chunk(Bb + kb * p.b_rs + n * p.b_cs, p.b_cs, p.N - n, p.b_vec, rb);
      else { rb[0] = rb[1] = rb[2] = rb[3] = T(0); }
    }
  };
  auto store_tiles = [&](int buf) {
    if (A_KC) {
#pragma unroll
      for (int j = 0; j < 4; ++j) As[buf][a_k + j][a_r] = ra[j];
    } else {
      st4(&As[buf][a_k][a_r], ra);
    }
    if (B_KC) {
#pragma unroll
      for (int j = 0; j < 4; ++j) Bs[buf][b_k + j][b_c] = rb[j];
    } else {
      st4(&Bs[buf][b_k][b_c], rb);
    }
  };

  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  const int64_t nk = k_hi > k_lo ? (k_hi - k_lo + BK - 1) / BK : 0;
  if (nk > 0) {
    load_tiles(k_lo);
    store_tiles(0);
  }
  __syncthreads();
  for (int64_t t = 0; t < nk; ++t) {
    const int cur = (int)(t & 1);
    if (t + 1 < nk) load_tiles(k_lo + (t + 1) * BK);  // in flight while we multiply
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T a[TM], b[TN];
#pragma unroll
      for (int g = 0; g < GM; ++g) ld4(&As[cur][k][g * (BM / GM) + ty * 4], &a[g * 4]);
#pragma unroll
      for (int h = 0; h < GN; ++h) ld4(&Bs[cur][k][h * (BN / GN) + tx * 4], &b[h * 4]);
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    // The other buffer was last read in step t-1, which every thread finished before the
    // barrier that ended it, so it can be overwritten now.
    if (t + 1 < nk) store_tiles(cur ^ 1);
    __syncthreads();
  }

  // Split-K: this slice's raw sums go to its part of the workspace, and gemm_splitk_reduce
  // applies the epilogue; otherwise the epilogue is applied here.
  T* Pb = p.partial ? p.partial + ((int64_t)blockIdx.y * p.batch_total + batch) * p.M * p.N : nullptr;
#pragma unroll
  for (int g = 0; g < GM; ++g)
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int h = 0; h < GN; ++h)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int64_t m = m0 + g * (BM / GM) + ty * 4 + i, n = n0 + h * (BN / GN) + tx * 4 + j;
          const T v = acc[g * 4 + i][h * 4 + j];
          if (!Pb) store_c(p, Cb, m, n, v);
          else if (m < p.M && n < p.N) Pb[m * p.N + n] = v;
        }
}

// Split-K, second pass: C = epilogue(sum over the slices), the slices added in a fixed order
// (the result does not depend on scheduling). One thread per element of C, over all batches.
template <typename T>
__global__ void gemm_splitk_reduce(const GemmArgs<T> p, int splits) {
  const int64_t mn = p.M * p.N, total = mn * p.batch_total;   // total: one slice's elements
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * blockDim.x) {
    T acc = p.partial[e];
    for (int s = 1; s < splits; ++s) acc += p.partial[s * total + e];
    const int64_t b = e / mn, r = e - b * mn, m = r / p.N, n = r - m * p.N;
    store_c(p, p.C + b * p.c_bs, m, n, acc);
  }
}

// ---- 2. TF32 tensor-core kernel (sm_80+) ----------------------------------------------------
constexpr int kTcBM = 128, kTcBN = 128, kTcBK = 32, kTcThreads = 256;
// Shared layouts per operand and stage. k-contiguous: [128 rows][32+4] (row stride 36 words:
// the fragment reads of lane (g,t) at 36g+t hit 32 distinct banks). m/n-contiguous:
// [32 k][128+8] (stride 136: reads at 136t+g are conflict-free too). Both rows stay 16-byte
// aligned for cp.async.
constexpr int kTcKC = kTcBK + 4, kTcMN = kTcBM + 8;
constexpr int kTcStageFloats = kTcBM * kTcKC;  // >= kTcBK * kTcMN
constexpr int kTcSmemBytes = 2 * 2 * kTcStageFloats * (int)sizeof(float);

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
#endif
}
__device__ __forceinline__ uint32_t to_tf32(float x) {
  uint32_t r = 0;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
#endif
  return r;
}

template <bool A_KC, bool B_KC>
__global__ void __launch_bounds__(kTcThreads, 2)
gemm_tf32(const GemmArgs<float> p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  extern __shared__ __align__(16) float smem[];
  float* As = smem;                        // [2][kTcStageFloats]
  float* Bs = smem + 2 * kTcStageFloats;   // [2][kTcStageFloats]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int wm = warp / 4, wn = warp % 4;  // 2 x 4 warps, 64 x 32 each
  const int64_t batch = p.batch_base + blockIdx.z;
  const int64_t m0 = (blockIdx.x / p.tiles_n) * kTcBM, n0 = (blockIdx.x % p.tiles_n) * kTcBN;
  const float* Ab = p.A + batch * p.a_bs;
  const float* Bb = p.B + batch * p.b_bs;
  float* Cb = p.C + batch * p.c_bs;

  // 1024 16-byte chunks per operand tile, 4 per thread. Out-of-range bytes are zero-filled
  // (src_bytes < 16); a fully out-of-range chunk copies nothing from a harmless address.
  auto load_stage = [&](int buf, int64_t k0) {
    float* as = As + buf * kTcStageFloats;
    float* bs = Bs + buf * kTcStageFloats;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = tid + j * kTcThreads;
      if (A_KC) {  // rows m, 8 chunks of k each
        const int r = c / (kTcBK / 4), kc = (c % (kTcBK / 4)) * 4;
        const int64_t m = m0 + r, k = k0 + kc;
        const int64_t left = p.K - k;
        const int bytes = (m < p.M && left > 0) ? (int)(left >= 4 ? 16 : left * 4) : 0;
        cp_async16(as + r * kTcKC + kc, bytes ? Ab + m * p.a_rs + k : Ab, bytes);
      } else {     // rows k, 32 chunks of m each
        const int kr = c / (kTcBM / 4), mc = (c % (kTcBM / 4)) * 4;
        const int64_t k = k0 + kr, m = m0 + mc;
        const int64_t left = p.M - m;
        const int bytes = (k < p.K && left > 0) ? (int)(left >= 4 ? 16 : left * 4) : 0;
        cp_async16(as + kr * kTcMN + mc, bytes ? Ab + k * p.a_cs + m : Ab, bytes);
      }
      if (B_KC) {  // rows n, chunks of k
        const int r = c / (kTcBK / 4), kc = (c % (kTcBK / 4)) * 4;
        const int64_t n = n0 + r, k = k0 + kc;
        const int64_t left = p.K - k;
        const int bytes = (n < p.N && left > 0) ? (int)(left >= 4 ? 16 : left * 4) : 0;
        cp_async16(bs + r * kTcKC + kc, bytes ? Bb + n * p.b_cs + k : Bb, bytes);
      } else {     // rows k, chunks of n
        const int kr = c / (kTcBN / 4), nc = (c % (kTcBN / 4)) * 4;
        const int64_t k = k0 + kr, n = n0 + nc;
        const int64_t left = p.N - n;
        const int bytes = (k < p.K && left > 0) ? (int)(left >= 4 ? 16 : left * 4) : 0;
        cp_async16(bs + kr * kTcMN + nc, bytes ? Bb + k * p.b_rs + n : Bb, bytes);
      }
    }
  };
  auto a_at = [&](const float* as, int m, int k) { return A_KC ? as[m * kTcKC + k] : as[k * kTcMN + m]; };
  auto b_at = [&](const float* bs, int k, int n) { return B_KC ? bs[n * kTcKC + k] : bs[k * kTcMN + n]; };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.f;

  const int64_t nk = (p.K + kTcBK - 1) / kTcBK;
  if (nk > 0) load_stage(0, 0);
  asm volatile("cp.async.commit_group;\n" ::);
  for (int64_t kt = 0; kt < nk; ++kt) {
    if (kt + 1 < nk) load_stage((int)((kt + 1) & 1), (kt + 1) * kTcBK);
    asm volatile("cp.async.commit_group;\n" ::);   // possibly empty: keeps the count uniform
    asm volatile("cp.async.wait_group 1;\n" ::);   // stage kt has landed (for this thread)
    __syncthreads();                               // ... and for every thread
    const float* as = As + (kt & 1) * kTcStageFloats;
    const float* bs = Bs + (kt & 1) * kTcStageFloats;
#pragma unroll
    for (int kb = 0; kb < kTcBK; kb += 8) {
      uint32_t af[4][4], bf[4][2];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
        const int r = wm * 64 + mi * 16 + g;
        af[mi][0] = to_tf32(a_at(as, r, kb + t));
        af[mi][1] = to_tf32(a_at(as, r + 8, kb + t));
        af[mi][2] = to_tf32(a_at(as, r, kb + t + 4));
        af[mi][3] = to_tf32(a_at(as, r + 8, kb + t + 4));
      }
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        const int c = wn * 32 + ni * 8 + g;
        bf[ni][0] = to_tf32(b_at(bs, kb + t, c));
        bf[ni][1] = to_tf32(b_at(bs, kb + t + 4, c));
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni)
          asm volatile(
              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
              "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
              : "+f"(acc[mi][ni][0]), "+f"(acc[mi][ni][1]), "+f"(acc[mi][ni][2]), "+f"(acc[mi][ni][3])
              : "r"(af[mi][0]), "r"(af[mi][1]), "r"(af[mi][2]), "r"(af[mi][3]),
                "r"(bf[ni][0]), "r"(bf[ni][1]));
    }
    __syncthreads();  // everyone is done with this stage before it is refilled
  }
  asm volatile("cp.async.wait_group 0;\n" ::);

  // Accumulator q of tile (mi, ni) is C[row g + 8*(q/2)][col 2t + q%2] of that 16x8 tile.
#pragma unroll
  for (int mi = 0; mi < 4; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni)
#pragma unroll
      for (int q = 0; q < 4; ++q)
        store_c(p, Cb, m0 + wm * 64 + mi * 16 + g + (q >> 1) * 8, n0 + wn * 32 + ni * 8 + 2 * t + (q & 1),
                acc[mi][ni][q]);
#endif
}

// ---- host side ------------------------------------------------------------------------------

// Split-K for the SIMT kernel. A product whose M x N tiles cannot fill the GPU but whose K is
// long -- an LSTM's per-step backward dh = dgates W_hh is (256 x 2048) @ (2048 x 512): 32
// tiles of 64 x 64 on 132 SMs, each walking K = 2048; a convolution's weight gradient, 6 x 25
// outputs over K = 36864 pixels, is one tile -- leaves most SMs idle while a few grind.
// Splitting K into slices of >= 256 gives up to 2 blocks per SM (rounded down: 2 resident
// blocks of 128 x 128 fill an SM's registers, so a 21st percent of a wave would cost a whole
// second wave); each slice writes its raw sums to a workspace, and gemm_splitk_reduce adds them
// (in a fixed order) and applies the epilogue. Returns the number of slices (1: no split). The
// workspace comes from the caching allocator, which may call cudaMalloc, so a stream being
// captured into a graph is never split.
int simt_splits(int64_t tiles, int64_t M, int64_t N, int64_t K, int64_t batch, size_t elem, cudaStream_t s) {
  const int64_t sms = sm_count();
  if (tiles >= sms || K < 512) return 1;
  const int64_t splits = std::min<int64_t>({2 * sms / tiles, K / 256, 32});
  if (splits < 2 || splits * batch * M * N * (int64_t)elem > (int64_t(64) << 20)) return 1;
  return stream_capturing(s) ? 1 : (int)splits;
}


template <typename T, int BM, int BN, int BK, int TM, int TN>
void launch_simt(GemmArgs<T> a, int64_t batch, bool a_kc, bool b_kc, cudaStream_t s) {
  a.tiles_n = ceil_div(a.N, BN);
  const int64_t tiles = ceil_div(a.M, BM) * a.tiles_n;
  if (tiles > 0x7fffffff) throw std::runtime_error("gemm: matrix too large");
  int splits = simt_splits(tiles * batch, a.M, a.N, a.K, batch, sizeof(T), s);
  std::unique_ptr<Scratch> ws;
  if (splits > 1) {
    // Slices of whole BK steps; rounding up can leave fewer slices than asked for.
    a.k_chunk = ceil_div(ceil_div(a.K, splits), BK) * BK;
    splits = (int)ceil_div(a.K, a.k_chunk);
    ws = std::make_unique<Scratch>((size_t)splits * batch * a.M * a.N * sizeof(T));
    a.partial = static_cast<T*>(ws->ptr);
  }
  over_batches(batch, [&](unsigned z, int64_t b0) {
    a.batch_base = b0;
    dim3 grid((unsigned)tiles, (unsigned)splits, z);
    if (a_kc && b_kc) gemm_simt<T, BM, BN, BK, TM, TN, true, true><<<grid, kSimtThreads, 0, s>>>(a);
    else if (a_kc) gemm_simt<T, BM, BN, BK, TM, TN, true, false><<<grid, kSimtThreads, 0, s>>>(a);
    else if (b_kc) gemm_simt<T, BM, BN, BK, TM, TN, false, true><<<grid, kSimtThreads, 0, s>>>(a);
    else gemm_simt<T, BM, BN, BK, TM, TN, false, false><<<grid, kSimtThreads, 0, s>>>(a);
    DLCORE_LAUNCH_CHECK("gemm_simt");
  });
  if (splits > 1) {
    const int64_t total = batch * a.M * a.N;
    const int threads = 256;
    const unsigned blocks = (unsigned)std::min<int64_t>(ceil_div(total, threads), (int64_t)sm_count() * 8);
    gemm_splitk_reduce<T><<<blocks, threads, 0, s>>>(a, splits);
    DLCORE_LAUNCH_CHECK("gemm_splitk_reduce");
  }
}

template <bool A_KC, bool B_KC>
void launch_tf32_kernel(const GemmArgs<float>& a, dim3 grid, cudaStream_t s) {
  // More than 48 KB of dynamic shared memory must be opted into, once per device.
  static std::atomic<uint64_t> configured{0};
  const int dev = current_device_id();
  const uint64_t bit = uint64_t(1) << (dev & 63);
  if (!(configured.load() & bit)) {
    DLCORE_CUDA_CHECK(cudaFuncSetAttribute(gemm_tf32<A_KC, B_KC>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, kTcSmemBytes));
    configured.fetch_or(bit);
  }
  gemm_tf32<A_KC, B_KC><<<grid, kTcThreads, kTcSmemBytes, s>>>(a);
  DLCORE_LAUNCH_CHECK("gemm_tf32");
}

void launch_tf32(GemmArgs<float> a, int64_t batch, bool a_kc, bool b_kc, cudaStream_t s) {
  a.tiles_n = ceil_div(a.N, kTcBN);
  const int64_t tiles = ceil_div(a.M, kTcBM) * a.tiles_n;
  if (tiles > 0x7fffffff) throw std::runtime_error("gemm: matrix too large");
  over_batches(batch, [&](unsigned z, int64_t b0) {
    a.batch_base = b0;
    dim3 grid((unsigned)tiles, 1, z);
    if (a_kc && b_kc) launch_tf32_kernel<true, true>(a, grid, s);
    else if (a_kc) launch_tf32_kernel<true, false>(a, grid, s);
    else if (b_kc) launch_tf32_kernel<false, true>(a, grid, s);
    else launch_tf32_kernel<false, false>(a, grid, s);
  });
}

// ---- Hopper wgmma path: gate and one-time self-check ------------------------------------------
enum : int { kWgUnverified = 0, kWgOn = 1, kWgOff = 2 };
std::atomic<int> g_wgmma_state[64];   // per device
std::mutex g_wgmma_mutex;              // one self-check at a time

bool wgmma_env_off() {
  const char* e = std::getenv("DLCORE_CUDA_WGMMA");
  return e != nullptr && std::strcmp(e, "0") == 0;
}

// Frees the self-check buffers on every way out.
struct DevBuf {
  float* p = nullptr;
  ~DevBuf() {
    if (p && cudaFree(p) != cudaSuccess) cudaGetLastError();
  }
};

// Runs gemm_wgmma and sgemm_tf32 on the same random problem, in all four operand layouts, and
// returns "" when they agree, else what went wrong. Sizes are chosen to be awkward: M, N, K not
// multiples of the tiles nor of 4 (partial 16-byte chunks on the k edge and the m/n edges),
// padded leading dimensions (the padding holds data that must not be read), batch 2, beta
// (C is read) and a per-column bias.
std::string wgmma_self_check(cudaStream_t s) {
  if (!gemm_wgmma_available()) return "no sm_90a kernel image for this device in this build";
  const int64_t batch = 2, M = 198, N = 133, K = 71, ldk = 72, ldm = 200, ldn = 136;
  const int64_t a_bs = ldm * ldk, b_bs = ldn * ldk, c_bs = M * N;  // fit every layout
  // One allocation: A, B, C's initial values, bias (uploaded), then the second C. Every part
  // starts on a 256-byte boundary, as a fresh allocation would.
  auto up = [](int64_t n) { return (n + 63) / 64 * 64; };
  const int64_t oB = up(batch * a_bs), oC = oB + up(batch * b_bs), obias = oC + up(batch * c_bs);
  const int64_t oC2 = obias + up(N), n_all = oC2 + up(batch * c_bs);
  std::vector<float> host(oC2);
  uint32_t x = 0x9e3779b9u;
  for (float& v : host) {
    x = x * 1664525u + 1013904223u;
    v = (float)((x >> 8) * (2.0 / 16777216.0) - 1.0);  // uniform in [-1, 1)
  }
  DevBuf buf;
  cudaError_t err = cudaMalloc(&buf.p, n_all * sizeof(float));
  if (err != cudaSuccess) { cudaGetLastError(); return std::string("cudaMalloc: ") + cudaGetErrorString(err); }
  float *dA = buf.p, *dB = buf.p + oB, *dC_ref = buf.p + oC, *dbias = buf.p + obias, *dC_wg = buf.p + oC2;
  const float* hC = host.data() + oC;
  std::vector<float> ref(batch * c_bs), got(batch * c_bs);
  try {
    DLCORE_CUDA_CHECK(cudaMemcpyAsync(buf.p, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, s));
    for (int layout = 0; layout < 4; ++layout) {
      const bool want_a_kc = layout & 1, want_b_kc = layout & 2;
      GemmParams p;
      p.dtype = DType::Float32;
      p.batch = batch; p.M = M; p.N = N; p.K = K;
      p.A = dA; p.a_batch_stride = a_bs;
      p.a_row_stride = want_a_kc ? ldk : 1; p.a_col_stride = want_a_kc ? 1 : ldm;
      p.B = dB; p.b_batch_stride = b_bs;
      p.b_row_stride = want_b_kc ? 1 : ldn; p.b_col_stride = want_b_kc ? ldk : 1;
      p.c_batch_stride = c_bs; p.c_row_stride = N;
      p.alpha = 0.75; p.beta = 0.5; p.bias = dbias; p.bias_per_row = false;
      p.allow_tf32 = true;
      bool a_kc = false, b_kc = false;
      p.C = dC_ref;
      GemmArgs<float> a = make_args<float>(p, &a_kc, &b_kc);
      if (a_kc != want_a_kc || b_kc != want_b_kc || !a.a_vec || !a.b_vec) return "internal: unexpected layout";
      DLCORE_CUDA_CHECK(cudaMemcpyAsync(dC_ref, hC, batch * c_bs * sizeof(float), cudaMemcpyHostToDevice, s));
      DLCORE_CUDA_CHECK(cudaMemcpyAsync(dC_wg, hC, batch * c_bs * sizeof(float), cudaMemcpyHostToDevice, s));
      launch_tf32(a, batch, a_kc, b_kc, s);
      p.C = dC_wg;
      gemm_wgmma(p, a_kc, b_kc, s);
      DLCORE_CUDA_CHECK(cudaStreamSynchronize(s));
      DLCORE_CUDA_CHECK(cudaMemcpy(ref.data(), dC_ref, ref.size() * sizeof(float), cudaMemcpyDeviceToHost));
      DLCORE_CUDA_CHECK(cudaMemcpy(got.data(), dC_wg, got.size() * sizeof(float), cudaMemcpyDeviceToHost));
      // Max error relative to the largest output. TF32 rounding (truncation here, rounding
      // in sgemm_tf32) differs by ~1e-3 of that; one wrong or missing k-term is ~3e-2.
      double max_ref = 0, max_err = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        max_ref = std::max(max_ref, (double)std::fabs(ref[i]));
        const double e = std::fabs((double)got[i] - (double)ref[i]);
        max_err = (e == e) ? std::max(max_err, e) : INFINITY;  // NaN fails
      }
      const double rel = max_err / std::max(max_ref, 1e-30);
      if (!(rel <= 1e-2)) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "self-check mismatch (A %s, B %s): max error %.3g of max |C|",
                      a_kc ? "row-major" : "transposed", b_kc ? "transposed" : "row-major", rel);
        return msg;
      }
    }
  } catch (const std::exception& e) {
    cudaGetLastError();  // clear what can be cleared; a sticky error stays with the context
    return e.what();
  }
  return "";
}

// Whether gemm_wgmma may run on `dev` now; runs the self-check the first time.
bool wgmma_ready(int dev, cudaStream_t s) {
  if (dev < 0 || dev >= 64) return false;
  int st = g_wgmma_state[dev].load(std::memory_order_acquire);
  if (st != kWgUnverified) return st == kWgOn;
  if (wgmma_env_off()) {  // asked for: no warning
    g_wgmma_state[dev].store(kWgOff);
    return false;
  }
  // The self-check synchronizes and allocates, which a stream capture forbids: stay on
  // mma.sync for now and check at the first TF32 GEMM outside a capture.
  if (stream_capturing(s)) return false;
  std::lock_guard<std::mutex> lock(g_wgmma_mutex);
  st = g_wgmma_state[dev].load();
  if (st != kWgUnverified) return st == kWgOn;
  const std::string why = wgmma_self_check(s);
  if (!why.empty())
    std::fprintf(stderr, "dlcore: Hopper wgmma TF32 GEMM disabled on CUDA device %d, using mma.sync: %s\n",
                 dev, why.c_str());
  g_wgmma_state[dev].store(why.empty() ? kWgOn : kWgOff, std::memory_order_release);
  return why.empty();
}

template <typename T>
void run_gemm(const GemmParams& p, cudaStream_t s) {
  bool a_kc = false, b_kc = false;
  GemmArgs<T> a = make_args<T>(p, &a_kc, &b_kc);

  if constexpr (std::is_same<T, float>::value) {
    if (p.allow_tf32 && compute_major() >= 8) {
      if (compute_major() == 9 && wgmma_ready(current_device_id(), s)) {
        if (gemm_wgmma_copying(p, s)) return;
      } else if (a.a_vec && a.b_vec) {
        launch_tf32(a, p.batch, a_kc, b_kc, s);
        return;
      }
    }
    // Big tiles (8x8 per thread: 4 FMAs per shared-memory load, 4x4 does 2) when they fill
    // the GPU, alone or split along K -- an LSTM's weight gradients, (2048 x 512) over
    // K = T*N = 12800, are 64 big tiles x 4 slices; 64x64 tiles (4x more blocks) otherwise --
    // the LSTM's per-step (256 x 512) over K = 2048 is 8 big tiles, 32 small ones.
    const int64_t big_tiles = ceil_div(p.M, 128) * ceil_div(p.N, 128) * p.batch;
    if (big_tiles * simt_splits(big_tiles, p.M, p.N, p.K, p.batch, sizeof(float), s) >= sm_count())
      launch_simt<float, 128, 128, 8, 8, 8>(a, p.batch, a_kc, b_kc, s);
    else launch_simt<float, 64, 64, 16, 4, 4>(a, p.batch, a_kc, b_kc, s);
  } else {
    // float64: 64x64 tiles, 4x4 per thread (an 8x8 double micro-tile would spill registers).
    launch_simt<double, 64, 64, 16, 4, 4>(a, p.batch, a_kc, b_kc, s);
  }
}

}  // namespace

void gemm(const GemmParams& p, void* stream) {
  if (p.M < 0 || p.N < 0 || p.K < 0 || p.batch < 0) throw std::runtime_error("gemm: negative size");
  if (p.M == 0 || p.N == 0 || p.batch == 0) return;
  if (p.C == nullptr || (p.K > 0 && (p.A == nullptr || p.B == nullptr)))
    throw std::runtime_error("gemm: null operand pointer");
  DLCORE_DISPATCH_FLOAT(p.dtype, T, "gemm", run_gemm<T>(p, as_stream(stream)));
}

void compute_capability(int device, int* major, int* minor) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) cudaGetLastError();
  if (device < 0 || device >= count)
    throw std::runtime_error("invalid CUDA device " + std::to_string(device) + " (" + std::to_string(count) +
                             " devices)");
  DLCORE_CUDA_CHECK(cudaDeviceGetAttribute(major, cudaDevAttrComputeCapabilityMajor, device));
  DLCORE_CUDA_CHECK(cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, device));
}

const char* gemm_tf32_path(int device) {
  int major = 0, minor = 0;
  compute_capability(device, &major, &minor);
  if (major != 9 || device >= 64) return "mma.sync";
  const int st = g_wgmma_state[device].load();
  if (st == kWgOn) return "wgmma";
  if (st == kWgOff || wgmma_env_off()) return "mma.sync";
  return "unverified";
}

}  // namespace dlcore::cuda
