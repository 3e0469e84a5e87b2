#include <algorithm>
#include <cstdint>

#include "kernels/verkle/fixed_base.hpp"
#include "kernels/verkle/verkle_cuda.hpp"

namespace arbor::verkle {

// Every entry of an aligned table is aligned too (load_entry in fixed_base.hpp relies on it).
static_assert(sizeof(PrecomputedPoint) == 96 && sizeof(PrecomputedPoint) % kTableAlignment == 0,
              "table entries keep the table's 32-byte alignment");

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

// The lane `delta` above's point (a warp shuffle per 64-bit limb; every lane must call it).
__device__ Point shuffle_down(const Point& p, unsigned delta) {
  const auto field = [delta](const Fp& a) {
    Fp out;
#pragma unroll
    for (int k = 0; k < 4; ++k) out.limb[k] = __shfl_down_sync(0xffffffffu, a.limb[k], delta);
    return out;
  };
  return Point{field(p.X), field(p.Y), field(p.T), field(p.Z)};
}

// A warp per segment: lane l sums terms l, l + 32, ... of the segment, lane 0 starting from the
// commitment, then a shuffle tree adds the lanes' sums into lane 0. The group is commutative, so
// the result is the same element as adding in delta order (its coordinates may differ; the backend
// contract compares points as elements). Steps whose partners hold nothing are skipped, so a
// segment of n terms costs about ceil(n / 32) + log2(min(n, 32)) additions in sequence.
__global__ void __launch_bounds__(kThreadsPerBlock)
    segment_sums_kernel(const Point* __restrict__ terms, const std::uint32_t* __restrict__ starts,
                        Point* __restrict__ commitments, std::size_t segments) {
  constexpr unsigned kWarp = 32;
  const unsigned lane = threadIdx.x % kWarp;
  const std::size_t warps = grid_stride() / kWarp;
  // s is the same on every lane of the warp, so every branch below is warp-uniform except the
  // per-lane term loop and the per-lane `active` tests around the additions.
  for (std::size_t s = first_index() / kWarp; s < segments; s += warps) {
    const std::uint32_t begin = starts[s], end = starts[s + 1];
    if (begin >= end) continue;
    const std::uint32_t n = end - begin;
    const unsigned active = n < kWarp ? n : kWarp;  // lanes holding a partial sum
    Point acc = Point::identity();
    if (lane < active) {
      std::uint32_t i = begin + lane;
      acc = lane == 0 ? add(commitments[s], terms[i]) : terms[i];
      for (i += kWarp; i < end; i += kWarp) acc = add(acc, terms[i]);
    }
    // After the step of offset o, lane l < o holds the sum of the lanes below `active` congruent
    // to l mod o; lanes from `active` on hold nothing and are never added.
    for (unsigned offset = kWarp / 2; offset > 0; offset /= 2) {
      if (offset >= active) continue;  // no lane below `active` has a partner: uniform
      const Point other = shuffle_down(acc, offset);
      if (lane < offset && lane + offset < active) acc = add(acc, other);
    }
    if (lane == 0) commitments[s] = acc;
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

// cudaGetLastError after a launch reports the launch's error only if nothing was pending: an
// earlier failure that its caller already handled (an allocation, say) would otherwise be taken for
// this launch's. Sticky errors (a faulted context) are not cleared by this and surface anyway.
void clear_pending_error() { (void)cudaGetLastError(); }

}  // namespace

cudaError_t launch_fixed_base_mul(const DeviceFixedBaseTables& tables,
                                  const std::uint32_t* generators, const Fr* scalars, Point* terms,
                                  std::size_t count, cudaStream_t stream) {
  if (tables.entries == nullptr || tables.windows <= 0 || tables.entries_per_window == 0 ||
      reinterpret_cast<std::uintptr_t>(tables.entries) % kTableAlignment != 0) {
    return cudaErrorInvalidValue;
  }
  if (count == 0) return cudaSuccess;
  clear_pending_error();
  fixed_base_mul_kernel<<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(tables, generators,
                                                                            scalars, terms, count);
  return cudaGetLastError();
}

cudaError_t launch_segment_sums(const Point* terms, const std::uint32_t* starts, Point* commitments,
                                std::size_t segments, cudaStream_t stream) {
  if (segments == 0) return cudaSuccess;
  static_assert(kThreadsPerBlock % 32 == 0, "whole warps per block");
  constexpr std::size_t kMaxSegmentsPerLaunch = kMaxBlocks * (kThreadsPerBlock / 32);
  clear_pending_error();
  segment_sums_kernel<<<blocks_for(32 * std::min(segments, kMaxSegmentsPerLaunch)),
                        kThreadsPerBlock, 0, stream>>>(terms, starts, commitments, segments);
  return cudaGetLastError();
}

cudaError_t launch_map_to_field(const Point* points, Fr* out, Fp* scratch, std::size_t count,
                                cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const std::size_t wanted = (count + kMapThreadsTarget - 1) / kMapThreadsTarget;
  const std::size_t per_thread = wanted > kMinPointsPerThread ? wanted : kMinPointsPerThread;
  const std::size_t runs = (count + per_thread - 1) / per_thread;
  clear_pending_error();
  map_to_field_kernel<<<blocks_for(runs), kThreadsPerBlock, 0, stream>>>(points, out, scratch,
                                                                         count, per_thread);
  return cudaGetLastError();
}

}  // namespace arbor::verkle
