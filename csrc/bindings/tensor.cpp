// tensor.cpp (bindings) — the TensorImpl handle Python's dlcore.Tensor wraps: metadata,
// views, copies across dtypes and devices, and zero-copy exchange with NumPy and DLPack.
#include <cstring>

#include "common.h"
#include "dlpack.h"

namespace dlcore {

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  check_same_device(op, dst, src);
  if (dst.numel() == 0) return;
  Loop L = make_loop(dst.sizes, {dst.strides, broadcast_strides(src, dst.sizes, op)});
  py::gil_scoped_release nogil;
  DLCORE_ON_DEVICE(dst.device(), cpu::copy(dst.dtype, src.dtype, L, dst.data(), src.data()),
                   cuda::copy(dst.dtype, src.dtype, L, dst.data(), src.data(), stream));
}

Tensor cast(const Tensor& t, DType dtype, const char* op) {
  if (dtype == t.dtype) return t;
  Tensor out = empty(t.sizes, dtype, t.device());
  copy_into(out, t, op);
  return out;
}

Tensor contiguous(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = empty(t.sizes, t.dtype, t.device());
  copy_into(out, t, "contiguous");
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor src = contiguous(t);
  Tensor out = empty(t.sizes, t.dtype, device);
  size_t nbytes = (size_t)t.numel() * t.element_size();
  if (nbytes == 0) return out;
  py::gil_scoped_release nogil;
  if (device.is_cuda() && src.device().is_cuda()) {
    // Peer copy through the host keeps this simple; multi-GPU transfers are rare here.
    Tensor host = empty(t.sizes, t.dtype, Device{});
    cudart::memcpy(host.data(), src.data(), nbytes, cudart::CopyKind::DeviceToHost, src.device().index);
    cudart::memcpy(out.data(), host.data(), nbytes, cudart::CopyKind::HostToDevice, device.index);
  } else if (device.is_cuda()) {
    cudart::memcpy(out.data(), src.data(), nbytes, cudart::CopyKind::HostToDevice, device.index);
  } else {
    cudart::memcpy(out.data(), src.data(), nbytes, cudart::CopyKind::DeviceToHost, src.device().index);
  }
  return out;
}

namespace {

Device make_device(int type, int index) {
  if (type == 1) {
    int n = cudart::device_count();
    if (!cudart::compiled_with_cuda())
      fail<DeviceError>("device", "dlcore was built without CUDA support; cannot use cuda:", index);
    if (index < 0 || index >= n)
      fail<DeviceError>("device", "cuda:", index, " is not available (", n, " CUDA device(s) found)");
    return Device{DeviceType::CUDA, index};
  }
  return Device{};
}

DType dtype_from_numpy(const py::dtype& dt, const char* op) {
  char k = dt.kind();
  size_t s = (size_t)dt.itemsize();
  if (k == 'f' && s == 4) return DType::Float32;
  if (k == 'f' && s == 8) return DType::Float64;
  if (k == 'i' && s == 8) return DType::Int64;
  if (k == 'b' && s == 1) return DType::Bool;
  fail<DTypeError>(op, "unsupported NumPy dtype ", std::string(py::str(dt)),
                   " (dlcore supports float32, float64, int64 and bool)");
}

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

// Zero-copy: the Storage borrows the array's memory and keeps the array alive.
Tensor from_numpy(py::array a) {
  DType dt = dtype_from_numpy(a.dtype(), "from_numpy");
  const int64_t es = (int64_t)itemsize(dt);
  std::vector<int64_t> sizes(a.ndim()), strides(a.ndim());
  int64_t lo = 0, hi = 0, n = 1;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    sizes[d] = a.shape(d);
    if (a.strides(d) % es != 0)
      fail<ShapeError>("from_numpy", "array stride ", a.strides(d), " bytes is not a multiple of the item size ", es);
    strides[d] = a.strides(d) / es;
    n *= sizes[d];
    if (sizes[d] > 0) ((strides[d] < 0) ? lo : hi) += (sizes[d] - 1) * strides[d];
  }
  auto st = std::make_shared<Storage>();
  st->device = Device{};
  st->nbytes = n == 0 ? 0 : (size_t)(hi - lo + 1) * es;
  st->data = n == 0 ? nullptr : (char*)a.mutable_data() + lo * es;
  if (st->data) {
    auto* holder = new py::object(a);   // released (under the GIL) when the storage dies
    st->deleter = [holder](void*) {
      py::gil_scoped_acquire gil;
      delete holder;
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

// Zero-copy view of a CPU tensor; the array's base capsule holds a reference to the storage.
py::array to_numpy(const Tensor& t) {
  if (t.device().is_cuda())
    fail<DTypeError>("numpy", "can't convert a ", t.device().str(),
                     " tensor to NumPy; copy it to the host first with .cpu()");
  std::vector<py::ssize_t> shape(t.sizes.begin(), t.sizes.end()), strides(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) strides[d] = t.strides[d] * (int64_t)t.element_size();
  auto* keep = new StoragePtr(t.storage);
  py::capsule base(keep, [](void* p) { delete (StoragePtr*)p; });
  static char dummy alignas(64)[64];
  void* data = t.storage->data ? t.data() : (void*)dummy;
  return py::array(numpy_dtype(t.dtype), shape, strides, data, base);
}

py::object item(const Tensor& t) {
  if (t.numel() != 1)
    fail<ShapeError>("item", "only one-element tensors can be converted to a Python scalar, got shape ",
                     shape_str(t.sizes));
  Tensor h = to_device(t, Device{});
  switch (t.dtype) {
    case DType::Float32: return py::float_(*(float*)h.data());
    case DType::Float64: return py::float_(*(double*)h.data());
    case DType::Int64: return py::int_(*(int64_t*)h.data());
    case DType::Bool: return py::bool_(*(bool*)h.data());
  }
  return py::none();
}

}  // namespace

void register_tensor(py::module_& m) {
  py::class_<Tensor>(m, "TensorImpl")
      .def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.sizes)); })
      .def_property_readonly("strides", [](const Tensor& t) { return py::tuple(py::cast(t.strides)); })
      .def_property_readonly("offset", [](const Tensor& t) { return t.offset; })
      .def_property_readonly("dtype", [](const Tensor& t) { return (int)t.dtype; })
      .def_property_readonly("device_type", [](const Tensor& t) { return (int)t.device().type; })
      .def_property_readonly("device_index", [](const Tensor& t) { return t.device().index; })
      .def_property_readonly("data_ptr", [](const Tensor& t) { return (uintptr_t)t.data(); })
      .def_property_readonly("storage_ptr", [](const Tensor& t) { return (uintptr_t)t.storage->data; })
      .def_property_readonly("storage_nbytes", [](const Tensor& t) { return t.storage->nbytes; })
      .def_property_readonly("ndim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("as_strided", &as_strided, py::arg("sizes"), py::arg("strides"), py::arg("offset"))
      .def("item", &item);

  m.def("empty", [](const std::vector<int64_t>& shape, int dtype, int dev_type, int dev_index) {
    return empty(shape, (DType)dtype, make_device(dev_type, dev_index));
  });
  m.def("from_numpy", &from_numpy);
  m.def("to_numpy", &to_numpy);
  m.def("contiguous", &contiguous);
  m.def("to_device", [](const Tensor& t, int type, int index) {
    return to_device(t, make_device(type, index));
  });
  // dst[...] = src with broadcasting and casting; src may live on another device.
  m.def("copy_", [](const Tensor& dst, const Tensor& src) {
    if (dst.device() != src.device()) {
      Tensor moved = to_device(src, dst.device());
      copy_into(dst, moved, "copy_");
    } else {
      copy_into(dst, src, "copy_");
    }
  });
  m.def("cast", [](const Tensor& t, int dtype) { return cast(t, (DType)dtype, "to"); });
  m.def("fill_", [](const Tensor& t, double value) {
    if (t.is_contiguous()) {
      py::gil_scoped_release nogil;
      DLCORE_ON_DEVICE(t.device(), cpu::fill(t.dtype, t.data(), t.numel(), value),
                       cuda::fill(t.dtype, t.data(), t.numel(), value, stream));
    } else {
      Tensor one = empty({}, t.dtype, t.device());
      {
        py::gil_scoped_release nogil;
        DLCORE_ON_DEVICE(t.device(), cpu::fill(t.dtype, one.data(), 1, value),
                         cuda::fill(t.dtype, one.data(), 1, value, stream));
      }
      copy_into(t, one, "fill_");
    }
  });
  m.def("to_dlpack", &to_dlpack, py::arg("t"), py::arg("versioned") = false);
  m.def("from_dlpack", &from_dlpack);
}

}  // namespace dlcore
