// gemm_dot_rows.h — the narrow-C dot-product tile and its driver, shared by gemm_avx2.cpp and
// gemm_avx512.cpp. Included INSIDE each file's anonymous namespace, after that file's
// DotVec<T> and its kDotMR / kDotNJ: every name here then binds to the including file's
// vectors and instruction set (one private copy per file, so the linker never merges an
// AVX-512 instantiation with an AVX2 one). No include guard on purpose.
//
// DotVec<T> supplies: R (a vector), M (a lane mask), W (lanes), zero(), mask(n) (lanes [0, n)),
// load(p) (a whole vector), load(p, m) (zeros in the lanes outside m, no access past them),
// acc(c, a, b) (c += a*b in c's register) and reduce4(x0..x3, d) (d[q] = the lane sum of x_q).

// An MR x NJ tile of C = A B^T with vectors along k: out[4*j + r] = <A row r, B^T row j>.
// Per vector of k: MR A loads, NJ B loads, MR*NJ FMAs. Whole vectors run unmasked, then at
// most one masked tail step loads zeros past K into both operands (one loop computing a mask
// per step cost a mask setup and a branch per step, and GCC then shuffled accumulators
// through spare registers). A macro, not a lambda: a lambda capturing acc by reference kept
// the tile in memory.
template <typename T, int MR, int NJ>
void dot_tile(int64_t K, const T* a, int64_t lda, const T* bt, int64_t ldbt, T* out) {
  using X = DotVec<T>;
  using R = typename X::R;
  constexpr int W = X::W;
  static_assert(MR <= 4, "reduce4 sums at most four rows");
  R acc[MR][NJ];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 6
    for (int j = 0; j < NJ; ++j) acc[r][j] = X::zero();
#define DLCORE_DOT_STEP(...)                                                                \
  {                                                                                         \
    R av[MR];                                                                               \
    _Pragma("GCC unroll 4") for (int r = 0; r < MR; ++r) av[r] = X::load(a + r * lda + k __VA_ARGS__); \
    _Pragma("GCC unroll 6") for (int j = 0; j < NJ; ++j) {                                  \
      const R bv = X::load(bt + j * ldbt + k __VA_ARGS__);                                  \
      _Pragma("GCC unroll 4") for (int r = 0; r < MR; ++r) X::acc(acc[r][j], av[r], bv);    \
    }                                                                                       \
  }
  int64_t k = 0;
  for (; k + W <= K; k += W) DLCORE_DOT_STEP()
  if (k < K) {
    const typename X::M m = X::mask((int)(K - k));
    DLCORE_DOT_STEP(, m)
  }
#undef DLCORE_DOT_STEP
  // out[j*4 + r]: column j's row sums side by side (rows >= MR are zero).
#pragma GCC unroll 6
  for (int j = 0; j < NJ; ++j)
    X::reduce4(acc[0][j], MR > 1 ? acc[MR > 1 ? 1 : 0][j] : X::zero(),
               MR > 2 ? acc[MR > 2 ? 2 : 0][j] : X::zero(),
               MR > 3 ? acc[MR > 3 ? 3 : 0][j] : X::zero(), out + 4 * j);
}

template <typename T>
using DotFn = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*);

// Table of dot_tile<T, MR, NJ> for MR = 1..kDotMR, NJ = 1..kDotNJ, filled once.
template <typename T>
struct DotTable {
  DotFn<T> f[kDotMR][kDotNJ];
  DotTable() { fill(std::make_integer_sequence<int, kDotMR>{}); }
  template <int... R>
  void fill(std::integer_sequence<int, R...>) {
    (fill_row<R + 1>(std::make_integer_sequence<int, kDotNJ>{}), ...);
  }
  template <int MR, int... J>
  void fill_row(std::integer_sequence<int, J...>) {
    ((f[MR - 1][J] = &dot_tile<T, MR, J + 1>), ...);
  }
};

template <typename T>
void dot_rows(int64_t M, int N, int64_t K, const T* a, int64_t lda, const T* bt, int64_t ldbt,
              T* c, int64_t ldc, const TileEpilogue<T>& e) {
  static const DotTable<T> table;
  // Columns in equal groups of at most kDotNJ (N = 10 with 6: 5 + 5, not 6 + 4); the A rows
  // of a tile stay in L1 across the groups.
  const int groups = (N + kDotNJ - 1) / kDotNJ;
  T out[4 * kDotNJ];
  const bool plain = e.alpha == T(1) && e.beta == T(0) && !e.bias && e.act == Activation::None;
  for (int64_t i = 0; i < M; i += kDotMR) {
    const int mr = (int)std::min<int64_t>(kDotMR, M - i);
    for (int g = 0; g < groups; ++g) {
      const int j0 = N * g / groups, nj = N * (g + 1) / groups - j0;
      table.f[mr - 1][nj - 1](K, a + i * lda, lda, bt + j0 * ldbt, ldbt, out);
      // out[4*j + r] is element (r, j): row stride 1, column stride 4. A plain product
      // (a Linear layer's logits) copies it out here; the general epilogue's call and per-row
      // tests were ~12% of a 64 x 128 x 10 product.
      if (plain) {
        for (int r = 0; r < mr; ++r)
          for (int j = 0; j < nj; ++j) c[(i + r) * ldc + j0 + j] = out[4 * j + r];
        continue;
      }
      TileEpilogue<T> te = e;
      if (e.bias) te.bias = e.bias_per_row ? e.bias + i : e.bias + j0;
      store_tile(out, 1, 4, c + i * ldc + j0, ldc, mr, nj, te);
    }
  }
}
