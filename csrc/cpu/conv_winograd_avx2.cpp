// conv_winograd_avx2.cpp — the per-tile-row Winograd transforms (conv_winograd_rows.h) compiled
// with -mavx2 -mfma: 8-lane loops along the tiles of a row. conv_winograd.cpp calls it only on
// the AVX2 / AVX-512 CPU paths.
#include <algorithm>
#include <cstdint>

#include "conv_winograd.h"

namespace dlcore::cpu::conv_winograd {
namespace {
#include "conv_winograd_rows.h"
}  // namespace

RowTransforms row_transforms_avx2() { return {&input_rows, &output_rows, &grad_rows}; }

}  // namespace dlcore::cpu::conv_winograd
