// conv_winograd.cpp — 3x3, stride-1 float32 convolutions of wide layers (>= 32 channels in and
// out) by Winograd's minimal filtering F(2x2, 3x3), all three passes. conv.cpp asks it first;
// where it declines (returns false) the pass runs on the direct kernels or im2col + GEMM.
//
// Why. A 3x3 convolution computes each 2x2 block of outputs from a 4x4 block of inputs with
// 2*2*3*3 = 36 multiplications per (input, output) channel pair. Winograd's F(2x2, 3x3) needs 16:
//
//   Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A        d: 4x4 input tile, g: 3x3 kernel, Y: 2x2 outputs
//
//   B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1  1  1  0 |
//         | 0  1  1  0 |        | 1/2  1/2  1/2|          | 0  1 -1 -1 |
//         | 0 -1  1  0 |        | 1/2 -1/2  1/2|
//         | 0  1  0 -1 |        | 0    0    1  |
//
// Summed over the input channels, the element-wise products become 16 independent matrix
// products, one per point xi of the 4x4 transform domain:
//
//   forward        M[xi] (K x T) = U[xi] (K x C) @ V[xi] (C x T)      U = G g G^T, V = B^T d B
//                  then Y = A^T M A per tile (+ bias, ReLU)
//   input grad     the forward of the output gradient with the flipped, transposed kernel
//                  (dx = conv(dy, w'[c, k, i, j] = w[k, c, 2-i, 2-j]), padding 2 - p)
//   weight grad    dU[xi] (K x C) = sum over tiles Z[xi] (K x T) @ V[xi]^T, Z = A dY A^T,
//                  then dw = G^T dU G — the adjoint of the forward in U: <dY, A^T(U⊙V)A> =
//                  <(A dY A^T) ⊙ V, U> = <G^T [(A dY A^T) ⊙ V] G, g>
//
// with T tiles of 2x2 outputs as the GEMM's long dimension (batch = the 16 points). 2.25x
// fewer multiplications than direct or im2col convolution; the transforms are additions on
// data of the input / output size. Measured 2026-12-03 (AMD EPYC Zen4, one thread, CPU time,
// interleaved with the direct kernels on a shared machine): 16x128x16x16 -> 128 forward
// 13.3 -> 7.1-7.8 ms, input grad 13.4 -> 7.5-8.1 ms, weight grad 13.7 -> 7.8-8.1 ms (the
// GEMMs ~2/3 of it at ~88% of the FMA peak, the transforms the rest); two threads, idle, the
// benchmark's forward + backward step 13.45 ms against torch's 21.19 (was 21.5 vs 21.6).
// Accuracy: the transform entries are 0, ±1, ±1/2; the error against float64 measured
// 2-5e-7 relative, no worse than the direct kernels' (the tests hold both to one tolerance).
//
// Slices and threads. Tile rows of all images form one sequence (image by image); each thread
// takes a contiguous range of it (so one large image still splits over the threads) and runs
// it in slices of ~T_target tiles: transform the slice's input into V (16 x C x T, ~512 KB,
// so V and the GEMM's output stay near the core's L2), one batched GEMM, transform the result
// out.
// The GEMMs inside the parallel region are single-threaded. The weight gradient is summed per
// thread in the transform domain, then over threads in order: reproducible for a given
// thread count.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv_internal.h"
#include "conv_winograd.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace conv_detail {
namespace {

// Narrower layers run the direct kernels (conv_direct.cpp). Measured 2026-12-03 (one thread,
// fwd + dx + dw, Winograd vs direct): 32 channels 19.7 vs 24.1 ms (32x32x32x32), 48: 40.7 vs
// 55.3 ms, but 16: 9.8 vs 6.9 ms (the weight gradient's GEMMs are too thin).
constexpr int64_t kMinChannels = 32;

using conv_winograd::Geom;
using conv_winograd::RowTransforms;
using conv_winograd::xi_stride;

Geom geom(int64_t cin, int64_t cout, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t pt,
          int64_t pl) {
  Geom g;
  g.cin = cin; g.cout = cout; g.H = H; g.W = W; g.OH = OH; g.OW = OW; g.pt = pt; g.pl = pl;
  g.TH = (OH + 1) / 2;
  g.TW = (OW + 1) / 2;
  return g;
}

// Tiles per slice: V (16 x cin x T floats) ~512 KB, between 32 and 256 tiles.
int64_t slice_tiles(const Geom& g) {
  const int64_t ch = std::max(g.cin, g.cout);
  return std::clamp<int64_t>((int64_t(1) << 19) / (16 * 4 * ch), 32, 256);
}

// ---- kernel transforms ------------------------------------------------------------------------

// U[xi][o*cin + i] = (G g G^T)[xi], g the 3x3 kernel from input channel i to output channel o:
// g(a, b) = w[o, i, a, b] (flip = false; w is cout x cin x 3 x 3) or w[i, o, 2-a, 2-b]
// (flip = true, the input gradient's kernel; w is cin x cout x 3 x 3).
void transform_kernel(const float* w, int64_t cout, int64_t cin, bool flip, float* U) {
  const int64_t pairs = cout * cin, xs = xi_stride(pairs, 1);
  parallel_for(pairs, grain_for(64), [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      const int64_t o = q / cin, i = q % cin;
      float g[3][3];
      const float* src = flip ? w + (i * cout + o) * 9 : w + q * 9;
      for (int a = 0; a < 3; ++a)
        for (int c = 0; c < 3; ++c) g[a][c] = flip ? src[8 - (a * 3 + c)] : src[a * 3 + c];
      float t[4][3];   // G g
      for (int c = 0; c < 3; ++c) {
        t[0][c] = g[0][c];
        t[1][c] = 0.5f * (g[0][c] + g[1][c] + g[2][c]);
        t[2][c] = 0.5f * (g[0][c] - g[1][c] + g[2][c]);
        t[3][c] = g[2][c];
      }
      for (int a = 0; a < 4; ++a) {   // (G g) G^T
        float* u = U + (a * 4) * xs + q;
        u[0] = t[a][0];
        u[xs] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        u[2 * xs] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
        u[3 * xs] = t[a][2];
      }
    }
  });
}

// dw[o, i, :, :] = G^T dU G for dU[xi][o*cin + i] (the adjoint of transform_kernel, no flip).
void inverse_kernel_transform(const float* dU, int64_t cout, int64_t cin, float* dw) {
  const int64_t pairs = cout * cin, xs = xi_stride(pairs, 1);
  parallel_for(pairs, grain_for(64), [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      float d[4][4];
      for (int xi = 0; xi < 16; ++xi) d[xi / 4][xi % 4] = dU[xi * xs + q];
      float s[3][4];   // G^T d
      for (int c = 0; c < 4; ++c) {
        s[0][c] = d[0][c] + 0.5f * (d[1][c] + d[2][c]);
        s[1][c] = 0.5f * (d[1][c] - d[2][c]);
        s[2][c] = 0.5f * (d[1][c] + d[2][c]) + d[3][c];
      }
      float* out = dw + q * 9;
      for (int a = 0; a < 3; ++a) {   // (G^T d) G
        out[a * 3 + 0] = s[a][0] + 0.5f * (s[a][1] + s[a][2]);
        out[a * 3 + 1] = 0.5f * (s[a][1] - s[a][2]);
        out[a * 3 + 2] = 0.5f * (s[a][1] + s[a][2]) + s[a][3];
      }
    }
  });
}

// ---- data transforms: conv_winograd_rows.h, portable here, AVX2 in conv_winograd_avx2.cpp ----

#include "conv_winograd_rows.h"

// The AVX2 build wherever the CPU path has AVX2 (the AVX-512 path included: a tile row is
// 8-16 tiles for the usual maps, one or two 8-lane vectors).
RowTransforms row_transforms() {
  if (std::strcmp(gemm_simd_path(), "generic") != 0) return conv_winograd::row_transforms_avx2();
  return conv_winograd::row_transforms_portable();
}

// ---- the driver ----------------------------------------------------------------------------------

// Threads for `flops` of work over `rows` tile rows (small passes stay on the calling thread).
int pass_threads(double flops, int64_t rows) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  const int nt = num_threads();
  return (nt > 1 && flops >= 4.0e6) ? (int)std::min<int64_t>(nt, rows) : 1;
}

// Splits the global tile rows [s0, s1) (image n's rows are n * TH .. n * TH + TH - 1) at the
// image boundaries: f(n, ty0, ty1, col0) per image, col0 its first column in the slice.
template <typename F>
void over_images_of(const Geom& g, int64_t s0, int64_t s1, F&& f) {
  for (int64_t r = s0; r < s1;) {
    const int64_t n = r / g.TH, ty0 = r % g.TH, ty1 = std::min(g.TH, ty0 + (s1 - r));
    f(n, ty0, ty1, (r - s0) * g.TW);
    r += ty1 - ty0;
  }
}

// Per-thread buffers, allocated before the parallel region (no exception may escape it).
struct Buffers {
  std::vector<std::unique_ptr<Scratch>> a, b, rows, acc;
  Buffers(int nt, size_t a_floats, size_t b_floats, size_t row_floats, size_t acc_floats) {
    for (int t = 0; t < nt; ++t) {
      a.emplace_back(new Scratch(a_floats * sizeof(float)));
      b.emplace_back(new Scratch(b_floats * sizeof(float)));
      rows.emplace_back(new Scratch(row_floats * sizeof(float)));
      acc.emplace_back(new Scratch(acc_floats * sizeof(float)));
    }
  }
};

GemmParams batched(int64_t M, int64_t N, int64_t K) {
  GemmParams gp;
  gp.dtype = DType::Float32;
  gp.batch = 16;
  gp.M = M; gp.N = N; gp.K = K;
  return gp;
}

// The forward convolution of geometry g over N images: x (N, cin, H, W) -> y (N, cout, OH, OW),
// U the transformed kernel (16 x cout x cin).
void run_conv(const Geom& g, int64_t N, const float* x, const float* U, const float* bias,
              bool relu, float* y) {
  const int64_t rows_total = N * g.TH, Tmax = slice_tiles(g);
  const int64_t rows_per_slice = std::max<int64_t>(1, Tmax / g.TW);
  const int64_t T_alloc = rows_per_slice * g.TW;
  const int nt = pass_threads(2.0 * N * g.cout * g.OH * g.OW * g.cin * 9, rows_total);
  const RowTransforms rt = row_transforms();
  Buffers buf(nt, 16 * xi_stride(g.cin, T_alloc), 16 * xi_stride(g.cout, T_alloc),
              g.row_scratch(), 0);
  over_images(nt, rows_total, [&](int t, int64_t r0, int64_t r1) {
    float* V = buf.a[t]->as<float>();
    float* M = buf.b[t]->as<float>();
    float* rows = buf.rows[t]->as<float>();
    for (int64_t s0 = r0; s0 < r1; s0 += rows_per_slice) {
      const int64_t s1 = std::min(r1, s0 + rows_per_slice), T = (s1 - s0) * g.TW;
      over_images_of(g, s0, s1, [&](int64_t n, int64_t ty0, int64_t ty1, int64_t col0) {
        rt.input(g, x + n * g.cin * g.H * g.W, ty0, ty1, V, T, col0, rows);
      });
      GemmParams gp = batched(g.cout, T, g.cin);
      gp.A = U; gp.a_batch_stride = xi_stride(g.cout * g.cin, 1); gp.a_row_stride = g.cin;
      gp.B = V; gp.b_batch_stride = xi_stride(g.cin, T); gp.b_row_stride = T;
      gp.C = M; gp.c_batch_stride = xi_stride(g.cout, T); gp.c_row_stride = T;
      gemm(gp);
      over_images_of(g, s0, s1, [&](int64_t n, int64_t ty0, int64_t ty1, int64_t col0) {
        rt.output(g, M, T, col0, ty0, ty1, bias, relu, y + n * g.cout * g.OH * g.OW, rows);
      });
    }
  });
}

bool enabled() {
  const char* e = std::getenv("DLCORE_CONV_WINOGRAD");   // 0: off (A/B measurements, tests)
  return !(e && std::atoi(e) == 0);
}

bool winograd_suits(const ConvParams& p) {
  return enabled() && p.dtype == DType::Float32 && p.groups == 1 && p.kh == 3 && p.kw == 3 &&
         p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 && p.C >= kMinChannels &&
         p.K >= kMinChannels && p.N > 0 && p.OH > 0 && p.OW > 0;
}

}  // namespace

bool winograd_forward(const ConvParams& p, const float* x, const float* w, const float* bias,
                      float* y, Activation act) {
  if (!winograd_suits(p) || (act != Activation::None && act != Activation::Relu)) return false;
  const Geom g = geom(p.C, p.K, p.H, p.W, p.OH, p.OW, p.ph, p.pw);
  Scratch U(sizeof(float) * 16 * xi_stride(p.K * p.C, 1));
  transform_kernel(w, p.K, p.C, false, U.as<float>());
  run_conv(g, p.N, x, U.as<float>(), bias, act == Activation::Relu, y);
  return true;
}

// dx[c, h, w] = sum_{k, i, j} dy[k, h + p - i, w + p - j] w[k, c, i, j]: with i' = 2 - i the
// forward convolution of dy (K planes OH x OW, padding 2 - p) by w'[c, k, i', j'] =
// w[k, c, 2 - i', 2 - j'], producing C planes H x W.
bool winograd_backward_input(const ConvParams& p, const float* w, const float* dy, float* dx) {
  if (!winograd_suits(p)) return false;
  const Geom g = geom(p.K, p.C, p.OH, p.OW, p.H, p.W, 2 - p.ph, 2 - p.pw);
  Scratch U(sizeof(float) * 16 * xi_stride(p.K * p.C, 1));
  transform_kernel(w, p.C, p.K, true, U.as<float>());
  run_conv(g, p.N, dy, U.as<float>(), nullptr, false, dx);
  return true;
}

bool winograd_backward_weight(const ConvParams& p, const float* x, const float* dy, float* dw) {
  if (!winograd_suits(p)) return false;
  const Geom g = geom(p.C, p.K, p.H, p.W, p.OH, p.OW, p.ph, p.pw);
  const int64_t rows_total = p.N * g.TH, Tmax = slice_tiles(g);
  const int64_t rows_per_slice = std::max<int64_t>(1, Tmax / g.TW);
  const int64_t T_alloc = rows_per_slice * g.TW, KC = p.K * p.C, dus = xi_stride(KC, 1);
  const int nt = pass_threads(2.0 * p.N * p.K * p.OH * p.OW * p.C * 9, rows_total);
  const RowTransforms rt = row_transforms();
  Buffers buf(nt, 16 * xi_stride(p.C, T_alloc), 16 * xi_stride(p.K, T_alloc), g.row_scratch(),
              16 * dus);
  over_images(nt, rows_total, [&](int t, int64_t r0, int64_t r1) {
    float* V = buf.a[t]->as<float>();
    float* Z = buf.b[t]->as<float>();
    float* rows = buf.rows[t]->as<float>();
    float* dU = buf.acc[t]->as<float>();
    if (r0 == r1) std::fill(dU, dU + 16 * dus, 0.f);
    for (int64_t s0 = r0; s0 < r1; s0 += rows_per_slice) {
      const int64_t s1 = std::min(r1, s0 + rows_per_slice), T = (s1 - s0) * g.TW;
      over_images_of(g, s0, s1, [&](int64_t n, int64_t ty0, int64_t ty1, int64_t col0) {
        rt.input(g, x + n * p.C * p.H * p.W, ty0, ty1, V, T, col0, rows);
        rt.grad(g, dy + n * p.K * p.OH * p.OW, ty0, ty1, Z, T, col0, rows);
      });
      GemmParams gp = batched(p.K, p.C, T);   // dU[xi] (+)= Z[xi] @ V[xi]^T
      gp.A = Z; gp.a_batch_stride = xi_stride(p.K, T); gp.a_row_stride = T;
      gp.B = V; gp.b_batch_stride = xi_stride(p.C, T); gp.b_row_stride = 1; gp.b_col_stride = T;
      gp.C = dU; gp.c_batch_stride = dus; gp.c_row_stride = p.C;
      gp.beta = s0 > r0 ? 1.0 : 0.0;
      gemm(gp);
    }
  });
  float* total = buf.acc[0]->as<float>();   // + the other threads' sums, in thread order
  if (nt > 1)
    parallel_for(16 * KC, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t at = i / KC * dus + i % KC;
        for (int t = 1; t < nt; ++t) total[at] += buf.acc[t]->as<float>()[at];
      }
    });
  inverse_kernel_transform(total, p.K, p.C, dw);
  return true;
}

}  // namespace conv_detail

namespace conv_winograd {
RowTransforms row_transforms_portable() {
  return {&conv_detail::input_rows, &conv_detail::output_rows, &conv_detail::grad_rows};
}
}  // namespace conv_winograd
}  // namespace dlcore::cpu
