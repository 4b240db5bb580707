// gemm_wgmma.cu — Hopper (sm_90a) TF32 GEMM on wgmma.mma_async: the same contract as the
// kernels of gemm.cu, and the one epilogue of gemm_common.cuh:
//
//   C[b] = act(alpha * A[b] @ B[b] + beta * C[b] + bias)        (core/gemm_params.h)
//
// gemm.cu calls it for float32 with allow_tf32 on compute capability 9.x, only after a
// one-time self-check against its mma.sync kernel on the same device (see gemm.cu), through
// gemm_wgmma_copying (end of file): a big product first gets K-contiguous copies of operands
// that are not (the transposing loads below run at half the speed). This file
// was written and compiled without a GPU; that self-check is what protects users if it is wrong.
//
// Design, kept simple on purpose:
//  * Block tile 128 x 128, k-tile 32, 256 threads = 2 warpgroups. Warpgroup w owns rows
//    [64w, 64w+64) of the tile and issues wgmma.m64n128k8 (the whole 128-wide N of the tile,
//    64 fp32 accumulators per thread), 4 per k-tile. No producer/consumer split: every
//    thread loads, then both warpgroups multiply.
//  * Shared layout. tf32 wgmma has no transpose bit: both operands must be K-major in shared
//    memory, A as 128 rows (m) x 32 k, B as 128 rows (n) x 32 k (B^T). A row of 32 floats is
//    exactly 128 bytes, so a tile is a stack of 128-byte-swizzle atoms of 8 rows x 128 B:
//    16-byte chunk q (k = 4q..4q+3) of row r is stored at chunk position q ^ (r % 8). The
//    hardware applies that XOR to address bits 4-6 from bits 7-9, so every tile starts on a
//    1024-byte boundary and the XOR we write by hand is the one it reads.
//  * Descriptors (64 bits): start address >> 4 in bits 0-13; leading byte offset 1 (ignored
//    for swizzled K-major); stride byte offset 1024 >> 4 = 64 in bits 32-45 (from one group
//    of 8 rows to the next); base offset 0 in bits 49-51 (atoms are 1024-aligned); swizzle
//    mode 1 = 128B in bits 62-63. The j-th 8-wide k slice of a tile is the same descriptor
//    with the start address advanced by 32 bytes (j * 8 floats): the swizzle is applied to
//    the final address, which is exactly where the loader put those chunks.
//  * Loading. An operand whose k direction is contiguous in global memory (A row-major, B
//    given as a W^T view) is copied with cp.async 16-byte copies straight into the swizzled
//    rows; edges zero-fill (src-size 0..16). An operand contiguous along m/n (A^T view,
//    row-major B) needs a transpose: float4 loads along m/n into registers, then 4 scalar
//    st.shared into 4 different rows. Both are ordinary (generic proxy) writes, so each
//    writer runs fence.proxy.async.shared::cta before the barrier that precedes the wgmma
//    (async proxy) reads.
//  * Pipeline: 4 stages of 32 KB, loads issued 2 k-tiles ahead, and (cp.async variant) one
//    wgmma group left in flight (wgmma.wait_group 1) while the next tile is waited for. At
//    k-tile t the slots hold t (being multiplied), t-1 (maybe still read by the previous
//    group), t+1 (landing) and t+2 (being loaded into the slot of t-2, whose group every
//    thread retired before the barrier of step t). 128 KB + 1 KB for alignment: one block
//    per SM.
//  * TF32: operands go in as raw fp32 bits and the tensor core uses only their tf32 part
//    (the low 13 mantissa bits are dropped, i.e. truncation), as TMA-fed cuBLAS/CUTLASS
//    kernels do. Rounding in place would cost a second pass over shared memory per k-tile.
//    Expect a relative (Frobenius) error near 1e-3 on random data, about 2.5x that of
//    gemm.cu's mma.sync kernel, which rounds with cvt.rna.
// All wgmma code sits inside __CUDA_ARCH_FEAT_SM90_ALL (sm_90a); the sm_80 pass compiles the
// kernels to empty bodies, which the self-check would catch if they were ever launched.
#include <algorithm>
#include <memory>

#include "common.cuh"
#include "gemm_common.cuh"
#include "kernels.h"

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define DLCORE_WGMMA_DEVICE 1
#endif

namespace dlcore::cuda {
namespace {

constexpr int kBM = 128, kBN = 128, kBK = 32, kThreads = 256;
constexpr int kStages = 4;                             // ring of k-tiles, see above
constexpr int kTileBytes = kBM * kBK * 4;              // 16 KB, same for the B tile (kBN = kBM)
constexpr int kStageBytes = 2 * kTileBytes;
constexpr int kSmemBytes = kStages * kStageBytes + 1024;  // + room to align to 1024

using WgArgs = GemmArgs<float>;

#ifdef DLCORE_WGMMA_DEVICE
// ---- PTX wrappers ---------------------------------------------------------------------------
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void st_shared(uint32_t dst, float v) {
  asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(dst), "f"(v) : "memory");
}
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr) {
  return (uint64_t)((addr & 0x3FFFF) >> 4)   // start address
         | (uint64_t)1 << 16                 // leading byte offset: unused here, 1 by convention
         | (uint64_t)(1024 >> 4) << 32       // stride byte offset: 8 rows x 128 B
         | (uint64_t)1 << 62;                // 128-byte swizzle
}
// Keeps the compiler from moving accumulator reads/writes across wgmma fences and waits.
__device__ __forceinline__ void fence_acc(float (&d)[64]) {
#pragma unroll
  for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// d[64] += A(64 x 8, K-major, descriptor da) * B(8 x 128, stored K-major as 128 x 8, db).
__device__ __forceinline__ void wgmma_m64n128k8(float (&d)[64], uint64_t da, uint64_t db) {
#define DLC_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), \
                  "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, "
      "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "
      "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "
      "%56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
      : DLC_D8(0), DLC_D8(8), DLC_D8(16), DLC_D8(24), DLC_D8(32), DLC_D8(40), DLC_D8(48), DLC_D8(56)
      : "l"(da), "l"(db), "r"(1)   // scale-d = 1: D += A*B (accumulators start at zero)
      : "memory");
#undef DLC_D8
}

// Byte offset of element (row r, k) inside a swizzled 128-row x 32-k tile.
__device__ __forceinline__ uint32_t swz(int r, int k) {
  return (uint32_t)(r * 128 + ((((k >> 2) ^ (r & 7))) << 4) + ((k & 3) << 2));
}

// Loads rows [r0, r0+128) x k [k0, k0+32) of an operand into the tile at `tile`. Element
// (row, k) is at src[row * rs + k * ks]; KC: ks == 1 (k contiguous), else rs == 1. The host
// guarantees 16-byte alignment of src, of the other stride and hence of every 4-chunk.
template <bool KC>
__device__ __forceinline__ void load_tile(uint32_t tile, const float* src, int64_t rs, int64_t ks,
                                          int64_t r0, int64_t R, int64_t k0, int64_t K, int tid) {
  if (KC) {
    // 1024 chunks of 16 B: chunk c is row c/8, k-chunk c%8. A warp covers 4 whole rows, so
    // global reads are 128-byte lines and the swizzled shared writes hit every bank once.
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = tid + j * kThreads, r = c >> 3, q = c & 7;
      const int64_t row = r0 + r, k = k0 + q * 4, left = K - k;
      const int bytes = (row < R && left > 0) ? (int)(left >= 4 ? 16 : left * 4) : 0;
      cp_async16(tile + r * 128 + ((q ^ (r & 7)) << 4), bytes ? src + row * rs + k : src, bytes);
    }
  } else {
    // Transposing load. A warp reads 2 chunks of 4 rows (32 B) at 16 consecutive k: full 32 B
    // sectors, and the 32 scattered 4-byte stores of each j land in 32 distinct banks.
    float v[4][4];
    int rr[4], kr[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = tid + j * kThreads, w = c >> 5, l = c & 31;
      kr[j] = (w & 1) * 16 + (l >> 1);
      rr[j] = ((w >> 1) * 2 + (l & 1)) * 4;
      const int64_t k = k0 + kr[j], row = r0 + rr[j];
      const float* s = src + k * ks + row;
      if (k < K && row + 4 <= R) {
        const float4 x = *reinterpret_cast<const float4*>(s);
        v[j][0] = x.x; v[j][1] = x.y; v[j][2] = x.z; v[j][3] = x.w;
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) v[j][e] = (k < K && row + e < R) ? s[e] : 0.f;
      }
    }
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) st_shared(tile + swz(rr[j] + e, kr[j]), v[j][e]);
  }
}
#endif  // DLCORE_WGMMA_DEVICE

template <bool A_KC, bool B_KC>
__global__ void __launch_bounds__(kThreads, 1) gemm_wgmma_kernel(const WgArgs p) {
#ifdef DLCORE_WGMMA_DEVICE
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t raw = (uint32_t)__cvta_generic_to_shared(smem_raw);
  const uint32_t smem = (raw + 1023u) & ~1023u;  // swizzle atoms need 1024-byte alignment

  // wgmma groups left in flight across the next barrier: 1 when both operands arrive by
  // cp.async. With a transposing load (register loads in the loop) ptxas 13.0 serializes
  // every wgmma when a group stays in flight (warning C7515), so those variants retire each
  // k-tile's group at its end; their global loads still overlap that group.
  constexpr int kInFlight = (A_KC && B_KC) ? 1 : 0;
  constexpr int kAhead = 2;  // k-tiles loaded ahead: at most kStages - 2 (slot reuse above)
  const int tid = threadIdx.x, wg = tid >> 7;
  const int64_t batch = p.batch_base + blockIdx.z;
  const int64_t m0 = (blockIdx.x / p.tiles_n) * kBM, n0 = (blockIdx.x % p.tiles_n) * kBN;
  const float* Ab = p.A + batch * p.a_bs;
  const float* Bb = p.B + batch * p.b_bs;
  float* Cb = p.C + batch * p.c_bs;

  // Stage s: A tile at smem + s * kStageBytes, B tile right after it.
  auto load_stage = [&](int64_t kt) {
    const uint32_t a_tile = smem + (uint32_t)(kt % kStages) * kStageBytes;
    load_tile<A_KC>(a_tile, Ab, p.a_rs, p.a_cs, m0, p.M, kt * kBK, p.K, tid);
    // B as rows n: element (n, k) is B[k * b_rs + n * b_cs].
    load_tile<B_KC>(a_tile + kTileBytes, Bb, p.b_cs, p.b_rs, n0, p.N, kt * kBK, p.K, tid);
  };

  float d[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) d[i] = 0.f;

  const int64_t nk = (p.K + kBK - 1) / kBK;
#pragma unroll
  for (int s = 0; s < kAhead; ++s) {
    if (s < nk) load_stage(s);
    asm volatile("cp.async.commit_group;\n" ::: "memory");
  }
  for (int64_t kt = 0; kt < nk; ++kt) {
    // Stage kt has landed for this thread's copies (the kAhead-1 newer groups may not have);
    // make this thread's generic-proxy writes visible to the async proxy, then to everyone.
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kAhead - 1) : "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();

    const uint32_t a_tile = smem + (uint32_t)(kt % kStages) * kStageBytes;
    const uint64_t da = smem_desc(a_tile + wg * 64 * 128);  // this warpgroup's 64 rows
    const uint64_t db = smem_desc(a_tile + kTileBytes);
    fence_acc(d);
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int j = 0; j < kBK / 8; ++j) wgmma_m64n128k8(d, da + 2 * j, db + 2 * j);  // +32 B
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");

    // Refill the slot of k-tile kt-2 (its group retired before the barrier above).
    if (kt + kAhead < nk) load_stage(kt + kAhead);
    asm volatile("cp.async.commit_group;\n" ::: "memory");  // possibly empty: uniform counts
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kInFlight) : "memory");
    fence_acc(d);
  }
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(0) : "memory");
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
  fence_acc(d);

  // Accumulator layout (m64nNk8, f32): warp w of the warpgroup holds rows 16w..16w+15; lane
  // (g = lane/4, t = lane%4) holds, for each 8-column slice i, d[4i + q] at row g + 8*(q/2),
  // column 8i + 2t + q%2.
  const int lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int64_t row0 = m0 + wg * 64 + ((tid >> 5) & 3) * 16 + g;
#pragma unroll
  for (int i = 0; i < 16; ++i)
#pragma unroll
    for (int q = 0; q < 4; ++q)
      store_c(p, Cb, row0 + (q >> 1) * 8, n0 + i * 8 + 2 * t + (q & 1), d[4 * i + q]);
#endif
}

template <bool A_KC, bool B_KC>
void launch_variant(const WgArgs& a, dim3 grid, cudaStream_t s) {
  // More than 48 KB of dynamic shared memory must be opted into, once per device.
  static std::atomic<uint64_t> configured{0};
  const uint64_t bit = uint64_t(1) << (current_device_id() & 63);
  if (!(configured.load() & bit)) {
    DLCORE_CUDA_CHECK(cudaFuncSetAttribute(gemm_wgmma_kernel<A_KC, B_KC>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
    configured.fetch_or(bit);
  }
  gemm_wgmma_kernel<A_KC, B_KC><<<grid, kThreads, kSmemBytes, s>>>(a);
  DLCORE_LAUNCH_CHECK("gemm_wgmma");
}

// Whether this build holds a Hopper kernel image for the current device.
template <bool A_KC, bool B_KC>
bool has_image() {
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, gemm_wgmma_kernel<A_KC, B_KC>) != cudaSuccess) {
    cudaGetLastError();  // "no kernel image" is not sticky: clear it
    return false;
  }
  // A body compiled without the sm_90a features (an "90" instead of "90a" build) is empty and
  // needs a handful of registers; the real one holds 64 accumulators.
  return attr.binaryVersion >= 90 && attr.numRegs >= 64;
}

// ---- K-contiguous copies of operands for the wgmma kernel ----------------------------------
// dst[b][r][k] (row length Kp, a multiple of 4 so that every row starts 16-byte aligned) =
// src[b*bs + r*rs + k*ks]. A 32 x 32 tile goes through shared memory (padded rows: the
// transposed reads hit 32 banks); threads read along r, coalesced for the operands this is
// for (rs == 1: row-major B, column-major A), and write along k, whole 128-byte lines.
__global__ void to_k_contiguous(const float* __restrict__ src, int64_t bs, int64_t rs, int64_t ks, int64_t R,
                                int64_t K, int64_t Kp, float* __restrict__ dst, int64_t batch_base) {
  __shared__ float tile[32][33];
  const int64_t b = batch_base + blockIdx.z;
  const int64_t r0 = (int64_t)blockIdx.x * 32, k0 = (int64_t)blockIdx.y * 32;
  const float* sb = src + b * bs;
  float* db = dst + b * R * Kp;
  for (int i = threadIdx.y; i < 32; i += 8) {
    const int64_t k = k0 + i, r = r0 + threadIdx.x;
    if (k < K && r < R) tile[i][threadIdx.x] = sb[r * rs + k * ks];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < 32; i += 8) {
    const int64_t r = r0 + i, k = k0 + threadIdx.x;
    if (r < R && k < K) db[r * Kp + k] = tile[threadIdx.x][i];
  }
}

struct KContiguousStaging {
  std::unique_ptr<Scratch> a, b;
};

// Copies one operand (R rows of K, batches copies) into a fresh workspace; false when the
// workspace would pass 256 MiB or cannot be had (nothing is launched then).
bool stage_operand(const float* src, int64_t batches, int64_t bs, int64_t rs, int64_t ks, int64_t R, int64_t K,
                   std::unique_ptr<Scratch>& ws, float** dst, int64_t* Kp, cudaStream_t s) {
  *Kp = ceil_div(K, 4) * 4;
  const int64_t bytes = batches * R * *Kp * (int64_t)sizeof(float);
  if (bytes > (int64_t(256) << 20) || ceil_div(K, 32) > 65535) return false;
  try {
    ws = std::make_unique<Scratch>((size_t)bytes);
  } catch (const std::exception&) {
    cudaGetLastError();
    return false;
  }
  *dst = static_cast<float*>(ws->ptr);
  over_batches(batches, [&](unsigned z, int64_t b0) {
    const dim3 grid((unsigned)ceil_div(R, 32), (unsigned)ceil_div(K, 32), z);
    to_k_contiguous<<<grid, dim3(32, 8), 0, s>>>(src, bs, rs, ks, R, K, *Kp, *dst, b0);
    DLCORE_LAUNCH_CHECK("gemm (K-contiguous copy)");
  });
  return true;
}

// Rewrites q (a copy of the caller's params) to read a K-contiguous, 16-byte aligned copy of
// each operand that is not one already, when that pays: the copy moves 8·R·K bytes (~0.15 ms
// for 8192 x 8192 at ~3.5 TB/s) and saves ~5.4e-15 s per multiply-add (1/88 - 1/167 TFLOP/s,
// 2 flops), so the other dimension must pass ~200 (512 here) and the product hide a launch
// (2^28 multiply-adds, ~650³). Never while the stream is captured (the workspace may call
// cudaMalloc), nor for K < 32 (not one whole k-tile). *_kc then describe q. Returns whether
// wgmma can take q: each operand K-contiguous-and-aligned now, or 16-byte loadable as it was
// (the transposing loads); an unaligned operand too small to copy leaves the product to the
// SIMT kernel, as before.
bool stage_k_contiguous(GemmParams& q, bool& a_kc, bool a_vec, bool& b_kc, bool b_vec, KContiguousStaging& st,
                        cudaStream_t s) {
  const bool a_ready = a_kc && a_vec, b_ready = b_kc && b_vec;
  const bool worth = !(a_ready && b_ready) && q.K >= 32 &&
                     (double)q.M * q.N * q.K * q.batch >= double(1 << 28) && !stream_capturing(s);
  const bool want_a = worth && !a_ready && q.N >= 512, want_b = worth && !b_ready && q.M >= 512;
  if ((!a_vec && !want_a) || (!b_vec && !want_b)) return false;   // SIMT takes it: copy nothing
  float* dst = nullptr;
  int64_t Kp = 0;
  bool a_ok = a_vec, b_ok = b_vec;
  if (want_a &&
      stage_operand(static_cast<const float*>(q.A), q.a_batch_stride ? q.batch : 1, q.a_batch_stride,
                    q.a_row_stride, q.a_col_stride, q.M, q.K, st.a, &dst, &Kp, s)) {
    q.A = dst;
    q.a_batch_stride = q.a_batch_stride ? q.M * Kp : 0;
    q.a_row_stride = Kp;
    q.a_col_stride = 1;
    a_kc = a_ok = true;
  }
  if (want_b &&
      stage_operand(static_cast<const float*>(q.B), q.b_batch_stride ? q.batch : 1, q.b_batch_stride,
                    q.b_col_stride, q.b_row_stride, q.N, q.K, st.b, &dst, &Kp, s)) {
    q.B = dst;
    q.b_batch_stride = q.b_batch_stride ? q.N * Kp : 0;
    q.b_row_stride = 1;
    q.b_col_stride = Kp;
    b_kc = b_ok = true;
  }
  return a_ok && b_ok;
}

}  // namespace

bool gemm_wgmma_available() {
  return has_image<true, true>() && has_image<true, false>() && has_image<false, true>() &&
         has_image<false, false>();
}

void gemm_wgmma(const GemmParams& p, bool a_kc, bool b_kc, void* stream) {
  bool layout_a_kc = false, layout_b_kc = false;
  WgArgs a = make_args<float>(p, &layout_a_kc, &layout_b_kc);
  a.tiles_n = (p.N + kBN - 1) / kBN;
  const int64_t tiles = (p.M + kBM - 1) / kBM * a.tiles_n;
  if (tiles > 0x7fffffff) throw std::runtime_error("gemm: matrix too large");
  cudaStream_t s = as_stream(stream);
  over_batches(p.batch, [&](unsigned z, int64_t b0) {
    a.batch_base = b0;
    const dim3 grid((unsigned)tiles, 1, z);
    if (a_kc && b_kc) launch_variant<true, true>(a, grid, s);
    else if (a_kc) launch_variant<true, false>(a, grid, s);
    else if (b_kc) launch_variant<false, true>(a, grid, s);
    else launch_variant<false, false>(a, grid, s);
  });
}

bool gemm_wgmma_copying(const GemmParams& p, void* stream) {
  cudaStream_t s = as_stream(stream);
  bool a_kc = false, b_kc = false;
  const WgArgs a = make_args<float>(p, &a_kc, &b_kc);
  GemmParams q = p;
  KContiguousStaging staged;   // workspaces, returned after the GEMM is queued
  if (!stage_k_contiguous(q, a_kc, a.a_vec, b_kc, a.b_vec, staged, s)) return false;
  gemm_wgmma(q, a_kc, b_kc, s);
  return true;
}

}  // namespace dlcore::cuda
