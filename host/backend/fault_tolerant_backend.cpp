// A device backend with the CPU behind it (make_fault_tolerant_backend): every device job that
// fails for a reason other than its arguments is redone on the CPU from the job's original
// inputs, so a GPU fault costs time, never a result. A sticky error (the device's context is lost:
// illegal address, ECC, a failed launch) switches the process to the CPU for good.
#include <atomic>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "spdlog/spdlog.h"

namespace arbor::host {

absl::Status mark_sticky_device_error(absl::Status status) {
  status.SetPayload(
      absl::string_view(kStickyDeviceErrorPayload.data(), kStickyDeviceErrorPayload.size()),
      absl::Cord("1"));
  return status;
}

bool is_sticky_device_error(const absl::Status& status) {
  return status
      .GetPayload(
          absl::string_view(kStickyDeviceErrorPayload.data(), kStickyDeviceErrorPayload.size()))
      .has_value();
}

namespace {

class FaultTolerantBackend final : public ComputeBackend {
 public:
  FaultTolerantBackend(std::unique_ptr<ComputeBackend> device, std::unique_ptr<ComputeBackend> cpu)
      : device_(std::move(device)), cpu_(std::move(cpu)) {}

  BackendKind kind() const override {
    return switched_.load() ? BackendKind::kCpu : device_->kind();
  }
  std::string description() const override {
    if (!switched_.load()) return device_->description();
    return absl::StrCat(cpu_->description(), ", after a GPU fault");
  }
  std::optional<DeviceMemory> device_memory() const override {
    return switched_.load() ? std::nullopt : device_->device_memory();
  }
  std::string fallback_reason() const override {
    std::lock_guard lock(mutex_);
    return switch_reason_;
  }
  std::optional<BackendFaults> faults() const override {
    std::lock_guard lock(mutex_);
    return BackendFaults{jobs_redone_on_cpu_, switched_.load(), last_error_};
  }

  absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                  std::span<Fr> outputs) override {
    // Every output is written again by the CPU: nothing to restore.
    return run("Poseidon batch", [&](ComputeBackend& backend) {
      return backend.poseidon_hash_many(arity, inputs, outputs);
    });
  }

  absl::Status verkle_update_commitments(std::span<verkle::Point> commitments,
                                         std::span<const CommitmentDelta> deltas) override {
    if (switched_.load()) return cpu_->verkle_update_commitments(commitments, deltas);
    // The device may have updated some commitments before it failed: the CPU starts again from
    // the commitments as they were.
    const std::vector<verkle::Point> before(commitments.begin(), commitments.end());
    return run("Verkle commitment update", [&](ComputeBackend& backend) {
      if (&backend == cpu_.get()) std::copy(before.begin(), before.end(), commitments.begin());
      return backend.verkle_update_commitments(commitments, deltas);
    });
  }

  absl::Status verkle_map_to_field(std::span<const verkle::Point> points,
                                   std::span<verkle::Fr> out) override {
    return run("Verkle map to field",
               [&](ComputeBackend& backend) { return backend.verkle_map_to_field(points, out); });
  }

 private:
  template <class Job>
  absl::Status run(std::string_view what, Job&& job) {
    if (switched_.load()) return job(*cpu_);
    absl::Status on_device = job(*device_);
    // Bad arguments are the caller's: the CPU would refuse them the same way.
    if (on_device.ok() || on_device.code() == absl::StatusCode::kInvalidArgument) {
      return on_device;
    }
    const bool sticky = is_sticky_device_error(on_device);
    {
      std::lock_guard lock(mutex_);
      ++jobs_redone_on_cpu_;
      last_error_ = std::string(on_device.message());
      if (sticky && !switched_.load()) {
        switch_reason_ = absl::StrCat("the GPU failed with a sticky error (", last_error_,
                                      "); every job runs on the CPU until arbord restarts");
        switched_.store(true);
        spdlog::error("compute backend: {}", switch_reason_);
      }
    }
    if (!sticky) {
      spdlog::warn("compute backend: {} failed on the GPU ({}); redone on the CPU",
                   std::string(what), std::string(on_device.message()));
    }
    return job(*cpu_);
  }

  const std::unique_ptr<ComputeBackend> device_;
  const std::unique_ptr<ComputeBackend> cpu_;
  std::atomic<bool> switched_{false};
  mutable std::mutex mutex_;
  std::uint64_t jobs_redone_on_cpu_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mutex_);
  std::string switch_reason_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

std::unique_ptr<ComputeBackend> make_fault_tolerant_backend(std::unique_ptr<ComputeBackend> device,
                                                            std::unique_ptr<ComputeBackend> cpu) {
  return std::make_unique<FaultTolerantBackend>(std::move(device), std::move(cpu));
}

}  // namespace arbor::host
