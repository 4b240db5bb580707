// conv_direct.h — the direct (no im2col) float32 convolution kernels for few output channels,
// shared by the driver (conv_direct.cpp) and the SIMD files that implement them
// (conv_direct_avx512.cpp, conv_direct_avx2.cpp; called only after run-time CPU detection).
//
// Why a direct kernel. With K <= 32 output channels the im2col GEMM is a short, wide product
// (LeNet's second layer: 16 x 150 x 100 per image) whose cost sits in everything around the
// FMAs: writing and re-packing the column matrix, a 12-row register tile that 16 rows fill
// as 12 + 4, short 10-element copies in im2col / col2im (or, on the wide grid, 40% of the
// columns computed and discarded). Here one vector holds the output channels of one pixel
// (8 or 16 lanes, K padded up to the vector), so the register tile is a row of P output
// pixels x NV channel vectors and every tap is one vector load of the (transposed) weight and
// P broadcasts of input values read straight from the image, which sits in L1:
//
//   forward        out[pix, :] += x[tap(pix, r)] * wt[r, :]      for the taps r = (c, i, j)
//   weight grad    dwt[r, :]   += x[tap(pix, r)] * dyt[pix, :]   for all pixels pix
//
// The input gradient of a stride-1 convolution is itself the forward of a convolution (of the
// padded output gradient with the flipped, transposed weight: channels in = K, out = C), so
// it runs the forward kernel with C lanes.
//
// Layouts: outputs / gradients are pixel-major with KP = NV * VL floats per pixel (channels
// past K are zero); the driver transposes them to / from NCHW, a copy of the output size.
#pragma once
#include <cstdint>

namespace dlcore::cpu::conv_direct {

// One image of the forward kernel: out[(oh*OW + ow)*KP + k] = sum_r in[oh*sh*ld + ow*sw +
// toff[r]] * wt[r*KP + k]. `in` must hold every tap of every output pixel (the driver pads).
struct FwdArgs {
  int vl = 8, nv = 1;                 // KP = vl * nv
  const float* in = nullptr;
  int64_t ld = 0;                     // row stride of in
  int64_t taps = 0;
  const int64_t* toff = nullptr;      // per tap: c*plane + i*dh*ld + j*dw
  const float* wt = nullptr;          // taps x KP
  int64_t OH = 0, OW = 0, sh = 1, sw = 1;
  float* out = nullptr;               // OH*OW x KP, overwritten
  // Optional: output row oh sums only the taps [tap_begin[oh], tap_end[oh]) (the others read
  // zero padding rows; the driver orders the taps kernel-row first so the rest is a range).
  const int64_t* tap_begin = nullptr;
  const int64_t* tap_end = nullptr;
};

// One image of the weight-gradient kernel (dilation 1 along the width):
// dwt[((c*kh + i)*kw + j)*KP + k] += sum_{oh, ow} in[c*plane + (oh*sh + i*dh)*ld + ow*sw + j]
//                                                  * dyt[(oh*OW + ow)*KP + k].
struct WgtArgs {
  int vl = 8, nv = 1, kw = 1;
  const float* in = nullptr;
  int64_t plane = 0, ld = 0;
  int64_t C = 0, kh = 1, dh = 1, sh = 1, sw = 1;
  const float* dyt = nullptr;         // OH*OW x KP
  int64_t OH = 0, OW = 0;
  float* dwt = nullptr;               // C*kh*kw x KP, accumulated into
};

// Largest register budget (accumulators) a tile may use: 28 of 32 zmm/ymm registers with
// AVX-512, 12 of 16 ymm registers with AVX2 (the rest hold weight / gradient vectors and
// the broadcast).
constexpr int kAccAvx512 = 28, kAccAvx2 = 12;

// Whether the weight-gradient tile of a kw-wide kernel with nv channel vectors fits the
// budget `acc` (one tap row of kw taps at least; kernels up to 7 wide are instantiated).
constexpr bool weight_tile_fits(int acc, int nv, int kw) {
  return kw >= 1 && kw <= 7 && kw * nv <= acc;
}

// One image of the input gradient vectorised along the image width (stride 1; for layers
// whose input width fills the vectors better than their channel count does, LeNet's second
// layer: 14 of 16 lanes against 6 of 8). One register tile is one row h of dx for cb
// channels, NW vectors of VL columns each:
//   out[c, h, w] = sum_{r in [tap_begin[h], tap_end[h])} in[h*ld + toff[r] + w] * wt[r*cb + c]
// `in` is the padded output gradient (every tap of every lane in the buffer; lanes past W
// read padding and are not stored); wt holds the channel blocks one after another, block b
// (channels [b*cbs, b*cbs + cb)) at wt + b*cbs*taps.
struct WidthArgs {
  int vl = 8, nw = 1, cbmax = 8;
  const float* in = nullptr;
  int64_t ld = 0, taps = 0;
  const int64_t* toff = nullptr;      // per tap: k*plane + i*dh*ld + j*dw
  const int64_t* tap_begin = nullptr; // per output row, as in FwdArgs (required here)
  const int64_t* tap_end = nullptr;
  const float* wt = nullptr;
  int64_t C = 0, H = 0, W = 0;
  float* out = nullptr;               // C x H x W (NCHW, one image), overwritten
};

// Channels per register tile of the width kernel: cb * nw accumulators. AVX-512: up to 8
// channels x 1 or 2 vectors (16 of 32 registers: the FMA takes its weight broadcast from
// memory, so only the NW input vectors need registers besides). AVX2: 8 x 1 or 6 x 2 (12).
constexpr int width_cbmax(bool avx512, int nw) { return avx512 || nw == 1 ? 8 : 6; }
// The channel blocks: ceil(C / cbmax) of them, all of cbs channels but the last.
constexpr int64_t width_block_size(int64_t C, int cbmax) {
  return (C + (C + cbmax - 1) / cbmax - 1) / ((C + cbmax - 1) / cbmax);
}

void forward_image_avx512(const FwdArgs& a);
void width_image_avx512(const WidthArgs& a);
void width_image_avx2(const WidthArgs& a);
void weight_image_avx512(const WgtArgs& a);
void forward_image_avx2(const FwdArgs& a);
void weight_image_avx2(const WgtArgs& a);

}  // namespace dlcore::cpu::conv_direct
