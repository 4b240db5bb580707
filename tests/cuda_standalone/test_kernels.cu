// test_kernels.cu — standalone check of the dlcore CUDA kernels against host references.
// Build (from /work/main), all on one line:
//   nvcc -std=c++17 -O2 --expt-relaxed-constexpr -gencode arch=compute_80,code=sm_80
//        -gencode arch=compute_90a,code=sm_90a -Icsrc tests/cuda_standalone/test_kernels.cu
//        csrc/core/cuda_runtime.cu csrc/cuda/{elementwise,reduce,random,gemm,gemm_wgmma}.cu
//        -o /tmp/test_kernels
// Run: /tmp/test_kernels [bench]   (exit code = number of failed checks, capped at 255)
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/philox.h"
#include "cuda/kernels.h"

using namespace dlcore;
namespace rt = dlcore::cudart;

static int g_fail = 0, g_checks = 0;
static std::mt19937_64 g_rng(1234);
#define EXPECT(cond, ...)                                      \
  do {                                                         \
    ++g_checks;                                                \
    if (!(cond)) {                                             \
      ++g_fail;                                                \
      if (g_fail < 60) {                                       \
        printf("FAIL %s:%d: ", __FILE__, __LINE__);            \
        printf(__VA_ARGS__);                                   \
        printf("\n");                                          \
      }                                                        \
    }                                                          \
  } while (0)

template <typename T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t n_, int poison = 0xFF) : n(n_) {
    p = (T*)rt::raw_alloc(0, std::max<size_t>(n, 1) * sizeof(T));
    cudaMemset(p, poison, std::max<size_t>(n, 1) * sizeof(T));
  }
  Dev(const std::vector<T>& h) : Dev(h.size()) { up(h); }
  ~Dev() { rt::raw_free(0, p); }
  void up(const std::vector<T>& h) { rt::memcpy(p, h.data(), h.size() * sizeof(T), rt::CopyKind::HostToDevice, 0); }
  std::vector<T> down() const {
    std::vector<T> h(n);
    rt::memcpy(h.data(), p, n * sizeof(T), rt::CopyKind::DeviceToHost, 0);
    return h;
  }
};
// bool on the host side is stored as uint8_t.
using u8 = uint8_t;

static bool close(double got, double ref, double rtol, double atol = 0) {
  if (std::isnan(ref)) return std::isnan(got);
  if (std::isinf(ref)) return got == ref;
  return std::fabs(got - ref) <= atol + rtol * std::fabs(ref);
}

template <typename T>
std::vector<T> rand_vec(size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = (T)d(g_rng);
  return v;
}

static Loop flat(int64_t n, int nops) {
  Loop l;
  l.ndim = 1;
  l.sizes[0] = n;
  for (int k = 0; k < nops; ++k) l.strides[k][0] = 1;
  return l;
}

// ---- host references -----------------------------------------------------------------------
static double ref_unary(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Relu: return x > 0 ? x : (x == x ? 0 : x);
    case UnaryOp::Sign: return x > 0 ? 1 : x < 0 ? -1 : (x == x ? 0 : x);
    case UnaryOp::Reciprocal: return 1.0 / x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: return std::nearbyint(x);
    case UnaryOp::LogicalNot: return x == 0;
  }
  return 0;
}
static double ref_binary(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Maximum: return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
    case BinaryOp::Minimum: return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return (a != 0) && (b != 0);
    case BinaryOp::LogicalOr: return (a != 0) || (b != 0);
  }
  return 0;
}

// ---- elementwise ----------------------------------------------------------------------------
template <typename T>
void test_unary_float(DType dt, double rtol) {
  const int64_t n = 100003;
  auto h = rand_vec<T>(n, -4, 4);
  const double specials[] = {0.0, -0.0, 0.5, 1.5, 2.5, -2.5, -0.5, NAN, INFINITY, -INFINITY, 1e-30, -50, 50, 100, -100};
  for (size_t i = 0; i < sizeof(specials) / sizeof(double); ++i) h[i * 7] = (T)specials[i];
  Dev<T> in(h);
  for (int o = 0; o <= (int)UnaryOp::LogicalNot; ++o) {
    UnaryOp op = (UnaryOp)o;
    // contiguous, then offset by one element (misaligned: scalar path), then strided (every 2nd)
    for (int variant = 0; variant < 3; ++variant) {
      const int64_t m = variant == 2 ? n / 2 : n - variant;
      Loop l = flat(m, 2);
      if (variant == 2) l.strides[1][0] = 2;
      const T* src = in.p + (variant == 1 ? 1 : 0);
      int bad = 0;
      {
        Dev<T> out(m);
        cuda::unary(op, dt, l, out.p, src, nullptr);
        auto r = out.down();
        for (int64_t i = 0; i < m; ++i) {
          double x = h[variant == 2 ? 2 * i : i + variant];
          double ref = ref_unary(op, x);
          double tol = rtol;
          if (op == UnaryOp::Sin || op == UnaryOp::Cos || op == UnaryOp::Tanh) tol = rtol * 4;
          if (!close(r[i], (T)ref, tol, sizeof(T) == 4 ? 1e-7 : 1e-15)) {
            if (bad < 3) printf("  unary op %d x=%.9g got %.9g ref %.9g\n", o, x, (double)r[i], ref);
            ++bad;
          }
        }
      }
      EXPECT(bad == 0, "unary %s op %d variant %d: %d mismatches", dtype_name(dt), o, variant, bad);
    }
  }
}

void test_unary_int() {
  const int64_t n = 1001;
  std::vector<int64_t> h(n);
  for (int64_t i = 0; i < n; ++i) h[i] = (int64_t)(g_rng() % 2001) - 1000;
  h[0] = 0;
  Dev<int64_t> in(h);
  const UnaryOp ops[] = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Square,
                         UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Round, UnaryOp::LogicalNot};
  for (UnaryOp op : ops) {
    Dev<int64_t> out(n);
    cuda::unary(op, DType::Int64, flat(n, 2), out.p, in.p, nullptr);
    auto r = out.down();
    int bad = 0;
    for (int64_t i = 0; i < n; ++i)
      if (r[i] != (int64_t)ref_unary(op, (double)h[i])) ++bad;
    EXPECT(bad == 0, "unary int64 op %d: %d mismatches", (int)op, bad);
  }
  bool threw = false;
  try { cuda::unary(UnaryOp::Exp, DType::Int64, flat(n, 2), in.p, in.p, nullptr); } catch (std::exception&) { threw = true; }
  EXPECT(threw, "unary exp on int64 must throw");
}

template <typename T>
void test_binary(DType dt) {
  // a: [R, C] contiguous; b: [C] broadcast over rows (stride 0); out [R, C].
  const int64_t R = 37, C = 1029;
  auto ha = rand_vec<T>(R * C, -3, 3), hb = rand_vec<T>(C, -3, 3);
  if (std::is_integral<T>::value)
    for (auto& x : hb) x = (T)((int64_t)x);
  for (int64_t i = 0; i < C; i += 5) hb[i] = ha[i];  // equal values for comparisons
  if constexpr (std::is_floating_point<T>::value) { ha[3] = (T)NAN; hb[4] = (T)NAN; }
  Dev<T> a(ha), b(hb);
  Loop l;
  l.ndim = 2;
  l.sizes[0] = R; l.sizes[1] = C;
  l.strides[0][0] = C; l.strides[0][1] = 1;
  l.strides[1][0] = C; l.strides[1][1] = 1;
  l.strides[2][0] = 0; l.strides[2][1] = 1;
  for (int o = 0; o <= (int)BinaryOp::LogicalOr; ++o) {
    BinaryOp op = (BinaryOp)o;
    if (std::is_integral<T>::value && (op == BinaryOp::Div || op == BinaryOp::Pow)) continue;  // own test
    int bad = 0;
    if (is_comparison(op)) {
      Dev<u8> out(R * C);
      cuda::binary(op, dt, l, out.p, a.p, b.p, nullptr);
      auto r = out.down();
      for (int64_t i = 0; i < R * C; ++i)
        if (r[i] != (u8)ref_binary(op, ha[i], hb[i % C])) ++bad;
    } else {
      Dev<T> out(R * C);
      cuda::binary(op, dt, l, out.p, a.p, b.p, nullptr);
      auto r = out.down();
      for (int64_t i = 0; i < R * C; ++i) {
        double ref = ref_binary(op, ha[i], hb[i % C]);
        if (std::isnan(ref) && op == BinaryOp::Pow) continue;  // negative base, fractional exponent
        if (!close(r[i], (T)ref, sizeof(T) == 4 ? 2e-6 : 1e-14)) ++bad;
      }
    }
    EXPECT(bad == 0, "binary %s op %d: %d mismatches", dtype_name(dt), o, bad);
  }
}

void test_binary_int_pow_scalar() {
  const int64_t n = 513;
  std::vector<int64_t> ha(n), hb(n);
  for (int64_t i = 0; i < n; ++i) { ha[i] = (int64_t)(g_rng() % 11) - 5; hb[i] = (int64_t)(g_rng() % 8); }
  Dev<int64_t> a(ha), b(hb), out(n);
  cuda::binary(BinaryOp::Pow, DType::Int64, flat(n, 3), out.p, a.p, b.p, nullptr);
  auto r = out.down();
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t e = 1;
    for (int k = 0; k < hb[i]; ++k) e *= ha[i];
    if (r[i] != e) ++bad;
  }
  EXPECT(bad == 0, "int64 pow: %d mismatches", bad);
  // int64 Div is floor division; x // 0 == 0
  for (int64_t i = 0; i < n; ++i) { ha[i] = (int64_t)(g_rng() % 41) - 20; hb[i] = (int64_t)(g_rng() % 11) - 5; }
  a.up(ha); b.up(hb);
  cuda::binary(BinaryOp::Div, DType::Int64, flat(n, 3), out.p, a.p, b.p, nullptr);
  r = out.down();
  bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t e = hb[i] == 0 ? 0 : (int64_t)std::floor((double)ha[i] / (double)hb[i]);
    if (r[i] != e) ++bad;
  }
  EXPECT(bad == 0, "int64 floor div: %d mismatches", bad);
  bool threw = false;
  try { cuda::binary(BinaryOp::Add, DType::Bool, flat(n, 3), out.p, a.p, b.p, nullptr); } catch (std::exception&) { threw = true; }
  EXPECT(threw, "bool arithmetic must throw");
  // scalar, both orders, float32
  auto hf = rand_vec<float>(n, 0.1, 3);
  Dev<float> f(hf), fo(n);
  for (int first = 0; first < 2; ++first) {
    cuda::binary_scalar(BinaryOp::Sub, DType::Float32, flat(n, 2), fo.p, f.p, 1.25, first, nullptr);
    auto rf = fo.down();
    bad = 0;
    for (int64_t i = 0; i < n; ++i)
      if (rf[i] != (first ? 1.25f - hf[i] : hf[i] - 1.25f)) ++bad;
    EXPECT(bad == 0, "binary_scalar sub first=%d: %d mismatches", first, bad);
  }
  Dev<u8> bo(n);
  cuda::binary_scalar(BinaryOp::Gt, DType::Float32, flat(n, 2), bo.p, f.p, 1.5, false, nullptr);
  auto rb = bo.down();
  bad = 0;
  for (int64_t i = 0; i < n; ++i)
    if (rb[i] != (u8)(hf[i] > 1.5f)) ++bad;
  EXPECT(bad == 0, "binary_scalar gt: %d mismatches", bad);
}

void test_where_copy_fill() {
  const int64_t R = 65, C = 67;
  auto ha = rand_vec<float>(R * C, -1, 1), hb = rand_vec<float>(R * C, -1, 1);
  std::vector<u8> hc(C);
  for (auto& c : hc) c = g_rng() & 1;
  Dev<float> a(ha), b(hb), out(R * C);
  Dev<u8> c(hc);
  Loop l;
  l.ndim = 2;
  l.sizes[0] = R; l.sizes[1] = C;
  for (int k = 0; k < 4; ++k) { l.strides[k][0] = C; l.strides[k][1] = 1; }
  l.strides[1][0] = 0;  // cond broadcast over rows
  cuda::where(DType::Float32, l, out.p, c.p, a.p, b.p, nullptr);
  auto r = out.down();
  int bad = 0;
  for (int64_t i = 0; i < R * C; ++i)
    if (r[i] != (hc[i % C] ? ha[i] : hb[i])) ++bad;
  EXPECT(bad == 0, "where: %d mismatches", bad);

  // transposed copy with cast float32 -> float64: dst[i][j] = src[j][i]
  Dev<double> d(R * C);
  Loop t;
  t.ndim = 2;
  t.sizes[0] = R; t.sizes[1] = C;
  t.strides[0][0] = C; t.strides[0][1] = 1;
  t.strides[1][0] = 1; t.strides[1][1] = R;
  cuda::copy(DType::Float64, DType::Float32, t, d.p, a.p, nullptr);
  auto rd = d.down();
  bad = 0;
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j)
      if (rd[i * C + j] != (double)ha[j * R + i]) ++bad;
  EXPECT(bad == 0, "transposed cast copy: %d mismatches", bad);

  // all 16 casts, contiguous, from values {-2.7, 0, 1, 3.5}
  const double vals[] = {-2.7, 0.0, 1.0, 3.5, -0.0, 7.0, 2.0, 1.0};
  const DType dts[] = {DType::Bool, DType::Int64, DType::Float32, DType::Float64};
  auto cast_ref = [](DType dt, double x) -> double {
    if (dt == DType::Bool) return x != 0;
    if (dt == DType::Int64) return (double)(int64_t)x;
    if (dt == DType::Float32) return (double)(float)x;
    return x;
  };
  for (DType s : dts)
    for (DType dd : dts) {
      const int n = 8;
      std::vector<double> src_vals(n);
      for (int i = 0; i < n; ++i) src_vals[i] = cast_ref(s, vals[i]);
      std::vector<uint8_t> raw(n * itemsize(s));
      for (int i = 0; i < n; ++i) {
        double v = src_vals[i];
        if (s == DType::Bool) raw[i] = (u8)(v != 0);
        else if (s == DType::Int64) { int64_t x = (int64_t)v; memcpy(&raw[i * 8], &x, 8); }
        else if (s == DType::Float32) { float x = (float)v; memcpy(&raw[i * 4], &x, 4); }
        else memcpy(&raw[i * 8], &v, 8);
      }
      Dev<u8> sd(raw), dd_buf(n * itemsize(dd));
      cuda::copy(dd, s, flat(n, 2), dd_buf.p, sd.p, nullptr);
      auto got = dd_buf.down();
      int cbad = 0;
      for (int i = 0; i < n; ++i) {
        double g;
        if (dd == DType::Bool) g = got[i];
        else if (dd == DType::Int64) { int64_t x; memcpy(&x, &got[i * 8], 8); g = (double)x; }
        else if (dd == DType::Float32) { float x; memcpy(&x, &got[i * 4], 4); g = x; }
        else memcpy(&g, &got[i * 8], 8);
        if (g != cast_ref(dd, src_vals[i])) ++cbad;
      }
      EXPECT(cbad == 0, "copy %s -> %s: %d mismatches", dtype_name(s), dtype_name(dd), cbad);
    }

  Dev<float> ff(1000);
  cuda::fill(DType::Float32, ff.p, 999, 2.5, nullptr);
  auto rf = ff.down();
  bad = 0;
  for (int i = 0; i < 999; ++i) bad += rf[i] != 2.5f;
  EXPECT(bad == 0 && std::isnan(rf[999]), "fill float32 (%d bad, last element must be untouched)", bad);
  Dev<int64_t> fi(77);
  cuda::fill(DType::Int64, fi.p, 77, -3.0, nullptr);
  auto ri = fi.down();
  bad = 0;
  for (auto x : ri) bad += x != -3;
  EXPECT(bad == 0, "fill int64");
}

// ---- reduce -----------------------------------------------------------------------------------
template <typename T>
void test_reduce_shape(DType dt, int64_t outer, int64_t red, int64_t inner, bool ties) {
  const int64_t n = outer * red * inner;
  std::vector<T> h(n);
  for (auto& x : h) x = ties ? (T)(int64_t)(g_rng() % 5) : (T)std::uniform_real_distribution<double>(-1, 1)(g_rng);
  Dev<T> in(h);
  for (int o = 0; o <= (int)ReduceOp::ArgMin; ++o) {
    ReduceOp op = (ReduceOp)o;
    if (red == 0 && op != ReduceOp::Sum && op != ReduceOp::Prod) continue;
    if (op == ReduceOp::Prod && red > (ties ? 16 : 64)) continue;  // would under/overflow (int64 wraps)
    const bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
    Dev<T> out(arg ? 0 : outer * inner);
    Dev<int64_t> iout(arg ? outer * inner : 0);
    cuda::reduce(op, dt, in.p, arg ? (void*)iout.p : (void*)out.p, outer, red, inner, nullptr);
    auto rv = out.down();
    auto ri = iout.down();
    int bad = 0;
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t c = 0; c < inner; ++c) {
        double acc = op == ReduceOp::Prod ? 1 : 0, absacc = 0;
        double best = 0;
        int64_t bi = -1;
        for (int64_t r = 0; r < red; ++r) {
          double x = h[(a * red + r) * inner + c];
          absacc += std::fabs(x);
          if (op == ReduceOp::Sum) acc += x;
          else if (op == ReduceOp::Prod) acc *= x;
          else if (bi < 0 || (op == ReduceOp::Max || op == ReduceOp::ArgMax ? x > best : x < best)) { best = x; bi = r; }
        }
        const int64_t j = a * inner + c;
        if (arg) { if (ri[j] != bi) ++bad; }
        else if (op == ReduceOp::Sum) { if (std::fabs(rv[j] - acc) > 1e-5 * absacc + 1e-6) ++bad; }
        else if (op == ReduceOp::Prod) { if (!close(rv[j], acc, 1e-4, 1e-30)) ++bad; }
        else if ((double)rv[j] != best) ++bad;
      }
    EXPECT(bad == 0, "reduce %s op %d shape [%lld,%lld,%lld]: %d mismatches", dtype_name(dt), o,
           (long long)outer, (long long)red, (long long)inner, bad);
  }
}

void test_reduce() {
  const int64_t shapes[][3] = {{1, 1, 1},   {3, 7, 1},     {5, 1000, 1},  {2, 100000, 1}, {1, 3000001, 1},
                               {7, 33, 1},  {4, 50, 3},    {1, 100000, 2}, {3, 1000, 129}, {64, 5, 1000},
                               {2, 0, 5},   {1, 70000, 40}, {1000, 64, 1}};
  for (auto& s : shapes) {
    test_reduce_shape<float>(DType::Float32, s[0], s[1], s[2], false);
    test_reduce_shape<double>(DType::Float64, s[0], s[1], s[2], true);
    test_reduce_shape<int64_t>(DType::Int64, s[0], s[1], s[2], true);
  }
  // NaN: Max propagates it, ArgMax points at the first NaN.
  std::vector<float> h(5000, 1.0f);
  h[1234] = NAN; h[4000] = NAN; h[10] = 7;
  Dev<float> in(h), out(1);
  Dev<int64_t> idx(1);
  cuda::reduce(ReduceOp::Max, DType::Float32, in.p, out.p, 1, 5000, 1, nullptr);
  cuda::reduce(ReduceOp::ArgMax, DType::Float32, in.p, idx.p, 1, 5000, 1, nullptr);
  EXPECT(std::isnan(out.down()[0]), "max must propagate NaN");
  EXPECT(idx.down()[0] == 1234, "argmax must return the first NaN, got %lld", (long long)idx.down()[0]);
}

// ---- random ------------------------------------------------------------------------------------
template <typename T>
void test_random(DType dt) {
  const int64_t n = 123457;
  const uint64_t seed = 0x1234567890ull, offset = 77;
  Dev<T> u(n), g(n);
  cuda::uniform(dt, u.p, n, seed, offset, -2.0, 3.0, nullptr);
  cuda::normal(dt, g.p, n, seed, offset, 1.0, 2.0, nullptr);
  auto ru = u.down(), rg = g.down();
  int bad_u = 0, bad_g = 0;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) {
    T eu = (T)(-2.0 + 5.0 * (double)philox_uniform<T>(seed, offset + i));
    T eg = (T)(1.0 + 2.0 * (double)philox_normal<T>(seed, offset + i));
    if (ru[i] != eu) ++bad_u;
    if (!close(rg[i], eg, sizeof(T) == 4 ? 1e-6 : 1e-13, 1e-12)) ++bad_g;
    mean += rg[i];
  }
  mean /= n;
  EXPECT(bad_u == 0, "uniform %s: %d differ from the host philox", dtype_name(dt), bad_u);
  EXPECT(bad_g == 0, "normal %s: %d differ from the host philox", dtype_name(dt), bad_g);
  EXPECT(std::fabs(mean - 1.0) < 0.05, "normal mean %f", mean);
}

// ---- gemm ----------------------------------------------------------------------------------------
struct GemmCase {
  int64_t batch, M, N, K;
  bool ta, tb;      // A / B stored transposed (read through a transposed view)
  bool bcast_b;     // B batch stride 0
  double beta;
  int bias;         // 0 none, 1 per column, 2 per row
  Activation act;
  int pad;          // extra elements per row of A and B storage (breaks 16-byte alignment when odd)
  bool ld4 = false; // round the leading dimensions of A and B up to a multiple of 4 (keeps any
                    // M, N, K on the 16-byte-aligned tensor-core paths); pad is ignored then
};

// Returns ||out - ref|| / ||ref|| (Frobenius, float64 host reference). worst, when given,
// receives max over elements of |out - ref| / mag with mag = |alpha| sum_k |a||b| + |beta c| +
// |bias| + 1e-6: TF32 rounding (even truncation) keeps it under about 2^-9 on any input.
template <typename T>
double run_gemm_case(DType dt, const GemmCase& c, bool tf32, double* ms = nullptr, double* worst = nullptr) {
  auto ld = [&](int64_t n) { return c.ld4 ? (n + 3) / 4 * 4 : n + c.pad; };
  const int64_t lda = ld(c.ta ? c.M : c.K), ldb = ld(c.tb ? c.K : c.N);
  const int64_t a_rows = c.ta ? c.K : c.M, b_rows = c.tb ? c.N : c.K;
  const int64_t a_bs = a_rows * lda, b_bs = c.bcast_b ? 0 : b_rows * ldb;
  auto hA = rand_vec<T>(c.batch * a_bs, -1, 1);
  auto hB = rand_vec<T>(c.bcast_b ? b_rows * ldb : c.batch * b_bs, -1, 1);
  auto hC = rand_vec<T>(c.batch * c.M * c.N, -1, 1);
  auto hbias = rand_vec<T>(std::max(c.M, c.N), -1, 1);
  Dev<T> A(hA), B(hB), C(c.batch * c.M * c.N), bias(hbias);
  if (c.beta != 0) C.up(hC);  // else C holds NaN poison, which must not leak through
  GemmParams p;
  p.dtype = dt;
  p.batch = c.batch; p.M = c.M; p.N = c.N; p.K = c.K;
  p.A = A.p; p.a_batch_stride = a_bs;
  p.a_row_stride = c.ta ? 1 : lda; p.a_col_stride = c.ta ? lda : 1;
  p.B = B.p; p.b_batch_stride = b_bs;
  p.b_row_stride = c.tb ? 1 : ldb; p.b_col_stride = c.tb ? ldb : 1;
  p.C = C.p; p.c_batch_stride = c.M * c.N; p.c_row_stride = c.N;
  p.alpha = 0.75; p.beta = c.beta;
  p.bias = c.bias ? bias.p : nullptr; p.bias_per_row = c.bias == 2;
  p.act = c.act; p.allow_tf32 = tf32;
  cuda::gemm(p, nullptr);
  cudaError_t e = cudaDeviceSynchronize();
  EXPECT(e == cudaSuccess, "gemm sync: %s", cudaGetErrorString(e));
  if (ms) {
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0); cudaEventCreate(&e1);
    for (int i = 0; i < 3; ++i) cuda::gemm(p, nullptr);
    cudaEventRecord(e0);
    const int reps = 10;
    for (int i = 0; i < reps; ++i) cuda::gemm(p, nullptr);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t = 0;
    cudaEventElapsedTime(&t, e0, e1);
    *ms = t / reps;
    return 0;
  }
  auto hout = C.down();
  double num = 0, den = 0;
  if (worst) *worst = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) {
        double s = 0, mag = 0;
        for (int64_t k = 0; k < c.K; ++k) {
          double av = hA[b * a_bs + (c.ta ? k * lda + m : m * lda + k)];
          double bv = hB[b * b_bs + (c.tb ? n * ldb + k : k * ldb + n)];
          s += av * bv;
          mag += std::fabs(av * bv);
        }
        double v = 0.75 * s + c.beta * (c.beta != 0 ? (double)hC[(b * c.M + m) * c.N + n] : 0.0);
        mag = 0.75 * mag + std::fabs(c.beta != 0 ? c.beta * (double)hC[(b * c.M + m) * c.N + n] : 0.0) + 1e-6;
        if (c.bias == 1) { v += hbias[n]; mag += std::fabs((double)hbias[n]); }
        if (c.bias == 2) { v += hbias[m]; mag += std::fabs((double)hbias[m]); }
        if (c.act == Activation::Relu) v = v < 0 ? 0 : v;
        if (c.act == Activation::Sigmoid) v = 1 / (1 + std::exp(-v));
        if (c.act == Activation::Tanh) v = std::tanh(v);
        double got = hout[(b * c.M + m) * c.N + n];
        if (std::isnan(got)) {
          if (worst) *worst = INFINITY;
          return INFINITY;
        }
        if (worst) *worst = std::max(*worst, std::fabs(got - v) / mag);  // activations are 1-Lipschitz
        num += (got - v) * (got - v);
        den += v * v;
      }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Every (size, A layout, B layout) combination: case number idx (from 1) varies B broadcast,
// beta, bias and activation across the cases so that each appears with each size.
template <size_t N, typename F>
void for_each_gemm_layout(const int64_t (&sizes)[N][4], F&& fn) {
  const Activation acts[] = {Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh};
  int idx = 0;
  for (auto& s : sizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        ++idx;
        GemmCase c{s[0], s[1], s[2], s[3], (bool)ta, (bool)tb, (idx % 3) == 0, (idx % 2) ? 0.0 : 0.5,
                   idx % 3, acts[idx % 4], 0};
        fn(c, idx);
      }
}

template <typename T>
void test_gemm(DType dt, bool tf32, double tol) {
  const int64_t sizes[][4] = {{1, 1, 1, 1},     {1, 17, 33, 9},    {1, 128, 128, 8}, {1, 129, 257, 65},
                              {3, 300, 200, 100}, {2, 64, 64, 0},   {1, 1000, 3, 777}, {1, 5, 1000, 31},
                              {2, 513, 515, 300}};
  for_each_gemm_layout(sizes, [&](GemmCase c, int idx) {
    c.pad = (idx % 5 == 0) ? 1 : 0;
    double err = run_gemm_case<T>(dt, c, tf32);
    EXPECT(err < tol, "gemm %s%s b=%lld M=%lld N=%lld K=%lld ta=%d tb=%d pad=%d: rel err %.3g",
           dtype_name(dt), tf32 ? "(tf32)" : "", (long long)c.batch, (long long)c.M, (long long)c.N,
           (long long)c.K, (int)c.ta, (int)c.tb, c.pad, err);
  });
}

// The Hopper wgmma TF32 path (gemm_wgmma.cu), which gemm() takes on sm_90 once its self-check
// passed. Leading dimensions are rounded up to 4 so that awkward M, N, K stay on the
// tensor-core path; every layout, batches (broadcast B too), beta, bias and activations.
void test_gemm_wgmma() {
  int dev = 0;
  cudaGetDevice(&dev);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, dev);
  if (prop.major != 9) {
    printf("gemm wgmma: SKIPPED, device %d is sm_%d%d (the wgmma path needs sm_90)\n", dev, prop.major, prop.minor);
    return;
  }
  const char* env = std::getenv("DLCORE_CUDA_WGMMA");
  const bool env_off = env && std::string(env) == "0";
  const int64_t sizes[][4] = {{1, 1, 1, 1},      {1, 7, 31, 257},  {1, 31, 7, 1000},  {1, 257, 1000, 31},
                              {1, 1000, 257, 7}, {2, 64, 64, 0},   {3, 129, 65, 200}, {2, 1000, 999, 300},
                              {5, 31, 257, 33},  {1, 256, 128, 64}};
  int cases = 0;
  for_each_gemm_layout(sizes, [&](GemmCase c, int idx) {
    cases = idx;
    c.ld4 = true;
    double worst = 0;
    const double err = run_gemm_case<float>(DType::Float32, c, true, nullptr, &worst);
    EXPECT(worst <= 3e-3, "gemm wgmma b=%lld M=%lld N=%lld K=%lld ta=%d tb=%d: element error %.3g of its magnitude",
           (long long)c.batch, (long long)c.M, (long long)c.N, (long long)c.K, (int)c.ta, (int)c.tb, worst);
    if (c.batch * c.M * c.N >= 1000)  // too few elements make the norm ratio noisy
      EXPECT(err < 3e-3, "gemm wgmma b=%lld M=%lld N=%lld K=%lld ta=%d tb=%d: rel err %.3g",
             (long long)c.batch, (long long)c.M, (long long)c.N, (long long)c.K, (int)c.ta, (int)c.tb, err);
  });
  const std::string path = cuda::gemm_tf32_path(dev);
  EXPECT(path == (env_off ? "mma.sync" : "wgmma"), "gemm_tf32_path(%d) = %s (expected %s)", dev, path.c_str(),
         env_off ? "mma.sync" : "wgmma");
  printf("gemm wgmma: %d cases, TF32 path on device %d: %s\n", cases, dev, path.c_str());
}

void bench_gemm() {
  const int64_t S = 4096;
  printf("TF32 path on device 0: %s\n", cuda::gemm_tf32_path(0));
  for (int mode = 0; mode < 3; ++mode) {
    GemmCase c{1, S, S, S, false, mode == 2, false, 0.0, 0, Activation::None, 0};
    double ms = 0;
    run_gemm_case<float>(DType::Float32, c, mode >= 1, &ms);
    printf("gemm f32 %lldx%lldx%lld %-22s %8.3f ms  %7.1f TFLOP/s\n", (long long)S, (long long)S, (long long)S,
           mode == 0 ? "SIMT" : mode == 1 ? "TF32 (B row-major)" : "TF32 (B = W^T)", ms,
           2.0 * S * S * S / (ms * 1e-3) / 1e12);
  }
}

void test_allocator() {
  const size_t before = rt::memory_reserved(0);
  void* a = rt::raw_alloc(0, 1000);
  EXPECT(rt::memory_allocated(0) >= 1024, "allocated counter");
  rt::raw_free(0, a);
  void* b = rt::raw_alloc(0, 900);
  EXPECT(a == b, "cached block reused (rounded to 512 B)");
  rt::raw_free(0, b);
  void* big = rt::raw_alloc(0, (size_t)5 << 20);
  rt::raw_free(0, big);
  void* big2 = rt::raw_alloc(0, ((size_t)5 << 20) + 7);
  EXPECT(big == big2, "large cached block reused (2 MiB granularity)");
  rt::raw_free(0, big2);
  EXPECT(rt::memory_reserved(0) >= before, "reserved counter");
  rt::empty_cache();
  EXPECT(rt::memory_reserved(0) == 0 || rt::memory_allocated(0) > 0, "empty_cache returns cached blocks");
  bool threw = false;
  try { rt::raw_free(0, (void*)0x1234); } catch (std::exception&) { threw = true; }
  EXPECT(threw, "raw_free of a foreign pointer throws");
  threw = false;
  try { rt::raw_alloc(0, (size_t)1 << 50); } catch (std::exception&) { threw = true; }
  EXPECT(threw, "an impossible allocation throws");
}

int main(int argc, char** argv) {
  printf("devices: %d (%s), archs %s\n", rt::device_count(),
         rt::device_count() ? rt::device_name(0).c_str() : "-", rt::compiled_architectures().c_str());
  if (rt::device_count() == 0) { printf("no GPU: nothing to test\n"); return 0; }
  auto t0 = std::chrono::steady_clock::now();
  test_allocator();
  test_unary_float<float>(DType::Float32, 2e-6);
  test_unary_float<double>(DType::Float64, 1e-14);
  test_unary_int();
  test_binary<float>(DType::Float32);
  test_binary<double>(DType::Float64);
  test_binary<int64_t>(DType::Int64);
  test_binary_int_pow_scalar();
  test_where_copy_fill();
  test_reduce();
  test_random<float>(DType::Float32);
  test_random<double>(DType::Float64);
  test_gemm<float>(DType::Float32, false, 1e-5);
  test_gemm<double>(DType::Float64, false, 1e-12);
  test_gemm<float>(DType::Float32, true, 2e-3);
  test_gemm_wgmma();
  cudaError_t e = cudaDeviceSynchronize();
  EXPECT(e == cudaSuccess, "final sync: %s", cudaGetErrorString(e));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("%d checks, %d failed (%.1f s)\n", g_checks, g_fail, secs);
  if (argc > 1 && std::string(argv[1]) == "bench") bench_gemm();
  printf("allocated %zu reserved %zu\n", rt::memory_allocated(0), rt::memory_reserved(0));
  return g_fail > 255 ? 255 : g_fail;
}
