// common.h — what every binding file shares: pybind11, the core, device dispatch.
//
// Bindings are thin: validate arguments (shapes, dtypes, devices) with messages that name the
// op, build the Loop / sizes the kernel needs, release the GIL, call dlcore::cpu::X or
// dlcore::cuda::X. Kernels never see Python.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "../core/cuda_runtime.h"
#include "../core/errors.h"
#include "../core/tensor.h"
#include "../cpu/kernels.h"
#ifdef DLCORE_WITH_CUDA
#include "../cuda/kernels.h"
#endif

namespace py = pybind11;

namespace dlcore {

// Runs on the tensor's CUDA device: makes it current and yields its current stream.
inline void* cuda_stream_for(const Device& d) {
  cudart::set_device(d.index);
  return cudart::current_stream(d.index);
}

// DLCORE_ON_DEVICE(device, cpu_expr, cuda_expr_using_`stream`): the one dispatch point.
#ifdef DLCORE_WITH_CUDA
#define DLCORE_ON_DEVICE(dev, CPU_EXPR, CUDA_EXPR)            \
  do {                                                        \
    if ((dev).is_cuda()) {                                    \
      void* stream = ::dlcore::cuda_stream_for(dev);          \
      (void)stream;                                           \
      CUDA_EXPR;                                              \
    } else {                                                  \
      CPU_EXPR;                                               \
    }                                                         \
  } while (0)
#else
#define DLCORE_ON_DEVICE(dev, CPU_EXPR, CUDA_EXPR)                                        \
  do {                                                                                    \
    if ((dev).is_cuda()) throw ::dlcore::DeviceError("dlcore was built without CUDA support"); \
    CPU_EXPR;                                                                             \
  } while (0)
#endif

inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device())
    fail<DeviceError>(op, "expected all tensors on the same device, got ", a.device().str(), " and ",
                      b.device().str());
}

// Copies src (broadcast to dst's shape) into dst, casting dtype. Same device only.
// A float32/float64 tensor, else DTypeError naming the op and the argument.
inline void check_float(const char* op, const Tensor& t, const char* what) {
  if (!is_floating(t.dtype))
    fail<DTypeError>(op, "expected a float32 or float64 ", what, ", got ", dtype_name(t.dtype));
}

void copy_into(const Tensor& dst, const Tensor& src, const char* op);
// t's values as dtype (t itself when it already has it), a new contiguous tensor otherwise.
Tensor cast(const Tensor& t, DType dtype, const char* op);
// A contiguous tensor with t's values (t itself when already contiguous).
Tensor contiguous(const Tensor& t);
// Cross-device copy (host<->device) into a new contiguous tensor on `device`.
Tensor to_device(const Tensor& t, Device device);

void register_tensor(py::module_& m);
void register_elementwise(py::module_& m);
void register_reduce(py::module_& m);
void register_random(py::module_& m);
void register_gemm(py::module_& m);
void register_optim(py::module_& m);
void register_nn(py::module_& m);
void register_index(py::module_& m);
void register_conv(py::module_& m);        // conv.cpp
void register_pool(py::module_& m);        // pool.cpp
void register_batchnorm(py::module_& m);   // batchnorm.cpp
void register_rnn(py::module_& m);         // rnn.cpp
void register_scatter(py::module_& m);     // scatter.cpp
void register_sort(py::module_& m);        // sort.cpp (sort, topk, scans)
void register_layernorm(py::module_& m);   // layernorm.cpp

}  // namespace dlcore
