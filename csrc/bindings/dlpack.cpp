// dlpack.cpp — zero-copy exchange with NumPy, PyTorch, CuPy... through DLPack capsules.
#include "dlpack.h"

#include <cstring>
#include <functional>
#include <type_traits>

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

template <typename Managed>
void delete_managed(Managed* self) {
  delete (ExportCtx*)self->manager_ctx;
  delete self;
}

template <typename Managed>
py::capsule export_capsule(const Tensor& t, const char* name) {
  auto* ctx = new ExportCtx{t, t.sizes, t.strides};
  auto* m = new Managed{};
  m->manager_ctx = ctx;
  m->deleter = &delete_managed<Managed>;
  DLTensor& d = m->dl_tensor;
  d.data = t.storage->data ? t.data() : nullptr;
  d.device = t.device().is_cuda() ? DLDevice{2, t.device().index} : DLDevice{1, 0};
  d.ndim = (int32_t)t.dim();
  d.dtype = to_dl(t.dtype);
  d.shape = ctx->shape.data();
  d.strides = ctx->strides.data();
  d.byte_offset = 0;
  if constexpr (std::is_same_v<Managed, DLManagedTensorVersioned>) {
    m->version = {1, 0};
    m->flags = 0;
  }
  // The capsule destructor frees the tensor only if no consumer took it (name unchanged).
  PyObject* cap = PyCapsule_New(m, name, [](PyObject* c) {
    const char* nm = PyCapsule_GetName(c);
    if (nm && (std::strcmp(nm, "dltensor") == 0 || std::strcmp(nm, "dltensor_versioned") == 0)) {
      auto* mt = (Managed*)PyCapsule_GetPointer(c, nm);
      if (mt && mt->deleter) mt->deleter(mt);
    }
  });
  if (!cap) throw py::error_already_set();
  return py::reinterpret_steal<py::capsule>(cap);
}

// Wraps a producer's DLTensor; `release` hands the memory back to the producer.
Tensor wrap_dltensor(const DLTensor& d, std::function<void()> release) {
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
  if (n == 0) {
    release();
  } else {
    st->deleter = [release](void*) {
      py::gil_scoped_acquire gil;   // producers such as NumPy drop Python references
      release();
    };
  }
  Tensor t;
  t.storage = st;
  t.sizes = sizes;
  t.strides = strides;
  t.offset = -lo;
  t.dtype = dt;
  return t;
}

}  // namespace

py::capsule to_dlpack(const Tensor& t, bool versioned) {
  return versioned ? export_capsule<DLManagedTensorVersioned>(t, "dltensor_versioned")
                   : export_capsule<DLManagedTensor>(t, "dltensor");
}

Tensor from_dlpack(py::capsule capsule) {
  PyObject* cap = capsule.ptr();
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    auto* mt = (DLManagedTensorVersioned*)PyCapsule_GetPointer(cap, "dltensor_versioned");
    if (mt->version.major > 1)
      fail<DTypeError>("from_dlpack", "DLPack version ", mt->version.major, " is newer than supported (1)");
    Tensor t = wrap_dltensor(mt->dl_tensor, [mt]() { if (mt->deleter) mt->deleter(mt); });
    PyCapsule_SetName(cap, "used_dltensor_versioned");
    if (mt->flags & 1) {   // read-only memory: never write through it, take a private copy
      Tensor copy = empty(t.sizes, t.dtype, t.device());
      copy_into(copy, t, "from_dlpack");
      return copy;
    }
    return t;
  }
  if (!PyCapsule_IsValid(cap, "dltensor"))
    fail<DTypeError>("from_dlpack", "expected an unconsumed 'dltensor' or 'dltensor_versioned' capsule");
  auto* mt = (DLManagedTensor*)PyCapsule_GetPointer(cap, "dltensor");
  Tensor t = wrap_dltensor(mt->dl_tensor, [mt]() { if (mt->deleter) mt->deleter(mt); });
  PyCapsule_SetName(cap, "used_dltensor");
  return t;
}

}  // namespace dlcore
