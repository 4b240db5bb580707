// gemm_internal.h — private contract between gemm.cpp (driver, baseline x86-64) and
// gemm_generic.cpp (shared epilogue, portable kernel), gemm_avx2.cpp / peak_avx2.cpp (compiled with -mavx2 -mfma) and gemm_avx512.cpp (compiled
// with -mavx512f/bw/dq/vl), called only after run-time CPU detection. Nothing here is
// visible outside csrc/cpu.
//
// Packed operand layouts (BLIS): an A micro-panel holds MR rows of A for kc steps of k,
// stored k-major: a[k*MR + i]. A B micro-panel holds NR columns for kc steps: b[k*NR + j].
// Panels at the M/N edge are zero-padded to full MR/NR, so a micro-kernel always runs a
// full MR x NR rank-kc update and only the write-back needs to know the true tile size.
#pragma once
#include <cstdint>

#include "../core/ops.h"

namespace dlcore::cpu::gemm_detail {

// What the write-back of one micro-tile does: C = act(alpha*AB + beta*C + bias).
// When K is split into several kc passes, the driver hands the user's beta and the bias to
// the first pass and the activation to the last; the middle passes get beta = 1.
template <typename T>
struct TileEpilogue {
  T alpha = 1, beta = 0;        // beta == 0: C is never read
  const T* bias = nullptr;      // offset to the tile's first row (per_row) or column
  bool bias_per_row = false;
  Activation act = Activation::None;
  // Optional side stream for the AVX-512 kernels (others ignore it): while the tile's k loop
  // runs, prefetch pf_rows rows of pf_lines cache lines each, pf_stride bytes apart, into L2
  // (the source of the B panels the driver packs next, see gemm_blocked).
  const char* pf = nullptr;
  int64_t pf_stride = 0;
  int pf_lines = 0, pf_rows = 0;
};

// Scalar write-back (gemm_generic.cpp) of an mr x nr accumulator tile, element (i, j) at
// acc[i*acc_rs + j*acc_cs], into C; acc == nullptr means a zero product (K == 0). The
// reference semantics of the epilogue: the SIMD kernels use it for edge tiles and for the
// transcendental activations, the driver for K == 0 and to transpose a C^T scratch back.
void store_tile(const float* acc, int64_t acc_rs, int64_t acc_cs, float* c, int64_t ldc,
                int64_t mr, int64_t nr, const TileEpilogue<float>& e);
void store_tile(const double* acc, int64_t acc_rs, int64_t acc_cs, double* c, int64_t ldc,
                int64_t mr, int64_t nr, const TileEpilogue<double>& e);

// Portable register tiles (gemm_generic.cpp): two 16-byte vectors per row, any ISA.
constexpr int kGenericMR = 6, kGenericNRf = 8, kGenericNRd = 4;
void ukr_f32_generic(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                     int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                     const TileEpilogue<float>& e);
void ukr_f64_generic(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                     int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                     const TileEpilogue<double>& e);

// AVX2+FMA register tiles. float: 6 rows x 16 columns = 12 ymm accumulators;
// double: 6 x 8 = 12 ymm accumulators. Two B vectors and one A broadcast complete the 15
// of 16 ymm registers; each k step issues 12 FMAs against 8 loads, so the two FMA pipes,
// not the load ports, are the limit. Like the AVX-512 kernels they run exact edge tiles
// (any mr <= 6 rows, masked columns), so they too may read a row-major B in place.
constexpr int kAvx2MRf = 6, kAvx2NRf = 16;
constexpr int kAvx2MRd = 6, kAvx2NRd = 8;
// A is read at a[i*rsa + k*csa]: (1, MR) for a packed panel, (lda, 1) for a row-major A
// used in place (small products, where packing A would cost as much as the product).
// B row k starts at b + k*ldb: ldb = NR for a packed panel; the AVX2 and AVX-512 kernels
// also accept a row-major B read in place, ldb = its row stride (their masked loads never
// touch columns past nr). The generic kernels always get packed, zero-padded panels.
void ukr_f32_avx2(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<float>& e);
void ukr_f64_avx2(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                  int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                  const TileEpilogue<double>& e);

// Narrow C (N <= 12) by dot products along k, as dot_f32_avx512 below (3-row x 4-column
// tiles of ymm accumulators); bt = B^T (N x K, row-major). pack_bt_f32_avx2 makes bt from a
// row-major B (row stride rs) by 8x8 transposes.
void dot_f32_avx2(int64_t M, int N, int64_t K, const float* a, int64_t lda, const float* bt,
                  int64_t ldbt, float* c, int64_t ldc, const TileEpilogue<float>& e);
void dot_f64_avx2(int64_t M, int N, int64_t K, const double* a, int64_t lda, const double* bt,
                  int64_t ldbt, double* c, int64_t ldc, const TileEpilogue<double>& e);
void pack_bt_f32_avx2(int64_t K, int N, const float* b, int64_t rs, float* bt);

// The kernel of one whole register tile (MR rows, NR columns, no masks), A packed
// (rsa = 1, csa = MR) or read in place (csa = 1); same arguments as ukr_* (mr is ignored).
// The driver calls it directly for the whole tiles of a block: the dispatch by row count
// and width in ukr_* (a table lookup and an indirect jump behind a stack-realigning call)
// cost ~14% of a K = 10 product, whose tiles are 10 k steps long.
template <typename T>
using UkrFull = void (*)(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b,
                         int64_t ldb, T* c, int64_t ldc, int mr, int nr,
                         const TileEpilogue<T>& e);
// An edge tile of mr rows whose row count has no kernel of its own (row[mr - 1] == nullptr;
// AVX-512 and float64 AVX2 keep only a few row counts): runs it as pieces, each the largest row count of
// `row` that fits (11 = 8 + 2 + 1), over the same B panel. Rows are independent in the
// product and the epilogue; a per-row bias moves with the piece, and the side stream is
// prefetched once, with the first piece. Internal linkage (the anonymous namespace): each
// kernel file keeps its own copy, compiled for its instruction set, so the linker never
// hands the AVX2 kernels an AVX-512 build of this loop.
namespace {
template <typename T>
inline void run_in_pieces(const UkrFull<T>* row, int64_t kc, const T* a, int64_t rsa,
                          int64_t csa, const T* b, int64_t ldb, T* c, int64_t ldc, int mr,
                          int nr, const TileEpilogue<T>& e) {
  TileEpilogue<T> pe = e;
  for (int r0 = 0; r0 < mr;) {
    int piece = mr - r0;
    while (!row[piece - 1]) --piece;   // row[0] (one row) always exists
    if (e.bias && e.bias_per_row) pe.bias = e.bias + r0;
    row[piece - 1](kc, a + r0 * rsa, rsa, csa, b, ldb, c + r0 * ldc, ldc, piece, nr, pe);
    pe.pf_rows = 0;
    r0 += piece;
  }
}
}  // namespace
// `tiles` whole tiles down one column of C with one B panel: tile t reads A at
// a + t*a_step and writes C at c + t*MR*ldc. A short k loop (K = 10: ~70 cycles of FMAs
// per tile) paid about as much again for the per-tile call from the driver.
template <typename T>
using UkrColumn = void (*)(int64_t tiles, int64_t a_step, int64_t kc, const T* a, int64_t rsa,
                           int64_t csa, const T* b, int64_t ldb, T* c, int64_t ldc,
                           const TileEpilogue<T>& e);
UkrColumn<float> ukr_f32_avx2_column(bool packed);
UkrColumn<double> ukr_f64_avx2_column(bool packed);
UkrColumn<float> ukr_f32_avx512_column(bool packed);
UkrColumn<double> ukr_f64_avx512_column(bool packed);
UkrFull<float> ukr_f32_avx2_full(bool packed);
UkrFull<double> ukr_f64_avx2_full(bool packed);
UkrFull<float> ukr_f32_avx512_full(bool packed);
UkrFull<double> ukr_f64_avx512_full(bool packed);

// Packs B[k0:k0+kc, j0:j0+NR] for a B with unit row stride (B is a transposed view, e.g. the
// weight of Linear read as W^T) into one float32 micro-panel of width 16, using 8x8
// in-register transposes. nr <= 16 columns are valid; the rest are zero-filled.
void pack_b_rowunit_f32_avx2(int64_t kc, int nr, const float* b, int64_t b_col_stride,
                             float* dst);
// The 6-row A panel of a row-major A (row stride rs), packed by in-register transposes.
void pack_a_rowmajor_f32_avx2(int64_t kc, int mr, const float* a, int64_t rs, float* dst);

// AVX-512 register tiles (gemm_avx512.cpp): 12 rows x 2 zmm (float 12x32, double 12x16) =
// 24 of the 32 zmm registers as accumulators. The kernel is instantiated for the row counts
// 1, 2, 4, 8 and 12 (other edges run as pieces of those) and for one or two column vectors,
// so an edge tile runs only the rows and vectors it needs (no zero-padded FMAs), and masked
// loads/stores clip the last vector.
// A packed A panel has rsa = 1, csa = kAvx512MR (any mr); a direct A has csa = 1.
constexpr int kAvx512MR = 12, kAvx512NRf = 32, kAvx512NRd = 16;
void ukr_f32_avx512(int64_t kc, const float* a, int64_t rsa, int64_t csa, const float* b,
                    int64_t ldb, float* c, int64_t ldc, int mr, int nr,
                    const TileEpilogue<float>& e);
void ukr_f64_avx512(int64_t kc, const double* a, int64_t rsa, int64_t csa, const double* b,
                    int64_t ldb, double* c, int64_t ldc, int mr, int nr,
                    const TileEpilogue<double>& e);
// Narrow C (N <= 12): C[i,j] = act(alpha * <A row i, Bt row j> + beta*C + bias), A row-major
// (lda), Bt = B^T row-major (N x K, ldbt), vectors along k; rows i in [0, M).
void dot_f32_avx512(int64_t M, int N, int64_t K, const float* a, int64_t lda, const float* bt,
                    int64_t ldbt, float* c, int64_t ldc, const TileEpilogue<float>& e);
void dot_f64_avx512(int64_t M, int N, int64_t K, const double* a, int64_t lda,
                    const double* bt, int64_t ldbt, double* c, int64_t ldc,
                    const TileEpilogue<double>& e);
// bt = B^T (N x K, row-major) from a row-major B (row stride rs, 15*rs < 2^31), for dot_*.
void pack_bt_f32_avx512(int64_t K, int N, const float* b, int64_t rs, float* bt);
// Transpose-pack for a B with unit row stride into a 32-wide float panel (see the AVX2 one).
void pack_b_rowunit_f32_avx512(int64_t kc, int nr, const float* b, int64_t b_col_stride,
                               float* dst);
// The 12-row A panel of a row-major A (row stride rs), packed by the same transposes.
void pack_a_rowmajor_f32_avx512(int64_t kc, int mr, const float* a, int64_t rs, float* dst);

// peak_avx2.cpp: runs `iters` steps of 12 independent 8-wide FMA chains; returns a value
// derived from the accumulators so the loop cannot be optimised away.
float fma_spin_avx2(int64_t iters);

}  // namespace dlcore::cpu::gemm_detail
