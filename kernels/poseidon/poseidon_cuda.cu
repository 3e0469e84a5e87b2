#include "kernels/poseidon/poseidon_cuda.hpp"

namespace arbor::poseidon {
namespace {

// Wide states keep 4*T 64-bit limbs live per thread; 128 threads keeps occupancy without spills.
constexpr int kThreadsPerBlock = 128;
// Widths up to this get a kernel of their own (the SMT hashes t = 3 nodes and t = 4 leaves);
// wider ones share the run-time-width kernel.
constexpr int kWidestSpecialised = 6;

template <int T>
__global__ void __launch_bounds__(kThreadsPerBlock)
    poseidon_hash_kernel(PoseidonTables tables, const Fr* __restrict__ in, Fr* __restrict__ out,
                         std::size_t count) {
  const int t = runtime_width<T>(tables);
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    Fr state[kStateCapacity<T>];
    state[0] = Fr::zero();
    ARBOR_UNROLL_STATE
    for (int j = 1; j < t; ++j) state[j] = in[i * (t - 1) + (j - 1)];
    permute<T>(state, tables);
    out[i] = state[0];
  }
}

}  // namespace

cudaError_t launch_poseidon_hash(int t, const PoseidonTables& device_tables, const Fr* in, Fr* out,
                                 std::size_t count, cudaStream_t stream) {
  if (t < kMinWidth || t > kMaxWidth || t != device_tables.width) return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  const std::size_t blocks_needed = (count + kThreadsPerBlock - 1) / kThreadsPerBlock;
  // Grid-stride loop: cap the grid, the loop covers the rest.
  const auto blocks =
      static_cast<unsigned>(blocks_needed < (1u << 20) ? blocks_needed : (1u << 20));
  auto launch = [&]<int T>() {
    poseidon_hash_kernel<T><<<blocks, kThreadsPerBlock, 0, stream>>>(device_tables, in, out, count);
  };
  static_assert(kWidestSpecialised == 6, "the switch below lists the specialised widths");
  switch (t) {
    case 2:
      launch.template operator()<2>();
      break;
    case 3:
      launch.template operator()<3>();
      break;
    case 4:
      launch.template operator()<4>();
      break;
    case 5:
      launch.template operator()<5>();
      break;
    case 6:
      launch.template operator()<6>();
      break;
    default:
      launch.template operator()<0>();
      break;
  }
  return cudaGetLastError();
}

}  // namespace arbor::poseidon
