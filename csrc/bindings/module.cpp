// module.cpp — the dlcore._C extension module: exception translation, build info, threads,
// CUDA device queries, then one register_* call per kernel family.
#include <pybind11/pybind11.h>

#include "common.h"
#include "../core/cpu_allocator.h"

#ifndef DLCORE_VERSION
#define DLCORE_VERSION "0.0.0"
#endif
#ifndef DLCORE_CUDA_ARCHS
#define DLCORE_CUDA_ARCHS ""
#endif

namespace dlcore {
namespace {

void register_runtime(py::module_& m) {
  m.attr("__version__") = DLCORE_VERSION;
  m.def("build_info", []() {
    py::dict d;
    d["version"] = DLCORE_VERSION;
    d["cuda_compiled"] = cudart::compiled_with_cuda();
    d["cuda_architectures"] = std::string(DLCORE_CUDA_ARCHS);
    d["cpu_path"] = std::string(cpu::simd_path());
    d["gemm_path"] = std::string(cpu::gemm_simd_path());
    d["omp_threads"] = cpu::num_threads();
    d["cuda_device_count"] = cudart::device_count();
    return d;
  });
  m.def("get_num_threads", &cpu::num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) fail<ShapeError>("set_num_threads", "expected a positive thread count, got ", n);
    cpu::set_num_threads(n);
  });
  m.def("measure_peak_gflops", [](int threads) {
    py::gil_scoped_release nogil;
    return cpu::measure_peak_gflops(threads);
  }, py::arg("threads"));
  m.def("measure_triad_gbps", [](int threads) {
    py::gil_scoped_release nogil;
    return cpu::measure_triad_gbps(threads);
  }, py::arg("threads"));
  m.def("measure_update_stream_gbps", [](int threads, bool amsgrad) {
    cpu::UpdateStreamGbps r;
    {
      py::gil_scoped_release nogil;
      r = cpu::measure_update_stream_gbps(threads, amsgrad);
    }
    py::dict d;
    d["static"] = r.static_split;
    d["chunks"] = r.chunks;
    d["chunks_prefetch"] = r.chunks_prefetch;
    return d;
  }, py::arg("threads"), py::arg("amsgrad") = false);

  m.def("cuda_device_count", &cudart::device_count);
  m.def("cuda_synchronize", [](int dev) {
    py::gil_scoped_release nogil;
    cudart::synchronize(dev);
  });
  m.def("cuda_device_name", &cudart::device_name);
  // Which kernel float32 matmuls with allow_tf32 take on a device: "wgmma", "mma.sync" or
  // "unverified" (csrc/cuda/kernels.h); "none" in a build without CUDA.
  m.def("cuda_gemm_tf32_path", [](int device) -> std::string {
#ifdef DLCORE_WITH_CUDA
    return cuda::gemm_tf32_path(device);
#else
    (void)device;
    return "none";
#endif
  }, py::arg("device") = 0);
  m.def("cuda_compute_capability", [](int device) -> py::tuple {
#ifdef DLCORE_WITH_CUDA
    int major = 0, minor = 0;
    cuda::compute_capability(device, &major, &minor);
    return py::make_tuple(major, minor);
#else
    (void)device;
    throw DeviceError("dlcore was built without CUDA support");
#endif
  }, py::arg("device") = 0);
  m.def("cuda_current_device", &cudart::current_device);
  m.def("cuda_set_device", &cudart::set_device);
  // The raw cudaStream_t of a device's current stream (0: the legacy default stream), for
  // libraries loaded at run time that enqueue work beside dlcore's kernels (NCCL collectives).
  m.def("cuda_current_stream", [](int device) {
    return reinterpret_cast<std::uintptr_t>(cudart::current_stream(device));
  }, py::arg("device") = 0);
  m.def("cuda_empty_cache", &cudart::empty_cache);
  m.def("cuda_memory_allocated", &cudart::memory_allocated);
  m.def("cuda_memory_reserved", &cudart::memory_reserved);
  m.def("cpu_empty_cache", &cpualloc::empty_cache);
  m.def("cpu_memory_cached", &cpualloc::cached_bytes);
  m.def("cpu_memory_allocated", &cpualloc::live_bytes);
  m.def("cpu_live_blocks", &cpualloc::live_blocks);
  m.def("cpu_cache_limit", &cpualloc::cache_limit);
  m.def("cpu_set_cache_limit", &cpualloc::set_cache_limit, py::arg("bytes"));
}

}  // namespace
}  // namespace dlcore

PYBIND11_MODULE(_C, m) {
  using namespace dlcore;
  m.doc() = "dlcore compiled kernels (CPU and CUDA)";
  // One *module-local* translator that maps every C++ exception itself. pybind11's global
  // translators are shared by every extension built with the same pybind11 ABI (compiler, C++
  // library, internals version), so a global one would also see other modules' exceptions, and
  // theirs (torch's, say) would see ours first and rethrow them under their own C++ runtime.
  // A local translator runs before the global ones; since it handles everything, they never
  // see an exception thrown here.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (py::error_already_set& e) {
      e.restore();
    } catch (const py::builtin_exception& e) {
      e.set_error();
    } catch (const ShapeError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const DTypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const DeviceError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const std::bad_alloc& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const std::out_of_range& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::length_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::domain_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::range_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::overflow_error& e) {
      PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "dlcore: unknown C++ exception");
    }
  });
  register_runtime(m);
  register_tensor(m);
  register_elementwise(m);
  register_reduce(m);
  register_random(m);
  register_gemm(m);
  register_optim(m);
  register_nn(m);
  register_index(m);
  // conv family
  register_conv(m);

  // pool family
  register_pool(m);

  // batchnorm family
  register_batchnorm(m);

  // rnn family
  register_rnn(m);

  // tensor API family: gather/scatter, sort/topk/scans, layer norm
  register_scatter(m);
  register_sort(m);
  register_layernorm(m);
}
