// tensor.cpp — storage allocation, views, broadcasting and loop collapsing.
#include "tensor.h"

#include <stdexcept>
#include <string>

#include "cpu_allocator.h"
#include "cuda_runtime.h"
#include "errors.h"

namespace dlcore {

std::string Device::str() const {
  return type == DeviceType::CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

StoragePtr allocate_storage(size_t nbytes, Device device) {
  auto s = std::make_shared<Storage>();
  s->nbytes = nbytes;
  s->device = device;
  if (nbytes == 0) return s;   // data stays null; nothing is ever read through it
  if (device.type == DeviceType::CPU) {
    // Big blocks come from (and return to) the host block cache: see cpu_allocator.h.
    s->data = cpualloc::alloc(nbytes);
    if (!s->data) fail<OutOfMemory>("alloc", "out of memory allocating ", nbytes, " bytes on the CPU");
    s->deleter = [nbytes](void* p) { cpualloc::free(p, nbytes); };
  } else {
    int dev = device.index;
    s->data = cudart::raw_alloc(dev, nbytes);
    s->deleter = [dev](void* p) { cudart::raw_free(dev, p); };
  }
  return s;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;   // nothing to lay out
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (sizes[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> st(sizes.size());
  int64_t acc = 1;
  for (int64_t d = (int64_t)sizes.size() - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= std::max<int64_t>(sizes[d], 1);
  }
  return st;
}

Tensor empty(const std::vector<int64_t>& sizes, DType dtype, Device device) {
  int64_t n = 1;
  bool has_zero = false;
  for (int64_t s : sizes) {
    if (s < 0) fail<ShapeError>("empty", "negative dimension in shape ", shape_str(sizes));
    has_zero |= s == 0;
  }
  // Element count and byte size must fit in int64: a shape whose product wraps around would
  // otherwise allocate a small block that kernels then index far beyond.
  bool overflow = false;
  for (int64_t s : sizes) overflow |= __builtin_mul_overflow(n, s, &n);
  int64_t nbytes = 0;
  overflow |= __builtin_mul_overflow(n, (int64_t)itemsize(dtype), &nbytes);
  if (overflow && !has_zero)
    fail<OutOfMemory>("empty", "shape ", shape_str(sizes), " of ", dtype_name(dtype),
                      " needs more than 2^63 bytes");
  Tensor t;
  t.storage = allocate_storage(has_zero ? 0 : (size_t)nbytes, device);
  t.sizes = sizes;
  t.strides = contiguous_strides(sizes);
  t.dtype = dtype;
  return t;
}

Tensor as_strided(const Tensor& t, const std::vector<int64_t>& sizes,
                  const std::vector<int64_t>& strides, int64_t offset) {
  if (sizes.size() != strides.size())
    fail<ShapeError>("as_strided", "sizes ", shape_str(sizes), " and strides ", shape_str(strides),
                     " differ in length");
  if ((int)sizes.size() > 64) fail<ShapeError>("as_strided", "too many dimensions");
  // The lowest and highest element the view can touch must lie inside the storage.
  int64_t lo = offset, hi = offset, n = 1;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0) fail<ShapeError>("as_strided", "negative size in ", shape_str(sizes));
    n *= sizes[d];
    if (sizes[d] == 0) continue;
    int64_t span = (sizes[d] - 1) * strides[d];
    (span < 0 ? lo : hi) += span;
  }
  int64_t capacity = (int64_t)(t.storage->nbytes / itemsize(t.dtype));
  if (n > 0 && (lo < 0 || hi >= capacity))
    fail<IndexError>("as_strided", "view of shape ", shape_str(sizes), " strides ", shape_str(strides),
                     " offset ", offset, " falls outside storage of ", capacity, " elements");
  Tensor v = t;
  v.sizes = sizes;
  v.strides = strides;
  v.offset = offset;
  return v;
}

std::vector<int64_t> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                      const char* op) {
  size_t n = std::max(a.size(), b.size());
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>(op, "shapes ", shape_str(a), " and ", shape_str(b),
                       " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Tensor& t, const std::vector<int64_t>& shape,
                                       const char* op) {
  size_t n = shape.size(), k = t.sizes.size();
  if (k > n) fail<ShapeError>(op, "cannot broadcast ", shape_str(t.sizes), " to ", shape_str(shape));
  std::vector<int64_t> st(n, 0);
  for (size_t i = 0; i < k; ++i) {
    size_t d = n - k + i;
    if (t.sizes[i] == shape[d]) st[d] = t.strides[i];
    else if (t.sizes[i] == 1) st[d] = 0;
    else fail<ShapeError>(op, "cannot broadcast ", shape_str(t.sizes), " to ", shape_str(shape));
  }
  return st;
}

Loop make_loop(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides) {
  // One pass, no allocation (this runs for every elementwise op, where a few hundred
  // nanoseconds are the whole cost of a small op): drop size-1 dims, and merge dim d into the
  // previous kept dim when every operand steps over it exactly one run of dim d.
  Loop L;
  const int nops = (int)strides.size();
  if (nops > kMaxOperands) throw std::logic_error("make_loop: too many operands");
  int nd = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t n = shape[d];
    if (n == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int k = 0; k < nops; ++k)
        if (L.strides[k][nd - 1] != strides[k][d] * n) { mergeable = false; break; }
      if (mergeable) {
        L.sizes[nd - 1] *= n;
        for (int k = 0; k < nops; ++k) L.strides[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    if (nd == kMaxDims)
      fail<ShapeError>("loop", "tensor of shape ", shape_str(shape), " has more than ", kMaxDims,
                       " non-collapsible dims");
    L.sizes[nd] = n;
    for (int k = 0; k < nops; ++k) L.strides[k][nd] = strides[k][d];
    ++nd;
  }
  L.ndim = nd;
  return L;
}

}  // namespace dlcore
