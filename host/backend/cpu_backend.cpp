// The CPU backend: oneTBB spreads independent hashes across cores; each hash runs the same
// templated permutation as the CUDA kernel, on the fastest field path the CPU has (MULX/ADX
// scalar, or eight hashes at once on AVX-512 IFMA; kernels/field/README.md).
#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/field/lanes.hpp"
#include "kernels/poseidon/poseidon_lanes.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/task_arena.h"

namespace arbor::host {
namespace {

// Small enough to balance across cores, large enough to amortise scheduling (~1 ms of work); a
// multiple of 16, the lanes' unit (two groups of eight in flight).
constexpr std::size_t kHashesPerTask = 256;
static_assert(kHashesPerTask % 16 == 0);
// ~100 fixed-base multiplications: about 1 ms on the scalar path, a quarter of that on the lanes.
constexpr std::size_t kDeltasPerTask = 96;
// One inversion per chunk: larger chunks save inversions, smaller ones balance across cores.
constexpr std::size_t kPointsPerInversion = 1024;

class CpuBackend final : public ComputeBackend {
 public:
  explicit CpuBackend(int threads)
      : arena_(threads > 0 ? threads : tbb::task_arena::automatic),
        threads_(threads > 0 ? threads : tbb::this_task_arena::max_concurrency()) {}

  BackendKind kind() const override { return BackendKind::kCpu; }
  std::string description() const override {
    return absl::StrCat("cpu (", threads_, threads_ == 1 ? " thread, " : " threads, ",
                        field::field_paths_name(), ")");
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
        if (field::field_paths().ifma) {
          // Eight hashes side by side on AVX-512 IFMA (poseidon_lanes.hpp); same outputs.
          poseidon::hash_many_lanes(T, inputs.data() + begin * (T - 1), outputs.data() + begin,
                                    end - begin, field::LaneImpl::kAvx512);
          return;
        }
        field::with_fastest_arith([&]<class A>() {
          for (std::size_t i = begin; i < end; ++i) {
            Fr state[T];
            state[0] = Fr::zero();
            std::copy_n(inputs.data() + i * (T - 1), T - 1, state + 1);
            poseidon::permute<T, A>(state, tables);
            outputs[i] = state[0];
          }
        });
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

  absl::Status verkle_update_commitments(std::span<verkle::Point> commitments,
                                         std::span<const CommitmentDelta> deltas) override {
    if (absl::Status s = check_commitment_deltas(commitments.size(), deltas); !s.ok()) return s;
    if (deltas.empty()) return absl::OkStatus();
    const verkle::PedersenTables& tables = verkle::default_pedersen_tables();
    // Segments of equal target: each is summed by one task, in order, so the result does not
    // depend on scheduling.
    std::vector<std::size_t> starts;
    starts.push_back(0);
    for (std::size_t i = 1; i < deltas.size(); ++i) {
      if (deltas[i].target != deltas[i - 1].target) starts.push_back(i);
    }
    starts.push_back(deltas.size());
    auto run_segments = [&](std::size_t first, std::size_t last) {
      // Up to sixteen segments side by side where the CPU has AVX-512 IFMA (long ones cut into
      // pieces); the same group elements either way.
      tables.update_many(commitments, deltas.subspan(starts[first], starts[last] - starts[first]));
    };
    const std::size_t segments = starts.size() - 1;
    if (deltas.size() <= kDeltasPerTask) {
      run_segments(0, segments);
      return absl::OkStatus();
    }
    // Grain by segment count, sized so that an average task holds ~kDeltasPerTask deltas.
    const std::size_t grain = std::max<std::size_t>(1, segments * kDeltasPerTask / deltas.size());
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, segments, grain),
                        [&](const tbb::blocked_range<std::size_t>& range) {
                          run_segments(range.begin(), range.end());
                        });
    });
    return absl::OkStatus();
  }

  absl::Status verkle_map_to_field(std::span<const verkle::Point> points,
                                   std::span<verkle::Fr> out) override {
    if (absl::Status s = check_map_to_field_shape(points.size(), out.size()); !s.ok()) return s;
    // One inversion per range; on AVX-512 IFMA eight points side by side (map_to_field_lanes.hpp).
    auto map_range = [&](std::size_t begin, std::size_t end) {
      verkle::batch_map_to_scalar_field(points.subspan(begin, end - begin),
                                        out.subspan(begin, end - begin));
    };
    if (points.size() <= kPointsPerInversion) {
      map_range(0, points.size());
      return absl::OkStatus();
    }
    arena_.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, points.size(), kPointsPerInversion),
                        [&](const tbb::blocked_range<std::size_t>& range) {
                          map_range(range.begin(), range.end());
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
