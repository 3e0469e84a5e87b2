// The CUDA backend. Batches are cut into chunks that alternate between two streams, each with its
// own pinned staging and device buffers (kept and reused across calls), so the host copies of one
// chunk overlap the transfers and kernel of the other.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/poseidon/poseidon_cuda.hpp"
#include "kernels/poseidon/poseidon_params.hpp"

namespace arbor::host {
namespace {

absl::Status cuda_status(cudaError_t error, std::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("CUDA ", std::string(what), ": ", cudaGetErrorString(error)));
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

// One in-flight chunk: its buffers and where its results go.
struct Lane {
  Stream stream;
  PinnedBuffer host_in, host_out;
  DeviceBuffer device_in, device_out;
  Fr* pending_destination = nullptr;  // copy host_out here once the stream finishes
  std::size_t pending_count = 0;
};

// Keep a chunk's input near 64 MiB whatever the width: big launches, bounded staging memory.
constexpr std::size_t kChunkInputBytes = std::size_t{64} << 20;

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
    absl::Status status = absl::OkStatus();
    std::size_t lane_index = 0;
    for (std::size_t begin = 0; begin < outputs.size() && status.ok(); begin += chunk) {
      const std::size_t count = std::min(chunk, outputs.size() - begin);
      Lane& lane = lanes_[lane_index];
      lane_index = (lane_index + 1) % lanes_.size();
      status = finish(lane);
      if (status.ok()) status = enqueue(lane, arity, *tables, inputs, outputs, begin, count);
    }
    for (Lane& lane : lanes_) {
      absl::Status finished = finish(lane);
      if (status.ok()) status = finished;
    }
    return status;
  }

 private:
  // Uploads the width's constants once; they stay resident for the backend's life.
  absl::StatusOr<poseidon::PoseidonTables> device_tables(int t) {
    const poseidon::PoseidonParams& params = poseidon::poseidon_params(t);
    DeviceBuffer& buffer = constants_[static_cast<std::size_t>(t)];
    if (buffer.data() == nullptr) {
      const std::size_t bytes = params.optimized.size() * sizeof(Fr);
      if (absl::Status s = buffer.reserve(bytes); !s.ok()) return s;
      if (absl::Status s = cuda_status(
              cudaMemcpy(buffer.data(), params.optimized.data(), bytes, cudaMemcpyHostToDevice),
              "constant upload");
          !s.ok()) {
        return s;
      }
    }
    return params.layout.tables(static_cast<const Fr*>(buffer.data()));
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
    lane.pending_destination = outputs.data() + begin;
    lane.pending_count = count;
    return absl::OkStatus();
  }

  // Waits for everything queued on the lane (also after a failed enqueue, whose copies may still
  // read its buffers), then delivers the chunk's results if it completed.
  absl::Status finish(Lane& lane) {
    Fr* destination = lane.pending_destination;
    lane.pending_destination = nullptr;
    if (absl::Status s = cuda_status(cudaStreamSynchronize(lane.stream.get()), "Poseidon batch");
        !s.ok()) {
      return s;
    }
    if (destination != nullptr) {
      std::memcpy(destination, lane.host_out.data(), lane.pending_count * sizeof(Fr));
    }
    return absl::OkStatus();
  }

  std::mutex mutex_;
  std::string description_;
  std::array<Lane, 2> lanes_;
  std::array<DeviceBuffer, poseidon::kMaxWidth + 1> constants_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ComputeBackend>> make_cuda_backend() {
  auto backend = std::make_unique<CudaBackend>();
  if (absl::Status s = backend->init(); !s.ok()) return s;
  return std::unique_ptr<ComputeBackend>(std::move(backend));
}

}  // namespace arbor::host
