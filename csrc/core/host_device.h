// host_device.h — DLCORE_HD marks small functions compiled for the host and, under nvcc, for
// CUDA devices as well (the maths shared by cpu/ and cuda/: Philox, optimizer updates).
#pragma once

#if defined(__CUDACC__)
#define DLCORE_HD __host__ __device__ __forceinline__
#else
#define DLCORE_HD inline
#endif
