// random.cpp (bindings) — seeded uniform / normal fills. The generator state (seed, offset)
// lives in Python (dlcore.random), which advances the offset by numel after every draw.
#include "common.h"

namespace dlcore {

void register_random(py::module_& m) {
  m.def("uniform_", [](const Tensor& t, uint64_t seed, uint64_t offset, double low, double high) {
    if (!t.is_contiguous()) fail<ShapeError>("uniform_", "expected a contiguous tensor");
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(t.device(), cpu::uniform(t.dtype, t.data(), t.numel(), seed, offset, low, high),
                     cuda::uniform(t.dtype, t.data(), t.numel(), seed, offset, low, high, stream));
  });
  m.def("normal_", [](const Tensor& t, uint64_t seed, uint64_t offset, double mean, double std) {
    if (!t.is_contiguous()) fail<ShapeError>("normal_", "expected a contiguous tensor");
    py::gil_scoped_release nogil;
    DLCORE_ON_DEVICE(t.device(), cpu::normal(t.dtype, t.data(), t.numel(), seed, offset, mean, std),
                     cuda::normal(t.dtype, t.data(), t.numel(), seed, offset, mean, std, stream));
  });
}

}  // namespace dlcore
