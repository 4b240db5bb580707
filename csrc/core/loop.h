// loop.h — the description of an element-wise loop that kernels receive.
//
// The bindings broadcast operands, drop size-1 dims and merge dims that are contiguous in
// every operand, then hand kernels this plain struct. Kernels never see Tensor objects.
// Operand 0 is the output; 1..3 are inputs. Strides are in elements (not bytes); a
// broadcast dim has stride 0. Dim ndim-1 is the innermost (fastest) dim.
#pragma once
#include <cstdint>

namespace dlcore {

constexpr int kMaxDims = 12;
constexpr int kMaxOperands = 4;

struct Loop {
  int ndim = 0;                       // 0 means a single element (a scalar loop)
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxOperands][kMaxDims] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= sizes[d];
    return n;
  }
  // True when every operand in [0, nops) walks memory with unit stride in one flat run.
  bool contiguous(int nops) const {
    if (ndim > 1) return false;
    if (ndim == 0) return true;
    for (int k = 0; k < nops; ++k)
      if (strides[k][0] != 1) return false;
    return true;
  }
};

}  // namespace dlcore
