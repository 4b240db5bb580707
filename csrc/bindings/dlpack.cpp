// dlpack.cpp — zero-copy exchange with NumPy, PyTorch, CuPy... through DLPack capsules.
#include "dlpack.h"

namespace dlcore {
namespace {

struct ExportCtx {             // owned by the DLManagedTensor we hand out
  Tensor tensor;               // holds the storage alive
  std::vector<int64_t> shape, strides;
};

DLDataType to_dl(DType d) {
  switch (d) {
    case DType::Float32: return {2, 32, 1};
    case DType::Float64: return {2, 64, 1};
    case DType::Int64: return {0, 64, 1};
    case DType::Bool: return {6, 8, 1};
  }
  return {2, 32, 1};
}

DType from_dl(DLDataType t) {
  if (t.lanes != 1) fail<DTypeError>("from_dlpack", "vector dtypes (lanes=", t.lanes, ") are not supported");
  if (t.code == 2 && t.bits == 32) return DType::Float32;
  if (t.code == 2 && t.bits == 64) return DType::Float64;
  if (t.code == 0 && t.bits == 64) return DType::Int64;
  if (t.code == 6 && t.bits == 8) return DType::Bool;
  fail<DTypeError>("from_dlpack", "unsupported DLPack dtype (code ", (int)t.code, ", bits ", (int)t.bits,
                   "); dlcore supports float32, float64, int64 and bool");
}

void delete_managed(DLManagedTensor* self) {
  delete (ExportCtx*)self->manager_ctx;
  delete self;
}

}  // namespace

py::capsule to_dlpack(const Tensor& t) {
  auto* ctx = new ExportCtx{t, t.sizes, t.strides};
  auto* m = new DLManagedTensor{};
  m->manager_ctx = ctx;
  m->deleter = &delete_managed;
  DLTensor& d = m->dl_tensor;
  d.data = t.storage->data ? t.data() : nullptr;
  d.device = t.device().is_cuda() ? DLDevice{2, t.device().index} : DLDevice{1, 0};
  d.ndim = (int32_t)t.dim();
  d.dtype = to_dl(t.dtype);
  d.shape = ctx->shape.data();
  d.strides = ctx->strides.data();
  d.byte_offset = 0;
  // The capsule destructor frees the tensor only if no consumer took it (name unchanged).
  return py::capsule(m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* mt = (DLManagedTensor*)PyCapsule_GetPointer(cap, "dltensor");
      if (mt && mt->deleter) mt->deleter(mt);
    }
  });
}

Tensor from_dlpack(py::capsule capsule) {
  PyObject* cap = capsule.ptr();
  if (!PyCapsule_IsValid(cap, "dltensor"))
    fail<DTypeError>("from_dlpack", "expected an unconsumed 'dltensor' capsule");
  auto* mt = (DLManagedTensor*)PyCapsule_GetPointer(cap, "dltensor");
  const DLTensor& d = mt->dl_tensor;
  DType dt = from_dl(d.dtype);
  Device dev;
  if (d.device.device_type == 2) dev = Device{DeviceType::CUDA, d.device.device_id};
  else if (d.device.device_type != 1 && d.device.device_type != 3)   // 3: CUDA host (pinned)
    fail<DeviceError>("from_dlpack", "unsupported DLPack device type ", d.device.device_type);
  const int64_t es = (int64_t)itemsize(dt);
  std::vector<int64_t> sizes(d.shape, d.shape + d.ndim);
  std::vector<int64_t> strides = d.strides ? std::vector<int64_t>(d.strides, d.strides + d.ndim)
                                           : contiguous_strides(sizes);
  int64_t lo = 0, hi = 0, n = 1;
  for (int i = 0; i < d.ndim; ++i) {
    n *= sizes[i];
    if (sizes[i] > 0) ((strides[i] < 0) ? lo : hi) += (sizes[i] - 1) * strides[i];
  }
  auto st = std::make_shared<Storage>();
  st->device = dev;
  st->nbytes = n == 0 ? 0 : (size_t)(hi - lo + 1) * es;
  st->data = n == 0 ? nullptr : (char*)d.data + d.byte_offset + lo * es;
  st->deleter = [mt](void*) {
    py::gil_scoped_acquire gil;   // producers such as NumPy drop Python references
    if (mt->deleter) mt->deleter(mt);
  };
  if (n == 0) { if (mt->deleter) mt->deleter(mt); st->deleter = nullptr; }
  PyCapsule_SetName(cap, "used_dltensor");
  Tensor t;
  t.storage = st;
  t.sizes = sizes;
  t.strides = strides;
  t.offset = -lo;
  t.dtype = dt;
  return t;
}

}  // namespace dlcore
