// The compute backends: bulk Poseidon (and later Verkle) work behind one interface, run by oneTBB
// on the CPU or by CUDA kernels on a GPU. Both must produce bit-identical results.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/field/bn254_fr.hpp"

namespace arbor::host {

using field::Fr;

enum class BackendKind { kCpu, kCuda };

struct DeviceMemory {
  std::size_t used_bytes = 0;
  std::size_t total_bytes = 0;
};

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;

  virtual BackendKind kind() const = 0;
  // Human-readable, for logs and metrics: "cpu (2 threads)", "cuda (NVIDIA H100 ..., sm_90)".
  virtual std::string description() const = 0;
  // The device's memory, for metrics; nullopt on the CPU or when the device cannot say.
  virtual std::optional<DeviceMemory> device_memory() const { return std::nullopt; }

  // Hashes outputs.size() independent input sets of `arity` elements each (laid out one set after
  // another in `inputs`) with capacity 0: outputs[i] = Poseidon(inputs[i*arity .. i*arity+arity)).
  // Safe to call from several threads. On error, `outputs` may be partly written.
  virtual absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                          std::span<Fr> outputs) = 0;
};

// Shared argument check of poseidon_hash_many: arity 1..16 and inputs.size() == arity * outputs.
absl::Status check_hash_many_shape(int arity, std::size_t inputs, std::size_t outputs);

enum class BackendChoice { kAuto, kCpu, kCuda };

// "auto", "cpu" or "cuda".
absl::StatusOr<BackendChoice> parse_backend_choice(std::string_view text);

// Threads 0 = all cores.
std::unique_ptr<ComputeBackend> make_cpu_backend(int threads = 0);

// Unavailable when Arbor was built without CUDA or no device answers.
absl::StatusOr<std::unique_ptr<ComputeBackend>> make_cuda_backend();

// kAuto: CUDA when built with it and a device answers, else the CPU (the reason is logged).
// kCuda: an error if no GPU can be used. The choice is logged.
absl::StatusOr<std::unique_ptr<ComputeBackend>> make_backend(BackendChoice choice);

}  // namespace arbor::host
