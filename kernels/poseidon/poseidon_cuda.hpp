// Bulk Poseidon on the GPU: one thread per hash, the same `permute` the CPU runs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/poseidon/poseidon.hpp"

namespace arbor::poseidon {

struct PoseidonParams;

// Widths up to this have kernels that read their constants from __constant__ memory (uniform
// reads, broadcast by the constant cache, fixed-offset operands): arity 1, and the SMT's t = 3
// nodes and t = 4 leaves. Their tables take 36 KiB of the 64 KiB constant bank.
inline constexpr int kMaxConstantMemoryWidth = 4;

// Copies a width's flat constants (params.optimized, PoseidonLayout order) into constant memory
// on the current device and waits for the copy. Nothing to do (cudaSuccess) for wider widths or
// when already done on this device. cudaErrorInvalidValue when the layout is not the one the
// kernels were compiled for. Thread-safe: concurrent first callers write the same bytes.
cudaError_t upload_poseidon_constants(const PoseidonParams& params);

// Enqueues out[i] = Poseidon(in[i*(t-1) .. i*(t-1)+t-1)) for i < count on `stream`. All pointers,
// including those inside `device_tables`, are device memory. Widths up to kMaxConstantMemoryWidth
// read their constants from constant memory instead, uploading them first (synchronously) if no
// one has on this device. Clears an error still pending from earlier work before launching, then
// returns the launch's own error, if any.
cudaError_t launch_poseidon_hash(int t, const PoseidonTables& device_tables, const Fr* in, Fr* out,
                                 std::size_t count, cudaStream_t stream);

}  // namespace arbor::poseidon
