// conv_direct.cpp — the driver of the direct float32 convolution for layers with few
// channels (conv_direct.h: why, and the kernels' layouts). conv.cpp asks it first, pass by
// pass; where it declines (returns false) the pass runs as im2col + GEMM.
//
// Which passes, which layers:
//   forward          K <= 32 output channels (AVX-512; 16 with AVX2)
//   input gradient   stride 1 and C <= 32 (16) input channels: the forward kernel on the
//                    zero-padded output gradient with the flipped weight, C lanes
//   weight gradient  K <= 32 (16), dilation 1 along the width, kernel width <= 7
// and in all three: float32, groups == 1, and the channel count fills >= 70% of the vector
// lanes it is padded to (8, 16 or 32): a 3-channel layer would run 5 of 8 lanes on zeros
// and the GEMM's rows serve it better. The GEMM keeps the wide layers (K = 64, 128) whose
// products it runs near peak.
//
// Threads: each thread takes a contiguous range of images (as conv.cpp's image-parallel
// path); the weight gradient is summed per thread and then over threads in order, so it is
// reproducible for a given thread count. With fewer images than threads and enough work,
// the pass is left to the GEMM, which splits one product across the threads.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "conv_direct.h"
#include "conv_internal.h"
#include "kernels.h"
#include "parallel.h"

namespace dlcore::cpu {
namespace conv_detail {
namespace {

using conv_direct::FwdArgs;
using conv_direct::WgtArgs;

enum class Isa { None, Avx2, Avx512 };

Isa isa() {
  const char* path = gemm_simd_path();   // honours DLCORE_CPU_PATH=avx2 / generic
  if (std::strcmp(path, "avx512") == 0) return Isa::Avx512;
  if (std::strcmp(path, "avx2-fma") == 0) return Isa::Avx2;
  return Isa::None;
}

// Channels of one tile: vl lanes x nv vectors (KP = vl*nv); more channels than the widest
// tile (32 with AVX-512, 16 with AVX2) run in blocks of that width, one after another.
struct ChannelPlan {
  int vl = 8, nv = 1;
  int64_t blocks = 1;
  int64_t kp() const { return vl * nv; }
  // Position of (channel k, tap r) in a weight laid out block by block, taps x KP each.
  int64_t at(int64_t k, int64_t r, int64_t taps) const {
    return ((k / kp()) * taps + r) * kp() + k % kp();
  }
};

// The plan for `ch` channels, or false where none fills >= 70% of its lanes, or the layer is
// wider than max_ch (the GEMM path serves it).
bool channel_plan(Isa s, int64_t ch, int64_t max_ch, ChannelPlan& cp) {
  if (s == Isa::None || ch < 1 || ch > max_ch) return false;
  const int64_t widest = s == Isa::Avx512 ? 32 : 16;
  if (ch <= 8) { cp.vl = 8; cp.nv = 1; }
  else if (ch <= 16) { cp.vl = s == Isa::Avx512 ? 16 : 8; cp.nv = s == Isa::Avx512 ? 1 : 2; }
  else { cp.vl = s == Isa::Avx512 ? 16 : 8; cp.nv = 2; }
  cp.blocks = (ch + widest - 1) / widest;
  if (ch <= widest) cp.blocks = 1;
  return 10 * ch >= 7 * cp.blocks * cp.kp();
}

// Weight <-> the kernels' tap-major layout. The kernels read, per tap r, one vector of KP
// channels: packed[at(ch, r)] = src[ch * ch_stride + src_off[r]] (lanes past n_ch zero).
// Loops run channel by channel, reading the source in order and writing every KP-th float,
// split over the threads: done element by element through at() (a division per float) this
// serial prologue took ~0.45 ms of a 16x128x16x16 3x3 forward (~4% at one thread, twice that
// share at two), measured 2026-12-03.
void pack_taps(const ChannelPlan& cp, int64_t n_ch, int64_t taps, const float* src,
               int64_t ch_stride, const int64_t* src_off, float* packed) {
  const int64_t KP = cp.kp();
  if (n_ch % KP) {   // the last block's unused lanes
    float* last = packed + (cp.blocks - 1) * taps * KP;
    std::fill(last, last + taps * KP, 0.f);
  }
  parallel_for(n_ch, grain_for(taps), [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ++ch) {
      const float* s = src + ch * ch_stride;
      float* __restrict d = packed + (ch / KP) * taps * KP + ch % KP;
      for (int64_t r = 0; r < taps; ++r) d[r * KP] = s[src_off[r]];
    }
  });
}

// dst[ch * taps + r] = sum over the nt buffers of part_t[at(ch, r)], in thread order.
void unpack_sum(const ChannelPlan& cp, int64_t n_ch, int64_t taps, const float* const* parts,
                int nt, float* dst) {
  const int64_t KP = cp.kp();
  parallel_for(n_ch, grain_for(taps * nt), [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ++ch) {
      const int64_t off = (ch / KP) * taps * KP + ch % KP;
      float* __restrict d = dst + ch * taps;
      const float* s0 = parts[0] + off;
      for (int64_t r = 0; r < taps; ++r) d[r] = s0[r * KP];
      for (int t = 1; t < nt; ++t) {
        const float* st = parts[t] + off;
        for (int64_t r = 0; r < taps; ++r) d[r] += st[r * KP];
      }
    }
  });
}

// Widest layer the direct kernels take: no limit, unless DLCORE_CONV_DIRECT_MAX_CHANNELS
// sets one (0: never direct), to measure them against the GEMM path in one process.
int64_t max_direct_channels() {
  const char* e = std::getenv("DLCORE_CONV_DIRECT_MAX_CHANNELS");
  return e ? std::atoll(e) : INT64_MAX;
}

void forward_image(Isa s, const FwdArgs& a) {
  if (s == Isa::Avx512) conv_direct::forward_image_avx512(a);
  else conv_direct::forward_image_avx2(a);
}

void weight_image(Isa s, const WgtArgs& a) {
  if (s == Isa::Avx512) conv_direct::weight_image_avx512(a);
  else conv_direct::weight_image_avx2(a);
}

// Common gate: float32, one group, and the threads can all be given images.
bool direct_suits(const ConvParams& p) {
  if (p.dtype != DType::Float32 || p.groups != 1 || p.N == 0 || p.OH * p.OW == 0) return false;
  if (image_threads(p) == 1 && num_threads() > 1) {
    const double flops = 2.0 * p.N * p.K * p.OH * p.OW * p.C * p.kh * p.kw;
    if (flops >= 4.0e6) return false;   // one big image: the parallel GEMM path uses both cores
  }
  return true;
}

// A zero-padded copy of one image's planes, sized to exactly what its taps read:
// rows [0, Hp) hold source rows [-top, Hp - top) (zero outside [0, H)), columns likewise.
struct Padded {
  int64_t Hp, Wp, top, left;
  bool needed;   // false: the source itself can be read (nothing outside it is touched)
  int64_t ld(int64_t W) const { return needed ? Wp : W; }
  int64_t plane(int64_t H, int64_t W) const { return needed ? Hp * Wp : H * W; }
};

Padded padded_geometry(int64_t H, int64_t W, int64_t Hp, int64_t Wp, int64_t top,
                       int64_t left) {
  return {Hp, Wp, top, left, !(top == 0 && left == 0 && Hp <= H && Wp <= W)};
}

void pad_image(const float* src, int64_t planes, int64_t H, int64_t W, const Padded& g,
               float* dst) {
  for (int64_t c = 0; c < planes; ++c) {
    for (int64_t a = 0; a < g.Hp; ++a) {
      float* d = dst + (c * g.Hp + a) * g.Wp;
      const int64_t h = a - g.top;
      if (h < 0 || h >= H) { std::fill(d, d + g.Wp, 0.f); continue; }
      const float* s = src + (c * H + h) * W;
      const int64_t lo = std::clamp<int64_t>(g.left, 0, g.Wp);
      const int64_t hi = std::clamp<int64_t>(g.left + W, lo, g.Wp);
      std::fill(d, d + lo, 0.f);
      for (int64_t b = lo; b < hi; ++b) d[b] = s[b - g.left];
      std::fill(d + hi, d + g.Wp, 0.f);
    }
  }
}

// The per-thread buffers of one pass, allocated before the parallel region.
struct ThreadBuffers {
  std::vector<std::unique_ptr<Scratch>> pad, pix, acc;
  ThreadBuffers(int nt, size_t pad_floats, size_t pix_floats, size_t acc_floats) {
    for (int t = 0; t < nt; ++t) {
      pad.emplace_back(new Scratch(pad_floats * sizeof(float)));
      pix.emplace_back(new Scratch(pix_floats * sizeof(float)));
      acc.emplace_back(new Scratch(acc_floats * sizeof(float)));
    }
  }
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Per output row oh, the range of taps (ordered kernel row first, taps / kh per kernel row)
// whose kernel rows i read inside the image: 0 <= oh*sh + i*dh - top < H.
void row_tap_ranges(const Padded& g, int64_t H, int64_t kh, int64_t dh, int64_t taps, int64_t OH,
                    int64_t sh, std::vector<int64_t>& tap_begin, std::vector<int64_t>& tap_end) {
  const int64_t per_row = taps / kh, top = g.needed ? g.top : 0;
  tap_begin.resize(OH);
  tap_end.resize(OH);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t lo = std::max<int64_t>(0, -floor_div(oh * sh - top, dh));
    const int64_t hi = std::min<int64_t>(kh, -floor_div(oh * sh - top - H, dh));
    tap_begin[oh] = lo * per_row;
    tap_end[oh] = std::max(lo, hi) * per_row;
  }
}

// The forward kernel over images [0, N) of a convolution with `cin` input planes (H x W,
// geometry g), `taps` taps at toff ordered kernel row first (kh rows of taps / kh), weight wt
// (taps x KP), writing NCHW out (N, cout, OH*OW) with bias and ReLU applied on the way out of
// the pixel-major tile. Output row oh skips the kernel rows i whose input row oh*sh + i*dh
// (padded coordinates) falls in the zero rows above or below the image: for the input
// gradient, whose "input" is the output gradient padded by kh - 1 rows on each side, that is
// a third of the work of LeNet's second layer.
void run_forward(Isa s, const ChannelPlan& cp, int64_t N, int64_t cin, int64_t H, int64_t W,
                 const Padded& g, int64_t kh, int64_t dh, int64_t taps, const int64_t* toff,
                 const float* wt, int64_t cout, int64_t OH, int64_t OW, int64_t sh, int64_t sw,
                 const float* x, const float* bias, bool relu, float* out, int nt) {
  const int64_t KP = cp.kp(), OHW = OH * OW;
  std::vector<int64_t> tap_begin, tap_end;
  row_tap_ranges(g, H, kh, dh, taps, OH, sh, tap_begin, tap_end);
  ThreadBuffers buf(nt, g.needed ? cin * g.Hp * g.Wp : 0, OHW * KP, 0);
  over_images(nt, N, [&](int t, int64_t n0, int64_t n1) {
    float* padp = buf.pad[t]->as<float>();
    float* pix = buf.pix[t]->as<float>();
    FwdArgs a;
    a.vl = cp.vl; a.nv = cp.nv; a.ld = g.ld(W); a.taps = taps; a.toff = toff;
    a.OH = OH; a.OW = OW; a.sh = sh; a.sw = sw; a.out = pix;
    a.tap_begin = tap_begin.data(); a.tap_end = tap_end.data();
    for (int64_t n = n0; n < n1; ++n) {
      const float* xn = x + n * cin * H * W;
      if (g.needed) { pad_image(xn, cin, H, W, g, padp); a.in = padp; }
      else a.in = xn;
      for (int64_t blk = 0; blk < cp.blocks; ++blk) {
        a.wt = wt + blk * taps * KP;
        forward_image(s, a);
        for (int64_t k = blk * KP; k < std::min(cout, (blk + 1) * KP); ++k) {
          // pixel-major tile -> NCHW plane k
          float* o = out + (n * cout + k) * OHW;
          const float b = bias ? bias[k] : 0.f;
          const float* src = pix + k % KP;
          if (relu) {
            for (int64_t q = 0; q < OHW; ++q) o[q] = std::max(src[q * KP] + b, 0.f);
          } else {
            for (int64_t q = 0; q < OHW; ++q) o[q] = src[q * KP] + b;
          }
        }
      }
    }
  });
}

// ---- input gradient along the width -----------------------------------------------------------
// The same correlation as the channel-vector input gradient (below), with the vector lanes on
// the columns of dx and the channels in the register tile: for few channels and a narrow
// image this wastes fewer lanes (LeNet's second layer: 14 of 16 columns, against 6 of 8
// channels), and the tile is stored straight into the NCHW rows of dx (no transpose).
struct WidthPlan {
  int vl = 8, nw = 1, cbmax = 8;
  double fill = 0;   // W / (vl * nw): the share of lanes that hold columns of dx
};

// Vectors: AVX-512 one ymm (W <= 8), one or two zmm (W <= 32); AVX2 one or two ymm (W <= 16).
// The lanes must be >= 70% columns, and the tile must have >= 4 independent accumulators
// (the FMA latency). DLCORE_CONV_DIRECT_WIDTH=0 (read at every call) turns it off, to measure
// it against the channel-vector kernel in one process.
bool width_plan(Isa s, int64_t C, int64_t W, WidthPlan& wp) {
  const char* e = std::getenv("DLCORE_CONV_DIRECT_WIDTH");
  if ((e && std::atoi(e) == 0) || s == Isa::None || C < 1 || W < 1) return false;
  if (s == Isa::Avx512) {
    if (W > 32) return false;
    wp.vl = W <= 8 ? 8 : 16;
    wp.nw = W <= 16 ? 1 : 2;
  } else {
    if (W > 16) return false;
    wp.vl = 8;
    wp.nw = W <= 8 ? 1 : 2;
  }
  wp.cbmax = conv_direct::width_cbmax(s == Isa::Avx512, wp.nw);
  wp.fill = (double)W / (double)(wp.vl * wp.nw);
  const int64_t chains = std::min<int64_t>(C, wp.cbmax) * wp.nw;
  return wp.fill >= 0.7 && chains >= 4;
}

// dx[c, h, w] = sum_{k, i, j} dyp[k, h + i*dh, w + j*dw] * W[k, c, kh-1-i, kw-1-j], dyp the
// output gradient padded by (kh-1)*dh - ph rows on top and (kw-1)*dw - pw columns on the left
// (negative: cropped), its rows wide enough for the vectors at every tap.
void backward_input_by_width(Isa s, const WidthPlan& wp, const ConvParams& p, const float* w,
                             const float* dy, float* dx) {
  const int64_t R = p.K * p.kh * p.kw, RW = p.C * p.kh * p.kw;
  Padded g = padded_geometry(p.OH, p.OW, p.H + (p.kh - 1) * p.dh,
                             wp.vl * wp.nw + (p.kw - 1) * p.dw, (p.kh - 1) * p.dh - p.ph,
                             (p.kw - 1) * p.dw - p.pw);
  g.needed = true;   // the vectors read past W: always the padded copy
  const int64_t ld = g.Wp, plane = g.Hp * g.Wp;
  const int64_t cbs = conv_direct::width_block_size(p.C, wp.cbmax);
  // Taps in (i, k, j) order; per channel block, wt[r*cb + c] = W[k, c0 + c, kh-1-i, kw-1-j].
  std::vector<float> wt(p.C * R);
  std::vector<int64_t> toff(R);
  for (int64_t i = 0, r = 0; i < p.kh; ++i)
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t j = 0; j < p.kw; ++j, ++r) {
        for (int64_t c = 0; c < p.C; ++c) {
          const int64_t c0 = c / cbs * cbs, cb = std::min(cbs, p.C - c0);
          wt[c0 * R + r * cb + (c - c0)] =
              w[k * RW + (c * p.kh + (p.kh - 1 - i)) * p.kw + (p.kw - 1 - j)];
        }
        toff[r] = k * plane + i * p.dh * ld + j * p.dw;
      }
  std::vector<int64_t> tap_begin, tap_end;
  row_tap_ranges(g, p.OH, p.kh, p.dh, R, p.H, 1, tap_begin, tap_end);
  const int nt = image_threads(p);
  ThreadBuffers buf(nt, p.K * plane, 0, 0);
  over_images(nt, p.N, [&](int t, int64_t n0, int64_t n1) {
    float* padp = buf.pad[t]->as<float>();
    conv_direct::WidthArgs a;
    a.vl = wp.vl; a.nw = wp.nw; a.cbmax = wp.cbmax;
    a.in = padp; a.ld = ld; a.taps = R; a.toff = toff.data();
    a.tap_begin = tap_begin.data(); a.tap_end = tap_end.data();
    a.wt = wt.data(); a.C = p.C; a.H = p.H; a.W = p.W;
    for (int64_t n = n0; n < n1; ++n) {
      pad_image(dy + n * p.K * p.OH * p.OW, p.K, p.OH, p.OW, g, padp);
      a.out = dx + n * p.C * p.H * p.W;
      if (s == Isa::Avx512) conv_direct::width_image_avx512(a);
      else conv_direct::width_image_avx2(a);
    }
  });
}

}  // namespace

bool direct_forward(const ConvParams& p, const float* x, const float* w, const float* bias,
                    float* y, Activation act) {
  const Isa s = isa();
  ChannelPlan cp;
  if (act != Activation::None && act != Activation::Relu) return false;
  if (!direct_suits(p) || !channel_plan(s, p.K, max_direct_channels(), cp)) return false;
  const int64_t R = p.C * p.kh * p.kw;
  const Padded g = padded_geometry(p.H, p.W, (p.OH - 1) * p.sh + (p.kh - 1) * p.dh + 1,
                                   (p.OW - 1) * p.sw + (p.kw - 1) * p.dw + 1, p.ph, p.pw);
  const int64_t ld = g.ld(p.W), plane = g.plane(p.H, p.W);
  // Taps in (i, c, j) order: wt[tap, k] = w[k, c, i, j].
  Scratch wt(sizeof(float) * cp.blocks * R * cp.kp());
  std::vector<int64_t> toff(R), woff(R);
  for (int64_t i = 0, r = 0; i < p.kh; ++i)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t j = 0; j < p.kw; ++j, ++r) {
        woff[r] = (c * p.kh + i) * p.kw + j;
        toff[r] = c * plane + i * p.dh * ld + j * p.dw;
      }
  pack_taps(cp, p.K, R, w, R, woff.data(), wt.as<float>());
  run_forward(s, cp, p.N, p.C, p.H, p.W, g, p.kh, p.dh, R, toff.data(), wt.as<float>(), p.K,
              p.OH, p.OW, p.sh, p.sw, x, bias, act == Activation::Relu, y, image_threads(p));
  return true;
}

// Stride 1: dx[c, h, w] = sum_{k, i, j} dy[k, h + ph - i*dh, w + pw - j*dw] * W[k, c, i, j].
// With i' = kh-1-i this is the forward convolution of dy, padded by (kh-1)*dh - ph on top
// ((kw-1)*dw - pw on the left; negative = cropped), with the weight W'[c, k, i', j'] =
// W[k, c, kh-1-i', kw-1-j'], producing H x W pixels of C channels.
bool direct_backward_input(const ConvParams& p, const float* w, const float* dy, float* dx) {
  const Isa s = isa();
  ChannelPlan cp;
  if (p.sh != 1 || p.sw != 1 || !direct_suits(p) || p.C > max_direct_channels()) return false;
  const bool by_channel = channel_plan(s, p.C, max_direct_channels(), cp);
  WidthPlan wp;
  if (width_plan(s, p.C, p.W, wp) &&
      (!by_channel || wp.fill > (double)p.C / (double)(cp.blocks * cp.kp()))) {
    backward_input_by_width(s, wp, p, w, dy, dx);
    return true;
  }
  if (!by_channel) return false;
  const int64_t R = p.K * p.kh * p.kw, RW = p.C * p.kh * p.kw;
  const Padded g = padded_geometry(p.OH, p.OW, p.H + (p.kh - 1) * p.dh, p.W + (p.kw - 1) * p.dw,
                                   (p.kh - 1) * p.dh - p.ph, (p.kw - 1) * p.dw - p.pw);
  const int64_t ld = g.ld(p.OW), plane = g.plane(p.OH, p.OW);
  // Taps in (i, k, j) order: wt[tap, c] = w[k, c, kh-1-i, kw-1-j].
  Scratch wt(sizeof(float) * cp.blocks * R * cp.kp());
  std::vector<int64_t> toff(R), woff(R);
  for (int64_t i = 0, r = 0; i < p.kh; ++i)
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t j = 0; j < p.kw; ++j, ++r) {
        woff[r] = k * RW + (p.kh - 1 - i) * p.kw + (p.kw - 1 - j);
        toff[r] = k * plane + i * p.dh * ld + j * p.dw;
      }
  pack_taps(cp, p.C, R, w, p.kh * p.kw, woff.data(), wt.as<float>());
  run_forward(s, cp, p.N, p.K, p.OH, p.OW, g, p.kh, p.dh, R, toff.data(), wt.as<float>(), p.C,
              p.H, p.W, 1, 1, dy, nullptr, false, dx, image_threads(p));
  return true;
}

bool direct_backward_weight(const ConvParams& p, const float* x, const float* dy, float* dw) {
  const Isa s = isa();
  ChannelPlan cp;
  if (p.dw != 1 || !direct_suits(p) || !channel_plan(s, p.K, max_direct_channels(), cp)) return false;
  // AVX2, K > 16: the 16 registers leave a 16-channel tile 2 tap rows of 3 taps (8 loads
  // per 12 FMAs), so wide layers run blocks of 8 channels (3 rows of 3 taps, or one row of
  // 7). Measured on one thread (2026-12-03) against the GEMM path: 1.45x faster on the 7x7/2
  // stem (147 taps), and with the 3-row tile (conv_direct_tiles.h) 1.3-1.35x faster on the
  // 3x3 layers of 64 / 128 channels (before it, at 4 rows with spills, 1.5x slower).
  if (s == Isa::Avx2 && cp.blocks > 1) {
    cp.vl = 8; cp.nv = 1; cp.blocks = (p.K + 7) / 8;
    if (10 * p.K < 7 * cp.blocks * 8) return false;
  }
  const int acc = s == Isa::Avx512 ? conv_direct::kAccAvx512 : conv_direct::kAccAvx2;
  if (!conv_direct::weight_tile_fits(acc, cp.nv, (int)std::min<int64_t>(p.kw, 8))) return false;
  const int64_t KP = cp.kp(), R = p.C * p.kh * p.kw, OHW = p.OH * p.OW, NB = cp.blocks;
  const Padded g = padded_geometry(p.H, p.W, (p.OH - 1) * p.sh + (p.kh - 1) * p.dh + 1,
                                   (p.OW - 1) * p.sw + p.kw, p.ph, p.pw);
  const int nt = image_threads(p);
  // pix: the image's output gradient, pixel-major (channels past K zero); acc: the thread's
  // weight gradient, tap-major.
  ThreadBuffers buf(nt, g.needed ? p.C * g.Hp * g.Wp : 0, OHW * KP, NB * R * KP);
  over_images(nt, p.N, [&](int t, int64_t n0, int64_t n1) {
    float* padp = buf.pad[t]->as<float>();
    float* dyt = buf.pix[t]->as<float>();
    float* dwt = buf.acc[t]->as<float>();
    std::fill(dwt, dwt + NB * R * KP, 0.f);
    std::fill(dyt, dyt + OHW * KP, 0.f);
    WgtArgs a;
    a.vl = cp.vl; a.nv = cp.nv; a.kw = (int)p.kw;
    a.plane = g.plane(p.H, p.W); a.ld = g.ld(p.W);
    a.C = p.C; a.kh = p.kh; a.dh = p.dh; a.sh = p.sh; a.sw = p.sw;
    a.dyt = dyt; a.OH = p.OH; a.OW = p.OW;
    for (int64_t n = n0; n < n1; ++n) {
      const float* xn = x + n * p.C * p.H * p.W;
      if (g.needed) { pad_image(xn, p.C, p.H, p.W, g, padp); a.in = padp; }
      else a.in = xn;
      for (int64_t blk = 0; blk < NB; ++blk) {
        for (int64_t k = blk * KP; k < std::min(p.K, (blk + 1) * KP); ++k) {
          const float* src = dy + (n * p.K + k) * OHW;   // NCHW plane k -> pixel-major
          for (int64_t q = 0; q < OHW; ++q) dyt[q * KP + k % KP] = src[q];
        }
        a.dwt = dwt + blk * R * KP;
        weight_image(s, a);
      }
    }
  });
  std::vector<const float*> parts(nt);
  for (int t = 0; t < nt; ++t) parts[t] = buf.acc[t]->as<float>();
  unpack_sum(cp, p.K, R, parts.data(), nt, dw);
  return true;
}

}  // namespace conv_detail
}  // namespace dlcore::cpu
