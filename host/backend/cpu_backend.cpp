// The CPU backend: oneTBB spreads independent hashes across cores; each hash runs the same
// templated permutation as the CUDA kernel.
#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace arbor::host {
namespace {

// Small enough to balance across cores, large enough to amortise scheduling (~1 ms of work).
constexpr std::size_t kHashesPerTask = 256;

class CpuBackend final : public ComputeBackend {
 public:
  explicit CpuBackend(int threads)
      : arena_(threads > 0 ? threads : tbb::task_arena::automatic),
        threads_(threads > 0 ? threads : tbb::this_task_arena::max_concurrency()) {}

  BackendKind kind() const override { return BackendKind::kCpu; }
  std::string description() const override {
    return absl::StrCat("cpu (", threads_, threads_ == 1 ? " thread)" : " threads)");
  }

  absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                  std::span<Fr> outputs) override {
    if (absl::Status shape = check_hash_many_shape(arity, inputs.size(), outputs.size());
        !shape.ok()) {
      return shape;
    }
    const poseidon::PoseidonTables tables = poseidon::poseidon_params(arity + 1).tables();
    poseidon::dispatch_width(arity + 1, [&]<int T>() {
      auto hash_range = [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          Fr state[T];
          state[0] = Fr::zero();
          std::copy_n(inputs.data() + i * (T - 1), T - 1, state + 1);
          poseidon::permute<T>(state, tables);
          outputs[i] = state[0];
        }
      };
      if (outputs.size() <= kHashesPerTask) {
        hash_range(0, outputs.size());
        return;
      }
      arena_.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, outputs.size(), kHashesPerTask),
                          [&](const tbb::blocked_range<std::size_t>& range) {
                            hash_range(range.begin(), range.end());
                          });
      });
    });
    return absl::OkStatus();
  }

 private:
  tbb::task_arena arena_;
  int threads_;
};

}  // namespace

std::unique_ptr<ComputeBackend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace arbor::host
