// conv_winograd_rows.h — the per-tile-row transforms of the Winograd F(2x2, 3x3) convolution
// (conv_winograd.cpp says what they compute). Included INSIDE an anonymous namespace by
// conv_winograd.cpp (portable build) and conv_winograd_avx2.cpp (-mavx2 -mfma): one private
// copy per instruction set, so the linker never merges them. No include guard on purpose.
//
// Layout trick: a tile tx reads input columns 2tx .. 2tx + 3 and writes output columns 2tx,
// 2tx + 1, a stride of 2 that keeps the compiler from vectorising along the tiles. So each
// image row is split once into its even and odd columns (E[q] = row[2q], O[q] = row[2q + 1]);
// every transform below is then a unit-stride loop over the TW tiles of the row:
//   input   (B^T d B)   with E, O the halves of row a of B^T d (the 4 rows combined):
//           v0 = E[tx] - E[tx+1], v1 = O[tx] + E[tx+1], v2 = E[tx+1] - O[tx], v3 = O[tx] - O[tx+1]
//   output  (A^T M A)   y[2tx] = q0 + q1 + q2, y[2tx + 1] = q1 - q2 - q3, then interleaved
//   grad    (A dY A^T)  from the even / odd columns of the two gradient rows

// E[q] = row[2q], O[q] = row[2q + 1] for q < n, n values from s (no bounds tests).
inline void split_inside(const float* __restrict s, int64_t n, float* __restrict E,
                         float* __restrict O) {
#pragma omp simd
  for (int64_t q = 0; q < n; ++q) {
    E[q] = s[2 * q];
    O[q] = s[2 * q + 1];
  }
}

// The E / O halves of one zero-padded row: padded column p holds src[p - pl] for
// 0 <= p - pl < W, else 0; q < n. The pairs lying wholly inside the row take split_inside.
inline void split_row(const float* src, int64_t W, int64_t pl, int64_t n, float* E, float* O) {
  // Pair q is inside when 2q - pl >= 0 and 2q + 1 - pl <= W - 1.
  const int64_t q_lo = std::clamp<int64_t>((pl + 1) / 2, 0, n);
  const int64_t q_hi = std::clamp<int64_t>((W + pl) / 2, q_lo, n);
  auto edge = [&](int64_t q) {
    const int64_t ce = 2 * q - pl, co = ce + 1;
    E[q] = (ce >= 0 && ce < W) ? src[ce] : 0.f;
    O[q] = (co >= 0 && co < W) ? src[co] : 0.f;
  };
  for (int64_t q = 0; q < q_lo; ++q) edge(q);
  if (q_hi > q_lo) split_inside(src + 2 * q_lo - pl, q_hi - q_lo, E + q_lo, O + q_lo);
  for (int64_t q = q_hi; q < n; ++q) edge(q);
}

// The B^T combinations of the 4 input rows of a tile row (row a of B^T d).
template <int A>
inline float bt_row(float d0, float d1, float d2, float d3) {
  if constexpr (A == 0) return d0 - d2;
  else if constexpr (A == 1) return d1 + d2;
  else if constexpr (A == 2) return d2 - d1;
  else return d1 - d3;
}

// Row a of B^T d B for the TW tiles of one tile row, from the even / odd halves E[i], O[i]
// of its 4 input rows: B^T down the columns and B along the rows in one pass.
template <int A>
inline void input_points(const float* const* E, const float* const* O, int64_t TW,
                         float* __restrict v0, float* __restrict v1, float* __restrict v2,
                         float* __restrict v3) {
  const float* __restrict e0 = E[0];
  const float* __restrict e1 = E[1];
  const float* __restrict e2 = E[2];
  const float* __restrict e3 = E[3];
  const float* __restrict o0 = O[0];
  const float* __restrict o1 = O[1];
  const float* __restrict o2 = O[2];
  const float* __restrict o3 = O[3];
#pragma omp simd
  for (int64_t tx = 0; tx < TW; ++tx) {
    const float ea = bt_row<A>(e0[tx], e1[tx], e2[tx], e3[tx]);
    const float eb = bt_row<A>(e0[tx + 1], e1[tx + 1], e2[tx + 1], e3[tx + 1]);
    const float oa = bt_row<A>(o0[tx], o1[tx], o2[tx], o3[tx]);
    const float ob = bt_row<A>(o0[tx + 1], o1[tx + 1], o2[tx + 1], o3[tx + 1]);
    v0[tx] = ea - eb;
    v1[tx] = oa + eb;
    v2[tx] = eb - oa;
    v3[tx] = oa - ob;
  }
}

// Channel by channel: the input rows the tile rows read (padded rows 2ty0 .. 2ty1 + 1) are
// split into even / odd halves once (neighbouring tile rows share two rows), then each tile
// row's 16 points are formed from them.
void input_rows(const Geom& g, const float* x, int64_t ty0, int64_t ty1, float* V, int64_t T,
                int64_t col0, float* rows) {
  const int64_t TW = g.TW, n = TW + 1;   // n = TW + 1 even / odd columns cover 2TW + 2
  const int64_t xs = xi_stride(g.cin, T), nr = 2 * (ty1 - ty0) + 2;
  for (int64_t c = 0; c < g.cin; ++c) {
    const float* plane = x + c * g.H * g.W;
    for (int64_t r = 0; r < nr; ++r) {
      float* E = rows + 2 * r * n;
      float* O = E + n;
      const int64_t h = 2 * ty0 + r - g.pt;
      if (h < 0 || h >= g.H) {
        std::fill(E, E + 2 * n, 0.f);
      } else {
        split_row(plane + h * g.W, g.W, g.pl, n, E, O);
      }
    }
    for (int64_t ty = ty0; ty < ty1; ++ty) {
      const int64_t r0 = 2 * (ty - ty0);
      const float* E[4];
      const float* O[4];
      for (int i = 0; i < 4; ++i) {
        E[i] = rows + 2 * (r0 + i) * n;
        O[i] = E[i] + n;
      }
      float* v = V + c * T + col0 + (ty - ty0) * TW;
      input_points<0>(E, O, TW, v, v + xs, v + 2 * xs, v + 3 * xs);
      input_points<1>(E, O, TW, v + 4 * xs, v + 5 * xs, v + 6 * xs, v + 7 * xs);
      input_points<2>(E, O, TW, v + 8 * xs, v + 9 * xs, v + 10 * xs, v + 11 * xs);
      input_points<3>(E, O, TW, v + 12 * xs, v + 13 * xs, v + 14 * xs, v + 15 * xs);
    }
  }
}

void output_rows(const Geom& g, const float* M, int64_t T, int64_t col0, int64_t ty0,
                 int64_t ty1, const float* bias, bool relu, float* y, float* rows) {
  const int64_t TW = g.TW;
  const int64_t xs = xi_stride(g.cout, T);
  float* __restrict q = rows;            // 8 x TW: q_r[j][tx], r = 0, 1 (output row), j = 0..3
  float* __restrict e = rows + 8 * TW;   // 2 x TW: output columns 2tx, 2tx + 1 of one row
  for (int64_t o = 0; o < g.cout; ++o) {
    const float b = bias ? bias[o] : 0.f;
    for (int64_t ty = ty0; ty < ty1; ++ty) {
    const int64_t cc = col0 + (ty - ty0) * TW, nrows = std::min<int64_t>(2, g.OH - 2 * ty);
    // A^T down the columns: row 0 = m0 + m1 + m2, row 1 = m1 - m2 - m3 (per column j).
    for (int j = 0; j < 4; ++j) {
      const float* __restrict m0 = M + (0 + j) * xs + o * T + cc;
      const float* __restrict m1 = M + (4 + j) * xs + o * T + cc;
      const float* __restrict m2 = M + (8 + j) * xs + o * T + cc;
      const float* __restrict m3 = M + (12 + j) * xs + o * T + cc;
      float* __restrict q0 = q + j * TW;
      float* __restrict q1 = q + (4 + j) * TW;
#pragma omp simd
      for (int64_t tx = 0; tx < TW; ++tx) {
        q0[tx] = m0[tx] + m1[tx] + m2[tx];
        q1[tx] = m1[tx] - m2[tx] - m3[tx];
      }
    }
    for (int64_t r = 0; r < nrows; ++r) {
      const float* __restrict a0 = q + (4 * r + 0) * TW;
      const float* __restrict a1 = q + (4 * r + 1) * TW;
      const float* __restrict a2 = q + (4 * r + 2) * TW;
      const float* __restrict a3 = q + (4 * r + 3) * TW;
      float* __restrict e0 = e;
      float* __restrict e1 = e + TW;
      // ... then A along the rows.
#pragma omp simd
      for (int64_t tx = 0; tx < TW; ++tx) {
        float v0 = a0[tx] + a1[tx] + a2[tx] + b, v1 = a1[tx] - a2[tx] - a3[tx] + b;
        if (relu) { v0 = std::max(v0, 0.f); v1 = std::max(v1, 0.f); }
        e0[tx] = v0;
        e1[tx] = v1;
      }
      float* __restrict out = y + (o * g.OH + 2 * ty + r) * g.OW;
      const int64_t full = g.OW / 2;
#pragma omp simd
      for (int64_t tx = 0; tx < full; ++tx) {
        out[2 * tx] = e0[tx];
        out[2 * tx + 1] = e1[tx];
      }
      if (g.OW % 2) out[2 * full] = e0[full];   // odd width: the last tile's first column
    }
    }
  }
}

void grad_rows(const Geom& g, const float* dy, int64_t ty0, int64_t ty1, float* Z, int64_t T,
               int64_t col0, float* rows) {
  const int64_t TW = g.TW, xs = xi_stride(g.cout, T);
  // u / w: even and odd columns of gradient rows 2ty and 2ty + 1 (zero past OW / OH).
  float* __restrict u0 = rows;
  float* __restrict u1 = rows + TW;
  float* __restrict w0 = rows + 2 * TW;
  float* __restrict w1 = rows + 3 * TW;
  for (int64_t o = 0; o < g.cout; ++o) {
    for (int64_t ty = ty0; ty < ty1; ++ty) {
    const int64_t cc = col0 + (ty - ty0) * TW;
    const bool second = 2 * ty + 1 < g.OH;
    const float* src = dy + (o * g.OH + 2 * ty) * g.OW;
    split_row(src, g.OW, 0, TW, u0, u1);
    if (second) {
      split_row(src + g.OW, g.OW, 0, TW, w0, w1);
    } else {
      std::fill(w0, w0 + TW, 0.f);
      std::fill(w1, w1 + TW, 0.f);
    }
    // A down the columns (rows u, u + w, u - w, -w), then A^T along the rows: for a tile row
    // (c0, c1), z = (c0, c0 + c1, c0 - c1, -c1).
    // c0 / c1: row a of A [u; w] at the tile's two columns.
    auto emit = [&](int a, auto&& row) {
      float* __restrict z0 = Z + (4 * a + 0) * xs + o * T + cc;
      float* __restrict z1 = Z + (4 * a + 1) * xs + o * T + cc;
      float* __restrict z2 = Z + (4 * a + 2) * xs + o * T + cc;
      float* __restrict z3 = Z + (4 * a + 3) * xs + o * T + cc;
#pragma omp simd
      for (int64_t tx = 0; tx < TW; ++tx) {
        const float c0 = row(u0[tx], w0[tx]), c1 = row(u1[tx], w1[tx]);
        z0[tx] = c0;
        z1[tx] = c0 + c1;
        z2[tx] = c0 - c1;
        z3[tx] = -c1;
      }
    };
    emit(0, [](float u, float) { return u; });
    emit(1, [](float u, float w) { return u + w; });
    emit(2, [](float u, float w) { return u - w; });
    emit(3, [](float, float w) { return -w; });
    }
  }
}
