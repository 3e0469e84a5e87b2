#include "host/backend/compute_backend.hpp"

#include "absl/strings/str_cat.h"
#include "kernels/poseidon/poseidon.hpp"
#include "spdlog/spdlog.h"

namespace arbor::host {

absl::Status check_hash_many_shape(int arity, std::size_t inputs, std::size_t outputs) {
  if (arity < poseidon::kMinWidth - 1 || arity > poseidon::kMaxWidth - 1) {
    return absl::InvalidArgumentError(absl::StrCat("Poseidon takes 1 to ", poseidon::kMaxWidth - 1,
                                                   " inputs, got arity ", arity));
  }
  if (inputs != static_cast<std::size_t>(arity) * outputs) {
    return absl::InvalidArgumentError(absl::StrCat("bulk hash of ", outputs, " sets of arity ",
                                                   arity, " needs ", arity * outputs,
                                                   " inputs, got ", inputs));
  }
  return absl::OkStatus();
}

absl::Status check_commitment_deltas(std::size_t commitments,
                                     std::span<const CommitmentDelta> deltas) {
  for (std::size_t i = 0; i < deltas.size(); ++i) {
    const CommitmentDelta& delta = deltas[i];
    if (delta.target >= commitments) {
      return absl::InvalidArgumentError(absl::StrCat("commitment delta ", i, " targets commitment ",
                                                     delta.target, " of ", commitments));
    }
    if (delta.generator >= 256) {
      return absl::InvalidArgumentError(absl::StrCat("commitment delta ", i, " uses generator ",
                                                     delta.generator, " (the CRS has 256)"));
    }
    if (i > 0 && delta.target < deltas[i - 1].target) {
      return absl::InvalidArgumentError(
          absl::StrCat("commitment deltas are not sorted by target at delta ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status check_map_to_field_shape(std::size_t points, std::size_t outputs) {
  if (points != outputs) {
    return absl::InvalidArgumentError(
        absl::StrCat("map to field of ", points, " points into ", outputs, " outputs"));
  }
  return absl::OkStatus();
}

absl::StatusOr<BackendChoice> parse_backend_choice(std::string_view text) {
  if (text == "auto") return BackendChoice::kAuto;
  if (text == "cpu") return BackendChoice::kCpu;
  if (text == "cuda") return BackendChoice::kCuda;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown backend '", std::string(text), "' (expected auto, cpu or cuda)"));
}

#if !defined(ARBOR_WITH_CUDA)
absl::StatusOr<std::unique_ptr<ComputeBackend>> make_cuda_backend() {
  return absl::UnavailableError("Arbor was built without CUDA (ARBOR_CUDA=OFF or no nvcc)");
}
#endif

absl::StatusOr<std::unique_ptr<ComputeBackend>> make_backend(BackendChoice choice) {
  if (choice == BackendChoice::kCpu) {
    auto cpu = make_cpu_backend();
    spdlog::info("compute backend: {} (chosen)", cpu->description());
    return cpu;
  }
  absl::StatusOr<std::unique_ptr<ComputeBackend>> cuda = make_cuda_backend();
  if (cuda.ok()) {
    spdlog::info("compute backend: {} (jobs the GPU fails are redone on the CPU)",
                 (*cuda)->description());
    return make_fault_tolerant_backend(std::move(*cuda), make_cpu_backend());
  }
  if (choice == BackendChoice::kCuda) return cuda.status();
  std::unique_ptr<ComputeBackend> cpu = make_cpu_backend();
  cpu->fallback_reason_ = std::string(cuda.status().message());
  spdlog::info("compute backend: {} (no GPU: {})", cpu->description(), cpu->fallback_reason_);
  return cpu;
}

}  // namespace arbor::host
