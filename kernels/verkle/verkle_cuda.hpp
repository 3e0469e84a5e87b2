// Bulk Verkle work on the GPU: fixed-base multiplications over device-resident CRS tables, their
// sums per commitment, and batched map_to_scalar_field. The kernels run the same ARBOR_HD code as
// the CPU (fixed_base.hpp, banderwagon.hpp). Plain C++ header: host code calls these launchers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

// What the fixed-base kernel needs of the device tables' base address (it loads entries 16 bytes at
// a time); with 96-byte entries every entry is then aligned too. cudaMalloc returns 256-byte
// aligned memory.
inline constexpr std::size_t kTableAlignment = 32;

// Fixed-base tables in device memory, laid out as PedersenTables::entries(): `generators` tables
// of windows * entries_per_window entries each, one after another, from a kTableAlignment-aligned
// base.
struct DeviceFixedBaseTables {
  const PrecomputedPoint* entries = nullptr;
  int window_bits = 0;
  int windows = 0;
  std::uint32_t entries_per_window = 0;
  std::uint32_t generators = 0;
};

// Every launcher clears an error still pending from earlier, already handled work before it
// launches, then returns the launch's own error, if any. All pointers are device memory.
//
// Kernel A. Enqueues terms[i] = scalars[i] * G_{generators[i]} for i < count on `stream`, one
// thread per term. Every generators[i] must be below tables.generators (device data is not
// checked). cudaErrorInvalidValue for empty or misaligned tables.
cudaError_t launch_fixed_base_mul(const DeviceFixedBaseTables& tables,
                                  const std::uint32_t* generators, const Fr* scalars, Point* terms,
                                  std::size_t count, cudaStream_t stream);

// Kernel B. Enqueues commitments[s] += terms[starts[s]] + ... + terms[starts[s+1] - 1] for
// s < segments, a warp per segment (a parallel reduction: the same group element as adding in
// order, not necessarily the same coordinates). `starts` holds segments + 1 non-decreasing
// indices.
cudaError_t launch_segment_sums(const Point* terms, const std::uint32_t* starts, Point* commitments,
                                std::size_t segments, cudaStream_t stream);

// Kernel C. Enqueues out[i] = map_to_scalar_field(points[i]) for i < count, each thread inverting
// a run of points with one field inversion (Montgomery's trick). `scratch` holds 2 * count base
// field elements.
cudaError_t launch_map_to_field(const Point* points, Fr* out, Fp* scratch, std::size_t count,
                                cudaStream_t stream);

}  // namespace arbor::verkle
