// The compute backends: bulk Poseidon and Verkle work behind one interface, run by oneTBB on the
// CPU or by CUDA kernels on a GPU. Both must produce bit-identical results.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/field/bn254_fr.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "kernels/verkle/pedersen.hpp"

namespace arbor::host {

using field::Fr;

enum class BackendKind { kCpu, kCuda };

// One term of a bulk Verkle commitment update: commitments[target] += scalar * G_generator, with
// G the 256 generators of the Verkle CRS.
using verkle::CommitmentDelta;

struct DeviceMemory {
  std::size_t used_bytes = 0;
  std::size_t total_bytes = 0;
};

enum class BackendChoice { kAuto, kCpu, kCuda };

struct BackendFaults {
  std::uint64_t jobs_redone_on_cpu = 0;  // device jobs that failed and were redone on the CPU
  bool switched_to_cpu = false;          // after a sticky device error
  std::string last_error;
};

// A device error after which the device cannot be used again (its context is lost: an illegal
// address, an uncorrectable ECC error, a failed launch) carries this payload.
inline constexpr std::string_view kStickyDeviceErrorPayload = "arbor.backend/sticky-device-error";
absl::Status mark_sticky_device_error(absl::Status status);
bool is_sticky_device_error(const absl::Status& status);

class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;

  virtual BackendKind kind() const = 0;
  // Human-readable, for logs and metrics: "cpu (2 threads, adx)" (the field path in use),
  // "cuda (NVIDIA H100 ..., sm_90)".
  virtual std::string description() const = 0;
  // The device's memory, for metrics; nullopt on the CPU or when the device cannot say.
  virtual std::optional<DeviceMemory> device_memory() const { return std::nullopt; }
  // Why this backend runs on the CPU though a GPU was wanted: make_backend(kAuto) found no usable
  // GPU, or the GPU failed with a sticky error (make_fault_tolerant_backend). Empty otherwise.
  // Operators watch it (arbor_backend_cpu_fallback, /healthz): a GPU node that lost its device
  // still serves, only slower.
  virtual std::string fallback_reason() const { return fallback_reason_; }
  // A device backend's faults so far (make_fault_tolerant_backend); nullopt for the others.
  virtual std::optional<BackendFaults> faults() const { return std::nullopt; }

  // Hashes outputs.size() independent input sets of `arity` elements each (laid out one set after
  // another in `inputs`) with capacity 0: outputs[i] = Poseidon(inputs[i*arity .. i*arity+arity)).
  // Safe to call from several threads. On error, `outputs` may be partly written.
  virtual absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                          std::span<Fr> outputs) = 0;

  // Verkle: adds every delta to its target commitment, with fixed-base multiplications over the
  // standard CRS tables. Deltas must be sorted by target (ties in any order); a target may have
  // any number of deltas, including none. Results are canonical (equal points compare equal;
  // coordinates may differ between backends, so compare with ==, serialize or map to the field).
  // INVALID_ARGUMENT for an unsorted list, a target outside `commitments` or a generator >= 256.
  // On error, `commitments` may be partly updated.
  virtual absl::Status verkle_update_commitments(std::span<verkle::Point> commitments,
                                                 std::span<const CommitmentDelta> deltas) = 0;
  // out[i] = map_to_scalar_field(points[i]) (x/y as an element of the Bandersnatch scalar field),
  // with batched inversions. INVALID_ARGUMENT when the sizes differ.
  virtual absl::Status verkle_map_to_field(std::span<const verkle::Point> points,
                                           std::span<verkle::Fr> out) = 0;

 private:
  friend absl::StatusOr<std::unique_ptr<ComputeBackend>> make_backend(BackendChoice choice);
  std::string fallback_reason_;  // set by make_backend() only
};

// Shared argument checks of the Verkle jobs.
absl::Status check_commitment_deltas(std::size_t commitments,
                                     std::span<const CommitmentDelta> deltas);
absl::Status check_map_to_field_shape(std::size_t points, std::size_t outputs);

// Shared argument check of poseidon_hash_many: arity 1..16 and inputs.size() == arity * outputs.
absl::Status check_hash_many_shape(int arity, std::size_t inputs, std::size_t outputs);

// "auto", "cpu" or "cuda".
absl::StatusOr<BackendChoice> parse_backend_choice(std::string_view text);

// Threads 0 = all cores.
std::unique_ptr<ComputeBackend> make_cpu_backend(int threads = 0);

// Unavailable when Arbor was built without CUDA or no device answers.
absl::StatusOr<std::unique_ptr<ComputeBackend>> make_cuda_backend();

// `device` with `cpu` behind it: a device job that fails (other than INVALID_ARGUMENT) is redone
// on the CPU from its original inputs, with the same result, and counted (faults()); after a
// sticky error every job runs on the CPU, with a log line and fallback_reason() saying why.
std::unique_ptr<ComputeBackend> make_fault_tolerant_backend(std::unique_ptr<ComputeBackend> device,
                                                            std::unique_ptr<ComputeBackend> cpu);
// kAuto: CUDA when built with it and a device answers, else the CPU (the reason is logged and
// kept in fallback_reason()). kCuda: an error if no GPU can be used. The choice is logged. A
// CUDA backend comes wrapped by make_fault_tolerant_backend.
absl::StatusOr<std::unique_ptr<ComputeBackend>> make_backend(BackendChoice choice);

}  // namespace arbor::host
