// Bulk Poseidon on the GPU: one thread per hash, the same `permute` the CPU runs.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/poseidon/poseidon.hpp"

namespace arbor::poseidon {

// Enqueues out[i] = Poseidon(in[i*(t-1) .. i*(t-1)+t-1)) for i < count on `stream`. All pointers,
// including those inside `device_tables`, are device memory. Returns the launch error, if any.
cudaError_t launch_poseidon_hash(int t, const PoseidonTables& device_tables, const Fr* in, Fr* out,
                                 std::size_t count, cudaStream_t stream);

}  // namespace arbor::poseidon
