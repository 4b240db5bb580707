// conv_winograd.h — what the Winograd convolution driver (conv_winograd.cpp) shares with the
// SIMD builds of its per-tile-row transforms (conv_winograd_rows.h, compiled once portable in
// conv_winograd.cpp and once with AVX2 in conv_winograd_avx2.cpp).
#pragma once
#include <cstdint>

namespace dlcore::cpu::conv_winograd {

// One pass seen as a forward 3x3 stride-1 convolution: cin planes H x W in, cout planes
// OH x OW out, padding pt / pl before the first row / column (any sign; zero outside the
// plane). Output tiles of 2x2: TH x TW per image; tile row ty covers output rows 2ty, 2ty + 1
// and reads input rows 2ty - pt .. 2ty - pt + 3.
struct Geom {
  int64_t cin = 0, cout = 0, H = 0, W = 0, OH = 0, OW = 0, pt = 0, pl = 0;
  int64_t TH = 0, TW = 0;
  // Floats a transform of up to TH tile rows needs: the input's even / odd row halves.
  int64_t row_scratch() const { return (4 * TH + 4) * (TW + 1) + 16 * (TW + 1); }
};

// The transform-domain buffers V, M, Z hold a slice of T tiles as columns: entry (xi, channel,
// column) at [xi * xi_stride(channels, T) + channel * T + column]. The 16 points sit 64 bytes
// more than channels * T floats apart: that product is usually a multiple of 4 KB, and a tile
// row's transform touches all 16 points at once — 16 streams mapping to the same L1 set (8
// ways) evicted each other: measured 2026-12-03, the transforms took as long as the GEMMs.
// The transformed kernels U, dU (16 x pairs) use xi_stride(pairs, 1) the same way.
inline int64_t xi_stride(int64_t channels, int64_t T) { return channels * T + 16; }

// The transforms of tile rows [ty0, ty1) of one image: tile (ty, tx) is column col0 +
// (ty - ty0) * TW + tx of the slice. `rows` is row_scratch() floats. Each walks channel by
// channel, so it reads / writes runs of (ty1 - ty0) * TW consecutive columns per point xi.
struct RowTransforms {
  // V[xi][c][col] = (B^T d B)[xi], d the 4x4 input tile (of image x, cin planes).
  void (*input)(const Geom& g, const float* x, int64_t ty0, int64_t ty1, float* V, int64_t T,
                int64_t col0, float* rows);
  // Output rows 2ty, 2ty + 1 (those < OH) of image y = A^T M A, + bias[o], ReLU if relu.
  void (*output)(const Geom& g, const float* M, int64_t T, int64_t col0, int64_t ty0,
                 int64_t ty1, const float* bias, bool relu, float* y, float* rows);
  // Z[xi][o][col] = (A dY A^T)[xi], dY the 2x2 output-gradient tile (zero past OH / OW).
  void (*grad)(const Geom& g, const float* dy, int64_t ty0, int64_t ty1, float* Z, int64_t T,
               int64_t col0, float* rows);
};

RowTransforms row_transforms_portable();
RowTransforms row_transforms_avx2();   // call only where the CPU has AVX2 + FMA

}  // namespace dlcore::cpu::conv_winograd
