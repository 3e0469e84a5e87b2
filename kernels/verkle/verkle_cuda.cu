#include "kernels/verkle/fixed_base.hpp"
#include "kernels/verkle/verkle_cuda.hpp"

namespace arbor::verkle {
namespace {

// A Point is 16 limbs and an addition keeps a few more live; 128 threads per block leaves each
// thread up to 255 registers without spills.
constexpr int kThreadsPerBlock = 128;
// Grid-stride loops: cap the grid, the loops cover the rest.
constexpr std::size_t kMaxBlocks = std::size_t{1} << 20;

// An inversion costs ~380 field products and a point ~6 more: runs of at least 8 points keep the
// inversion's share bounded, and runs grow only beyond ~64k threads, about what an H100 holds
// resident (132 SMs at several hundred threads of this register size). A guess until benchmarked.
constexpr std::size_t kMinPointsPerThread = 8;
constexpr std::size_t kMapThreadsTarget = std::size_t{1} << 16;

unsigned blocks_for(std::size_t threads) {
  const std::size_t blocks = (threads + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

__device__ std::size_t first_index() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ std::size_t grid_stride() { return static_cast<std::size_t>(gridDim.x) * blockDim.x; }

__global__ void __launch_bounds__(kThreadsPerBlock)
    fixed_base_mul_kernel(DeviceFixedBaseTables tables,
                          const std::uint32_t* __restrict__ generators,
                          const Fr* __restrict__ scalars, Point* __restrict__ terms,
                          std::size_t count) {
  const std::size_t per_generator =
      static_cast<std::size_t>(tables.windows) * tables.entries_per_window;
  for (std::size_t i = first_index(); i < count; i += grid_stride()) {
    Point acc = Point::identity();
    fixed_base_accumulate(acc, tables.entries + generators[i] * per_generator, tables.window_bits,
                          tables.windows, tables.entries_per_window, scalars[i]);
    terms[i] = acc;
  }
}

__global__ void __launch_bounds__(kThreadsPerBlock)
    segment_sums_kernel(const Point* __restrict__ terms, const std::uint32_t* __restrict__ starts,
                        Point* __restrict__ commitments, std::size_t segments) {
  for (std::size_t s = first_index(); s < segments; s += grid_stride()) {
    Point c = commitments[s];
    const std::uint32_t end = starts[s + 1];
    for (std::uint32_t i = starts[s]; i < end; ++i) c = add(c, terms[i]);
    commitments[s] = c;
  }
}

__global__ void __launch_bounds__(kThreadsPerBlock)
    map_to_field_kernel(const Point* __restrict__ points, Fr* __restrict__ out,
                        Fp* __restrict__ scratch, std::size_t count, std::size_t per_thread) {
  const std::size_t runs = (count + per_thread - 1) / per_thread;
  for (std::size_t run = first_index(); run < runs; run += grid_stride()) {
    const std::size_t begin = run * per_thread;
    const std::size_t n = count - begin < per_thread ? count - begin : per_thread;
    batch_map_to_scalar_field(points + begin, n, out + begin, scratch + 2 * begin);
  }
}

}  // namespace

cudaError_t launch_fixed_base_mul(const DeviceFixedBaseTables& tables,
                                  const std::uint32_t* generators, const Fr* scalars, Point* terms,
                                  std::size_t count, cudaStream_t stream) {
  if (tables.entries == nullptr || tables.windows <= 0 || tables.entries_per_window == 0) {
    return cudaErrorInvalidValue;
  }
  if (count == 0) return cudaSuccess;
  fixed_base_mul_kernel<<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(tables, generators,
                                                                            scalars, terms, count);
  return cudaGetLastError();
}

cudaError_t launch_segment_sums(const Point* terms, const std::uint32_t* starts, Point* commitments,
                                std::size_t segments, cudaStream_t stream) {
  if (segments == 0) return cudaSuccess;
  segment_sums_kernel<<<blocks_for(segments), kThreadsPerBlock, 0, stream>>>(terms, starts,
                                                                             commitments, segments);
  return cudaGetLastError();
}

cudaError_t launch_map_to_field(const Point* points, Fr* out, Fp* scratch, std::size_t count,
                                cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const std::size_t wanted = (count + kMapThreadsTarget - 1) / kMapThreadsTarget;
  const std::size_t per_thread = wanted > kMinPointsPerThread ? wanted : kMinPointsPerThread;
  const std::size_t runs = (count + per_thread - 1) / per_thread;
  map_to_field_kernel<<<blocks_for(runs), kThreadsPerBlock, 0, stream>>>(points, out, scratch,
                                                                         count, per_thread);
  return cudaGetLastError();
}

}  // namespace arbor::verkle
