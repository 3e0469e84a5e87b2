// The CUDA backend. Batches are cut into chunks that alternate between two streams, each with its
// own pinned staging and device buffers (kept and reused across calls, shared by every job), so the
// host copies of one chunk overlap the transfers and kernels of the other. Verkle updates are cut
// where a commitment's deltas begin, so that consecutive chunks touch different commitments and
// need not wait for each other.
//
// Memory, all kept for the backend's life once allocated:
// - device: the Verkle fixed-base tables, 96 MiB (uploaded on the first Verkle update); the
//   Poseidon constants, a few KiB per width (t <= 4 also in constant memory, poseidon_cuda.hpp);
//   per lane, buffers grown to the largest chunk seen:
//   in <= 64 MiB, out <= 64 MiB (Poseidon of arity 1), scratch <= 32 MiB (2^18 Verkle terms, or
//   2^19 points' inversion scratch). At most ~416 MiB in all.
// - pinned host memory: per lane, in <= 64 MiB and out <= 64 MiB, at most 256 MiB in all.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/poseidon/poseidon_cuda.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "kernels/verkle/verkle_cuda.hpp"

namespace arbor::host {
namespace {

// Errors after which the context is corrupt and every later call fails (CUDA's "sticky" errors).
bool is_sticky(cudaError_t error) {
  switch (error) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
      return true;
    default:
      return false;
  }
}

absl::Status cuda_status(cudaError_t error, std::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  absl::Status status = absl::InternalError(
      absl::StrCat("CUDA ", std::string(what), ": ", cudaGetErrorString(error)));
  return is_sticky(error) ? mark_sticky_device_error(std::move(status)) : status;
}

cudaError_t allocate_device(void** data, std::size_t bytes) { return cudaMalloc(data, bytes); }
// Page-locked host memory: what asynchronous copies need.
cudaError_t allocate_pinned(void** data, std::size_t bytes) {
  return cudaHostAlloc(data, bytes, cudaHostAllocDefault);
}

// Memory from one CUDA allocator, grown on demand, kept across batches, freed on destruction.
template <cudaError_t (*Allocate)(void**, std::size_t), cudaError_t (*Release)(void*)>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  ~CudaBuffer() { release(); }

  absl::Status reserve(std::size_t bytes) {
    if (bytes <= capacity_) return absl::OkStatus();
    release();
    if (absl::Status s = cuda_status(Allocate(&data_, bytes), "allocation"); !s.ok()) {
      data_ = nullptr;
      // Reported here; left pending, the runtime's last error would be taken for a later call's.
      (void)cudaGetLastError();
      return s;
    }
    capacity_ = bytes;
    return absl::OkStatus();
  }
  void* data() const { return data_; }

 private:
  void release() {
    if (data_ != nullptr) Release(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
};

using DeviceBuffer = CudaBuffer<allocate_device, cudaFree>;
using PinnedBuffer = CudaBuffer<allocate_pinned, cudaFreeHost>;

class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  absl::Status create() {
    return cuda_status(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "stream");
  }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// A synchronous upload of constant data. cudaMemcpy from pageable memory may return before the
// DMA lands, and the lanes' non-blocking streams do not wait for the legacy stream: wait here.
absl::Status upload(DeviceBuffer& buffer, const void* data, std::size_t bytes,
                    std::string_view what) {
  if (absl::Status s = buffer.reserve(bytes); !s.ok()) return s;
  if (absl::Status s =
          cuda_status(cudaMemcpy(buffer.data(), data, bytes, cudaMemcpyHostToDevice), what);
      !s.ok()) {
    return s;
  }
  return cuda_status(cudaDeviceSynchronize(), what);
}

// One in-flight chunk: its buffers and where its results go.
struct Lane {
  Stream stream;
  PinnedBuffer host_in, host_out;
  DeviceBuffer device_in, device_out, device_scratch;
  // Delivers host_out to the caller's memory once the stream has finished; empty when idle.
  std::function<void()> deliver;
  // The commitment index of each segment of the Verkle update chunk in flight.
  std::vector<std::uint32_t> targets;
};

// Keep a chunk's input near 64 MiB whatever the width: big launches, bounded staging memory.
constexpr std::size_t kChunkInputBytes = std::size_t{64} << 20;
// Verkle updates: 2^18 deltas make 8 MiB of scalars, 32 MiB of terms and at most 32 MiB of
// commitments, and enough fixed-base multiplications (one thread each) to fill a GPU.
constexpr std::size_t kDeltasPerChunk = std::size_t{1} << 18;
// Map to field: 2^19 points of 128 bytes.
constexpr std::size_t kPointsPerChunk = kChunkInputBytes / sizeof(verkle::Point);

// Chunks of `chunk` items (the last one shorter).
auto fixed_chunks(std::size_t total, std::size_t chunk) {
  return [total, chunk](std::size_t begin) { return begin + std::min(chunk, total - begin); };
}

// Where the Verkle update chunk starting at `begin` ends: at most kDeltasPerChunk deltas, cut
// where a target's deltas begin, so that no two chunks update the same commitment and the lanes run
// side by side. Only a target with more deltas than fit from `begin` is cut, and its second chunk
// waits for the first. Deltas are sorted by target.
std::size_t update_chunk_end(std::span<const CommitmentDelta> deltas, std::size_t begin) {
  const std::size_t limit = begin + std::min(kDeltasPerChunk, deltas.size() - begin);
  if (limit == deltas.size()) return limit;
  // The first delta of deltas[limit]'s target at or after `begin`.
  const auto first = std::lower_bound(
      deltas.begin() + static_cast<std::ptrdiff_t>(begin),
      deltas.begin() + static_cast<std::ptrdiff_t>(limit), deltas[limit].target,
      [](const CommitmentDelta& d, std::uint32_t target) { return d.target < target; });
  const auto end = static_cast<std::size_t>(first - deltas.begin());
  return end > begin ? end : limit;
}

constexpr std::size_t align_up(std::size_t bytes) {
  constexpr std::size_t kAlignment = 256;  // what cudaMalloc guarantees for its base
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// A Verkle update chunk of `deltas` deltas in host_in and, byte for byte, device_in: scalars,
// generator indices, segment starts (segments + 1), the segments' commitments. The offsets assume
// the most segments (one per delta), so the buffers need no second pass to size.
struct UpdateLayout {
  explicit UpdateLayout(std::size_t deltas)
      : generators(align_up(deltas * sizeof(verkle::Fr))),
        starts(align_up(generators + deltas * sizeof(std::uint32_t))),
        commitments(align_up(starts + (deltas + 1) * sizeof(std::uint32_t))) {}
  std::size_t bytes(std::size_t segments) const {
    return commitments + segments * sizeof(verkle::Point);
  }
  static constexpr std::size_t scalars = 0;
  std::size_t generators, starts, commitments;
};

class CudaBackend final : public ComputeBackend {
 public:
  BackendKind kind() const override { return BackendKind::kCuda; }
  std::string description() const override { return description_; }
  std::optional<DeviceMemory> device_memory() const override {
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(0) != cudaSuccess ||
        cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      return std::nullopt;
    }
    return DeviceMemory{total_bytes - free_bytes, total_bytes};
  }

  absl::Status init() {
    int devices = 0;
    cudaError_t error = cudaGetDeviceCount(&devices);
    if (error != cudaSuccess) {
      return absl::UnavailableError(
          absl::StrCat("no CUDA device answers: ", cudaGetErrorString(error)));
    }
    if (devices == 0) return absl::UnavailableError("no CUDA device present");
    if (absl::Status s = cuda_status(cudaSetDevice(0), "set device"); !s.ok()) return s;
    cudaDeviceProp props{};
    if (absl::Status s = cuda_status(cudaGetDeviceProperties(&props, 0), "device properties");
        !s.ok()) {
      return s;
    }
    description_ = absl::StrCat("cuda (", props.name, ", sm_", props.major, props.minor, ", ",
                                props.totalGlobalMem >> 20, " MiB)");
    for (Lane& lane : lanes_) {
      if (absl::Status s = lane.stream.create(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                  std::span<Fr> outputs) override {
    if (absl::Status shape = check_hash_many_shape(arity, inputs.size(), outputs.size());
        !shape.ok()) {
      return shape;
    }
    if (outputs.empty()) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(mutex_);
    // The calling thread may not have used the device yet.
    if (absl::Status s = cuda_status(cudaSetDevice(0), "set device"); !s.ok()) return s;
    absl::StatusOr<poseidon::PoseidonTables> tables = device_tables(arity + 1);
    if (!tables.ok()) return tables.status();

    const std::size_t chunk =
        std::max<std::size_t>(1, kChunkInputBytes / (sizeof(Fr) * static_cast<std::size_t>(arity)));
    return run_chunks(
        outputs.size(), fixed_chunks(outputs.size(), chunk), "Poseidon batch",
        [&](Lane& lane, std::size_t begin, std::size_t count) {
          return enqueue(lane, arity, *tables, inputs, outputs, begin, count);
        },
        [](std::size_t) { return false; });
  }

  absl::Status verkle_update_commitments(std::span<verkle::Point> commitments,
                                         std::span<const CommitmentDelta> deltas) override {
    if (absl::Status s = check_commitment_deltas(commitments.size(), deltas); !s.ok()) return s;
    if (deltas.empty()) return absl::OkStatus();
    // Built on the host on first use (about a second): outside the lock, which Poseidon shares.
    const verkle::PedersenTables& host_tables = verkle::default_pedersen_tables();
    std::lock_guard<std::mutex> lock(mutex_);
    if (absl::Status s = cuda_status(cudaSetDevice(0), "set device"); !s.ok()) return s;
    absl::StatusOr<verkle::DeviceFixedBaseTables> tables = verkle_tables(host_tables);
    if (!tables.ok()) return tables.status();
    return run_chunks(
        deltas.size(), [&](std::size_t begin) { return update_chunk_end(deltas, begin); },
        "Verkle commitment update",
        [&](Lane& lane, std::size_t begin, std::size_t count) {
          return enqueue_update(lane, *tables, commitments, deltas.subspan(begin, count));
        },
        // Sorted targets: only a target with more deltas than a chunk is in two chunks.
        [&](std::size_t begin) { return deltas[begin].target == deltas[begin - 1].target; });
  }

  absl::Status verkle_map_to_field(std::span<const verkle::Point> points,
                                   std::span<verkle::Fr> out) override {
    if (absl::Status s = check_map_to_field_shape(points.size(), out.size()); !s.ok()) return s;
    if (points.empty()) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(mutex_);
    if (absl::Status s = cuda_status(cudaSetDevice(0), "set device"); !s.ok()) return s;
    return run_chunks(
        points.size(), fixed_chunks(points.size(), kPointsPerChunk), "Verkle map to field",
        [&](Lane& lane, std::size_t begin, std::size_t count) {
          return enqueue_map(lane, points.subspan(begin, count), out.subspan(begin, count));
        },
        [](std::size_t) { return false; });
  }

 private:
  // Enqueues chunks [begin, chunk_end(begin)) of `total` with `enqueue(lane, begin, count)`,
  // alternating lanes, then waits for all of them. When `depends_on_previous(begin)`, the chunk
  // reads what the previous chunk delivers, so that one is finished first (and the two lanes do
  // not overlap there). The caller holds mutex_.
  template <class ChunkEnd, class Enqueue, class DependsOnPrevious>
  absl::Status run_chunks(std::size_t total, ChunkEnd chunk_end, std::string_view what,
                          Enqueue enqueue, DependsOnPrevious depends_on_previous) {
    absl::Status status = absl::OkStatus();
    std::size_t lane_index = 0;
    for (std::size_t begin = 0, end = 0; begin < total && status.ok(); begin = end) {
      end = chunk_end(begin);
      const std::size_t count = end - begin;
      Lane& lane = lanes_[lane_index];
      Lane& previous = lanes_[(lane_index + lanes_.size() - 1) % lanes_.size()];
      lane_index = (lane_index + 1) % lanes_.size();
      status = finish(lane, what);
      if (status.ok() && begin > 0 && depends_on_previous(begin)) status = finish(previous, what);
      if (status.ok()) status = enqueue(lane, begin, count);
    }
    for (Lane& lane : lanes_) {
      absl::Status finished = finish(lane, what);
      if (status.ok()) status = finished;
    }
    return status;
  }

  // Uploads the width's constants once; they stay resident for the backend's life.
  absl::StatusOr<poseidon::PoseidonTables> device_tables(int t) {
    const poseidon::PoseidonParams& params = poseidon::poseidon_params(t);
    DeviceBuffer& buffer = constants_[static_cast<std::size_t>(t)];
    if (!constants_ready_[static_cast<std::size_t>(t)]) {
      if (absl::Status s = upload(buffer, params.optimized.data(),
                                  params.optimized.size() * sizeof(Fr), "constant upload");
          !s.ok()) {
        return s;
      }
      // The narrow widths' kernels read a copy in constant memory (no-op for the others).
      if (absl::Status s =
              cuda_status(poseidon::upload_poseidon_constants(params), "constant memory upload");
          !s.ok()) {
        return s;
      }
      constants_ready_[static_cast<std::size_t>(t)] = true;
    }
    return params.layout.tables(static_cast<const Fr*>(buffer.data()));
  }

  // Uploads the CRS fixed-base tables (96 MiB) on first use; they stay resident for the backend's
  // life. The caller holds mutex_.
  absl::StatusOr<verkle::DeviceFixedBaseTables> verkle_tables(
      const verkle::PedersenTables& tables) {
    if (verkle_tables_.entries == nullptr) {
      if (tables.generator_count() < 256) {
        return absl::InternalError("Verkle tables: the CRS has fewer than 256 generators");
      }
      const std::span<const verkle::PrecomputedPoint> entries = tables.entries();
      if (absl::Status s = upload(verkle_table_buffer_, entries.data(), entries.size_bytes(),
                                  "Verkle table upload");
          !s.ok()) {
        return s;
      }
      // The kernel loads entries 16 bytes at a time (cudaMalloc aligns to 256 bytes).
      if (reinterpret_cast<std::uintptr_t>(verkle_table_buffer_.data()) % verkle::kTableAlignment !=
          0) {
        return absl::InternalError("Verkle tables: device memory is not 32-byte aligned");
      }
      verkle_tables_ = verkle::DeviceFixedBaseTables{
          static_cast<const verkle::PrecomputedPoint*>(verkle_table_buffer_.data()),
          tables.window_bits(), tables.windows(),
          static_cast<std::uint32_t>(tables.entries_per_window()),
          static_cast<std::uint32_t>(tables.generator_count())};
    }
    return verkle_tables_;
  }

  absl::Status enqueue(Lane& lane, int arity, const poseidon::PoseidonTables& tables,
                       std::span<const Fr> inputs, std::span<Fr> outputs, std::size_t begin,
                       std::size_t count) {
    const std::size_t in_bytes = count * static_cast<std::size_t>(arity) * sizeof(Fr);
    const std::size_t out_bytes = count * sizeof(Fr);
    for (absl::Status s : {lane.host_in.reserve(in_bytes), lane.host_out.reserve(out_bytes),
                           lane.device_in.reserve(in_bytes), lane.device_out.reserve(out_bytes)}) {
      if (!s.ok()) return s;
    }
    std::memcpy(lane.host_in.data(), inputs.data() + begin * static_cast<std::size_t>(arity),
                in_bytes);
    cudaStream_t stream = lane.stream.get();
    if (absl::Status s = cuda_status(cudaMemcpyAsync(lane.device_in.data(), lane.host_in.data(),
                                                     in_bytes, cudaMemcpyHostToDevice, stream),
                                     "copy to device");
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            cuda_status(poseidon::launch_poseidon_hash(
                            arity + 1, tables, static_cast<const Fr*>(lane.device_in.data()),
                            static_cast<Fr*>(lane.device_out.data()), count, stream),
                        "Poseidon kernel launch");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = cuda_status(cudaMemcpyAsync(lane.host_out.data(), lane.device_out.data(),
                                                     out_bytes, cudaMemcpyDeviceToHost, stream),
                                     "copy from device");
        !s.ok()) {
      return s;
    }
    lane.deliver = [destination = outputs.data() + begin, source = lane.host_out.data(),
                    out_bytes] { std::memcpy(destination, source, out_bytes); };
    return absl::OkStatus();
  }

  // Kernel A computes every delta's term scalar * G_generator into device_scratch, kernel B adds
  // each segment's terms (in delta order) into its commitment in place in device_in; only the
  // segments' commitments travel, gathered here and scattered back by `deliver`.
  absl::Status enqueue_update(Lane& lane, const verkle::DeviceFixedBaseTables& tables,
                              std::span<verkle::Point> commitments,
                              std::span<const CommitmentDelta> chunk) {
    const std::size_t count = chunk.size();
    const UpdateLayout layout(count);
    for (absl::Status s : {lane.host_in.reserve(layout.bytes(count)),
                           lane.host_out.reserve(count * sizeof(verkle::Point)),
                           lane.device_in.reserve(layout.bytes(count)),
                           lane.device_scratch.reserve(count * sizeof(verkle::Point))}) {
      if (!s.ok()) return s;
    }
    auto* host = static_cast<std::byte*>(lane.host_in.data());
    auto* scalars = reinterpret_cast<verkle::Fr*>(host + UpdateLayout::scalars);
    auto* generators = reinterpret_cast<std::uint32_t*>(host + layout.generators);
    auto* starts = reinterpret_cast<std::uint32_t*>(host + layout.starts);
    auto* segment_points = reinterpret_cast<verkle::Point*>(host + layout.commitments);
    lane.targets.clear();
    for (std::size_t i = 0; i < count; ++i) {
      const CommitmentDelta& delta = chunk[i];
      if (i == 0 || delta.target != chunk[i - 1].target) {
        starts[lane.targets.size()] = static_cast<std::uint32_t>(i);
        segment_points[lane.targets.size()] = commitments[delta.target];
        lane.targets.push_back(delta.target);
      }
      scalars[i] = delta.scalar;
      generators[i] = delta.generator;
    }
    const std::size_t segments = lane.targets.size();
    starts[segments] = static_cast<std::uint32_t>(count);

    cudaStream_t stream = lane.stream.get();
    auto* device = static_cast<std::byte*>(lane.device_in.data());
    auto* device_points = reinterpret_cast<verkle::Point*>(device + layout.commitments);
    auto* terms = static_cast<verkle::Point*>(lane.device_scratch.data());
    if (absl::Status s = cuda_status(
            cudaMemcpyAsync(device, host, layout.bytes(segments), cudaMemcpyHostToDevice, stream),
            "copy to device");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = cuda_status(
            verkle::launch_fixed_base_mul(
                tables, reinterpret_cast<const std::uint32_t*>(device + layout.generators),
                reinterpret_cast<const verkle::Fr*>(device + UpdateLayout::scalars), terms, count,
                stream),
            "fixed-base kernel launch");
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            cuda_status(verkle::launch_segment_sums(
                            terms, reinterpret_cast<const std::uint32_t*>(device + layout.starts),
                            device_points, segments, stream),
                        "segment sum kernel launch");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = cuda_status(
            cudaMemcpyAsync(lane.host_out.data(), device_points, segments * sizeof(verkle::Point),
                            cudaMemcpyDeviceToHost, stream),
            "copy from device");
        !s.ok()) {
      return s;
    }
    lane.deliver = [&lane, commitments] {
      const auto* updated = static_cast<const verkle::Point*>(lane.host_out.data());
      for (std::size_t s = 0; s < lane.targets.size(); ++s) {
        commitments[lane.targets[s]] = updated[s];
      }
    };
    return absl::OkStatus();
  }

  absl::Status enqueue_map(Lane& lane, std::span<const verkle::Point> points,
                           std::span<verkle::Fr> out) {
    const std::size_t count = points.size();
    const std::size_t in_bytes = points.size_bytes();
    const std::size_t out_bytes = out.size_bytes();
    for (absl::Status s : {lane.host_in.reserve(in_bytes), lane.host_out.reserve(out_bytes),
                           lane.device_in.reserve(in_bytes), lane.device_out.reserve(out_bytes),
                           lane.device_scratch.reserve(2 * count * sizeof(verkle::Fp))}) {
      if (!s.ok()) return s;
    }
    std::memcpy(lane.host_in.data(), points.data(), in_bytes);
    cudaStream_t stream = lane.stream.get();
    if (absl::Status s = cuda_status(cudaMemcpyAsync(lane.device_in.data(), lane.host_in.data(),
                                                     in_bytes, cudaMemcpyHostToDevice, stream),
                                     "copy to device");
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            cuda_status(verkle::launch_map_to_field(
                            static_cast<const verkle::Point*>(lane.device_in.data()),
                            static_cast<verkle::Fr*>(lane.device_out.data()),
                            static_cast<verkle::Fp*>(lane.device_scratch.data()), count, stream),
                        "map to field kernel launch");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = cuda_status(cudaMemcpyAsync(lane.host_out.data(), lane.device_out.data(),
                                                     out_bytes, cudaMemcpyDeviceToHost, stream),
                                     "copy from device");
        !s.ok()) {
      return s;
    }
    lane.deliver = [destination = out.data(), source = lane.host_out.data(), out_bytes] {
      std::memcpy(destination, source, out_bytes);
    };
    return absl::OkStatus();
  }

  // Waits for everything queued on the lane (also after a failed enqueue, whose copies may still
  // read its buffers), then delivers the chunk's results if it completed.
  absl::Status finish(Lane& lane, std::string_view what) {
    std::function<void()> deliver = std::move(lane.deliver);
    lane.deliver = nullptr;
    if (absl::Status s = cuda_status(cudaStreamSynchronize(lane.stream.get()), what); !s.ok()) {
      return s;
    }
    if (deliver) deliver();
    return absl::OkStatus();
  }

  std::mutex mutex_;
  std::string description_;
  std::array<Lane, 2> lanes_;
  std::array<DeviceBuffer, poseidon::kMaxWidth + 1> constants_;
  std::array<bool, poseidon::kMaxWidth + 1> constants_ready_{};
  DeviceBuffer verkle_table_buffer_;
  verkle::DeviceFixedBaseTables verkle_tables_;  // entries == nullptr until uploaded
};

}  // namespace

absl::StatusOr<std::unique_ptr<ComputeBackend>> make_cuda_backend() {
  auto backend = std::make_unique<CudaBackend>();
  if (absl::Status s = backend->init(); !s.ok()) return s;
  return std::unique_ptr<ComputeBackend>(std::move(backend));
}

}  // namespace arbor::host
