// kernels.h — the CPU kernel entry points, one block per family (the .cpp files of csrc/cpu).
// Pure functions over raw pointers and sizes; they never allocate Python objects.
// csrc/cuda/kernels.h declares the same functions in namespace dlcore::cuda.
#pragma once
#include <cstdint>

#include "../core/dtype.h"
#include "../core/gemm_params.h"
#include "../core/loop.h"
#include "../core/ops.h"

namespace dlcore::cpu {

// ---- elementwise.cpp -------------------------------------------------------------------
// out = op(in); in and out have the same dtype (Bool only for LogicalNot).
void unary(UnaryOp op, DType dtype, const Loop& loop, void* out, const void* in);
// out = op(a, b); a, b share `dtype`; out is Bool for comparisons / logical ops.
void binary(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a, const void* b);
// out = op(a, s) or, when scalar_first, op(s, a).
void binary_scalar(BinaryOp op, DType dtype, const Loop& loop, void* out, const void* a,
                   double s, bool scalar_first);
// out = cond ? a : b; cond is Bool; a, b, out share dtype.
void where(DType dtype, const Loop& loop, void* out, const void* cond, const void* a,
           const void* b);
// dst = cast(src): strided copy with dtype conversion (contiguous(), .to(dtype), setitem).
void copy(DType dst_dtype, DType src_dtype, const Loop& loop, void* dst, const void* src);
// out[0:n] = value (contiguous).
void fill(DType dtype, void* out, int64_t n, double value);

// ---- reduce.cpp ------------------------------------------------------------------------
// in is contiguous with logical shape [outer, red, inner]; out is [outer, inner].
// out dtype == in dtype, except ArgMax/ArgMin which write Int64. red == 0 is rejected by the
// caller for Max/Min/Arg*; Sum of nothing is 0 and Prod of nothing is 1.
void reduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t red,
            int64_t inner);

// ---- random.cpp ------------------------------------------------------------------------
// Element i of out takes the stream of (seed, offset + i) of Philox4x32-10 (core/philox.h),
// so results do not depend on the thread count or the device.
void uniform(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double low,
             double high);
void normal(DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset, double mean,
            double std);

// ---- gemm.cpp --------------------------------------------------------------------------
void gemm(const GemmParams& p);

// ---- peak.cpp --------------------------------------------------------------------------
// Measured FMA throughput of this machine in GFLOP/s using `threads` threads (float32).
double measure_peak_gflops(int threads);

// ---- cpu.cpp ---------------------------------------------------------------------------
// Which SIMD path the runtime dispatcher chose: "avx2-fma" or "generic".
const char* simd_path();
bool has_avx2_fma();
int num_threads();
void set_num_threads(int n);

}  // namespace dlcore::cpu
