// Bulk Verkle commitment updates without a tree: random deltas (sorted by target) straight through
// ComputeBackend::verkle_update_commitments, on the GPU (the cases named *Cuda*, which
// ../shared/device-check.sh runs) and on one CPU thread for comparison. items/s counts fixed-base
// multiplications (deltas) per second; the update also moves each touched commitment both ways and
// sums each commitment's terms. Kernel-only cases time the fixed-base kernel alone (device
// buffers, CUDA events) and map to field goes through the backend like the update.
//
// Without a GPU the CUDA cases stop with "no GPU: ..." and the CPU cases still run.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "kernels/verkle/pedersen.hpp"

#if defined(ARBOR_WITH_CUDA)
#include <cuda_runtime_api.h>

#include "kernels/verkle/verkle_cuda.hpp"
#endif

namespace {

using arbor::host::CommitmentDelta;
using arbor::host::ComputeBackend;
using arbor::verkle::Point;

arbor::verkle::Fr random_scalar(std::mt19937_64& rng) {
  const std::uint64_t x[4] = {rng(), rng(), rng(), rng()};
  return arbor::verkle::from_limbs_mod_order<arbor::verkle::BandersnatchFrParams>(x);
}

// `commitments` targets with `per_target` deltas each, in target order; random generators and
// scalars (fixed seed: every run does the same work).
std::vector<CommitmentDelta> random_deltas(std::size_t commitments, std::size_t per_target) {
  std::mt19937_64 rng(20240615);
  std::vector<CommitmentDelta> deltas;
  deltas.reserve(commitments * per_target);
  for (std::size_t c = 0; c < commitments; ++c) {
    for (std::size_t i = 0; i < per_target; ++i) {
      deltas.push_back(CommitmentDelta{static_cast<std::uint32_t>(c),
                                       static_cast<std::uint32_t>(rng() % 256),
                                       random_scalar(rng)});
    }
  }
  return deltas;
}

ComputeBackend* cuda_backend(benchmark::State& state) {
  static absl::StatusOr<std::unique_ptr<ComputeBackend>> cuda = arbor::host::make_cuda_backend();
  if (!cuda.ok()) {
    state.SkipWithError(("no GPU: " + std::string(cuda.status().message())).c_str());
    return nullptr;
  }
  return cuda->get();
}

ComputeBackend& cpu_backend() {
  static std::unique_ptr<ComputeBackend> cpu = arbor::host::make_cpu_backend(1);
  return *cpu;
}

// range(0) commitments, range(1) deltas each. The first call (outside the timing) builds the CRS
// tables on the host and, on the GPU, uploads them.
void update(benchmark::State& state, ComputeBackend& backend) {
  const auto commitments = static_cast<std::size_t>(state.range(0));
  const auto per_target = static_cast<std::size_t>(state.range(1));
  const std::vector<CommitmentDelta> deltas = random_deltas(commitments, per_target);
  std::vector<Point> points(commitments, Point::identity());
  if (absl::Status s = backend.verkle_update_commitments(points, deltas); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return;
  }
  for (auto _ : state) {
    if (absl::Status s = backend.verkle_update_commitments(points, deltas); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(points.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * deltas.size()));
  state.SetLabel(backend.description());
}

void BM_VerkleUpdateCuda(benchmark::State& state) {
  if (ComputeBackend* cuda = cuda_backend(state)) update(state, *cuda);
}
// 2^14 commitments x 16 deltas (one chunk), 2^16 x 16 = 2^20 deltas (four chunks), 2^20 single
// deltas (segments of one), 2^8 x 2^12 (few commitments with many terms each, like inner nodes).
BENCHMARK(BM_VerkleUpdateCuda)
    ->Args({1 << 14, 16})
    ->Args({1 << 16, 16})
    ->Args({1 << 20, 1})
    ->Args({1 << 8, 1 << 12})
    ->ArgNames({"commitments", "per"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_VerkleUpdateCpu1(benchmark::State& state) { update(state, cpu_backend()); }
BENCHMARK(BM_VerkleUpdateCpu1)
    ->Args({1 << 10, 16})
    ->Args({1 << 14, 16})
    ->ArgNames({"commitments", "per"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// range(0) points: sums of a few fixed-base products, made once (on the GPU when there is one).
void map_to_field(benchmark::State& state, ComputeBackend& backend, ComputeBackend& maker) {
  const auto count = static_cast<std::size_t>(state.range(0));
  std::vector<Point> points(count, Point::identity());
  if (absl::Status s = maker.verkle_update_commitments(points, random_deltas(count, 2)); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return;
  }
  std::vector<arbor::verkle::Fr> out(count);
  for (auto _ : state) {
    if (absl::Status s = backend.verkle_map_to_field(points, out); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
  state.SetLabel(backend.description());
}

void BM_VerkleMapToFieldCuda(benchmark::State& state) {
  if (ComputeBackend* cuda = cuda_backend(state)) map_to_field(state, *cuda, *cuda);
}
BENCHMARK(BM_VerkleMapToFieldCuda)
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->ArgName("points")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_VerkleMapToFieldCpu1(benchmark::State& state) {
  map_to_field(state, cpu_backend(), cpu_backend());
}
BENCHMARK(BM_VerkleMapToFieldCpu1)
    ->Arg(1 << 14)
    ->ArgName("points")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

#if defined(ARBOR_WITH_CUDA)
// The fixed-base kernel alone: range(0) scalar * generator products into device memory, timed
// with CUDA events (no transfers, no segment sums).
void BM_VerkleFixedBaseMulCudaKernel(benchmark::State& state) {
  if (cuda_backend(state) == nullptr) return;
  const auto count = static_cast<std::size_t>(state.range(0));
  const arbor::verkle::PedersenTables& tables = arbor::verkle::default_pedersen_tables();
  const std::vector<CommitmentDelta> deltas = random_deltas(count, 1);
  std::vector<std::uint32_t> generators(count);
  std::vector<arbor::verkle::Fr> scalars(count);
  for (std::size_t i = 0; i < count; ++i) {
    generators[i] = deltas[i].generator;
    scalars[i] = deltas[i].scalar;
  }
  // Device memory for the run, freed on every path out.
  struct Device {
    void* table = nullptr;
    void* generators = nullptr;
    void* scalars = nullptr;
    void* terms = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    ~Device() {
      for (void* p : {table, generators, scalars, terms}) cudaFree(p);
      if (start != nullptr) cudaEventDestroy(start);
      if (stop != nullptr) cudaEventDestroy(stop);
    }
  } device;
  const std::span<const arbor::verkle::PrecomputedPoint> entries = tables.entries();
  if (cudaMalloc(&device.table, entries.size_bytes()) != cudaSuccess ||
      cudaMalloc(&device.generators, count * sizeof(std::uint32_t)) != cudaSuccess ||
      cudaMalloc(&device.scalars, count * sizeof(arbor::verkle::Fr)) != cudaSuccess ||
      cudaMalloc(&device.terms, count * sizeof(Point)) != cudaSuccess ||
      cudaMemcpy(device.table, entries.data(), entries.size_bytes(), cudaMemcpyHostToDevice) !=
          cudaSuccess ||
      cudaMemcpy(device.generators, generators.data(), count * sizeof(std::uint32_t),
                 cudaMemcpyHostToDevice) != cudaSuccess ||
      cudaMemcpy(device.scalars, scalars.data(), count * sizeof(arbor::verkle::Fr),
                 cudaMemcpyHostToDevice) != cudaSuccess ||
      cudaEventCreate(&device.start) != cudaSuccess ||
      cudaEventCreate(&device.stop) != cudaSuccess) {
    state.SkipWithError("CUDA setup failed");
    return;
  }
  const arbor::verkle::DeviceFixedBaseTables device_tables{
      static_cast<const arbor::verkle::PrecomputedPoint*>(device.table), tables.window_bits(),
      tables.windows(), static_cast<std::uint32_t>(tables.entries_per_window()),
      static_cast<std::uint32_t>(tables.generator_count())};
  const auto launch = [&] {
    return arbor::verkle::launch_fixed_base_mul(
        device_tables, static_cast<const std::uint32_t*>(device.generators),
        static_cast<const arbor::verkle::Fr*>(device.scalars), static_cast<Point*>(device.terms),
        count, nullptr);
  };
  if (launch() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) {  // warm-up
    state.SkipWithError("fixed-base kernel failed");
    return;
  }
  for (auto _ : state) {
    cudaEventRecord(device.start);
    const cudaError_t launched = launch();
    cudaEventRecord(device.stop);
    if (launched != cudaSuccess || cudaEventSynchronize(device.stop) != cudaSuccess) {
      state.SkipWithError("fixed-base kernel failed");
      return;
    }
    float ms = 0;
    cudaEventElapsedTime(&ms, device.start, device.stop);
    state.SetIterationTime(ms / 1e3);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
BENCHMARK(BM_VerkleFixedBaseMulCudaKernel)
    ->Arg(1 << 18)
    ->Arg(1 << 20)
    ->ArgName("terms")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
#endif

}  // namespace

BENCHMARK_MAIN();
