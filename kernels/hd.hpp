// Marks functions that both g++ (CPU path) and nvcc (GPU path) compile.
#pragma once

#if defined(__CUDACC__)
#define ARBOR_HD __host__ __device__ __forceinline__
#else
#define ARBOR_HD inline
#endif
