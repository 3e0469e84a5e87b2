// GPU faults without a GPU (issue 16): a device backend that fails on command — after scribbling
// over its outputs, as a kernel that died halfway would — behind make_fault_tolerant_backend.
// Every job must give the CPU's result, failures are counted, and a sticky error moves every
// later job to the CPU for good; SMT and Verkle trees built through it have the CPU's roots.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "host/backend/compute_backend.hpp"
#include "host/tree/schemes.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::host {
namespace {

// Fails the jobs `fail(job number)` picks, first corrupting what the job writes.
class FailingDevice final : public ComputeBackend {
 public:
  enum class Failure { kNone, kTransient, kSticky };
  explicit FailingDevice(std::function<Failure(int)> fail)
      : inner_(make_cpu_backend(1)), fail_(std::move(fail)) {}

  BackendKind kind() const override { return BackendKind::kCuda; }
  std::string description() const override { return "failing test device"; }
  int jobs() const { return jobs_; }

  absl::Status poseidon_hash_many(int arity, std::span<const Fr> inputs,
                                  std::span<Fr> outputs) override {
    return job([&] { return inner_->poseidon_hash_many(arity, inputs, outputs); },
               [&] { std::fill(outputs.begin(), outputs.end(), field::from_u64(7)); });
  }
  absl::Status verkle_update_commitments(std::span<verkle::Point> commitments,
                                         std::span<const CommitmentDelta> deltas) override {
    return job([&] { return inner_->verkle_update_commitments(commitments, deltas); },
               [&] {
                 // Half done: the first half of the commitments updated, as by an early chunk.
                 (void)inner_->verkle_update_commitments(commitments, deltas);
                 for (std::size_t i = commitments.size() / 2; i < commitments.size(); ++i) {
                   commitments[i] = verkle::Point::generator();
                 }
               });
  }
  absl::Status verkle_map_to_field(std::span<const verkle::Point> points,
                                   std::span<verkle::Fr> out) override {
    return job([&] { return inner_->verkle_map_to_field(points, out); },
               [&] { std::fill(out.begin(), out.end(), verkle::Fr{}); });
  }

 private:
  template <class Run, class Corrupt>
  absl::Status job(Run&& run, Corrupt&& corrupt) {
    const Failure failure = fail_(jobs_++);
    if (failure == Failure::kNone) return run();
    corrupt();
    absl::Status error = absl::InternalError("CUDA launch: unspecified launch failure (injected)");
    return failure == Failure::kSticky ? mark_sticky_device_error(error) : error;
  }

  std::unique_ptr<ComputeBackend> inner_;
  std::function<Failure(int)> fail_;
  int jobs_ = 0;
};

using Failure = FailingDevice::Failure;

// A random key or value in the scheme's wire form: 32 bytes, below the SMT's field modulus.
std::string wire_element(const std::string& scheme, std::mt19937_64& rng) {
  std::string bytes(32, '\0');
  for (char& byte : bytes) byte = static_cast<char>(rng());
  if (scheme == "smt") bytes[0] = static_cast<char>(bytes[0] & 0x1f);  // big-endian, < 2^253
  return bytes;
}

struct Jobs {
  std::vector<Fr> hashes;
  std::vector<verkle::Point> commitments;
  std::vector<verkle::Fr> mapped;
};

// One job of each kind on `backend`, from inputs drawn from `seed`.
Jobs run_jobs(ComputeBackend& backend, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Jobs out;
  std::vector<Fr> inputs(2 * 500);
  for (Fr& x : inputs) x = testing::random_fr(rng);
  out.hashes.resize(500);
  EXPECT_TRUE(backend.poseidon_hash_many(2, inputs, out.hashes).ok());
  out.commitments.assign(8, verkle::Point::identity());
  std::vector<CommitmentDelta> deltas;
  for (std::uint32_t i = 0; i < 40; ++i) {
    deltas.push_back({i / 5, static_cast<std::uint32_t>(rng() % 256),
                      verkle::from_u64<verkle::BandersnatchFrParams>(rng())});
  }
  EXPECT_TRUE(backend.verkle_update_commitments(out.commitments, deltas).ok());
  out.mapped.resize(out.commitments.size());
  EXPECT_TRUE(backend.verkle_map_to_field(out.commitments, out.mapped).ok());
  return out;
}

void expect_same(const Jobs& got, const Jobs& expected, const char* when) {
  EXPECT_EQ(got.hashes, expected.hashes) << when;
  ASSERT_EQ(got.commitments.size(), expected.commitments.size());
  for (std::size_t i = 0; i < got.commitments.size(); ++i) {
    EXPECT_TRUE(got.commitments[i] == expected.commitments[i]) << when << " commitment " << i;
  }
  EXPECT_EQ(got.mapped, expected.mapped) << when;
}

TEST(BackendFaults, AFailedJobIsRedoneOnTheCpuWithTheSameResult) {
  std::unique_ptr<ComputeBackend> cpu = make_cpu_backend(1);
  auto device = std::make_unique<FailingDevice>(
      [](int job) { return job % 2 == 0 ? Failure::kTransient : Failure::kNone; });
  FailingDevice* raw = device.get();
  std::unique_ptr<ComputeBackend> backend =
      make_fault_tolerant_backend(std::move(device), make_cpu_backend(1));
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    expect_same(run_jobs(*backend, seed), run_jobs(*cpu, seed), "transient faults");
  }
  ASSERT_TRUE(backend->faults().has_value());
  EXPECT_EQ(backend->faults()->jobs_redone_on_cpu, 6u);  // 12 jobs, every other one failed
  EXPECT_FALSE(backend->faults()->switched_to_cpu);
  EXPECT_NE(backend->faults()->last_error.find("injected"), std::string::npos);
  EXPECT_EQ(backend->kind(), BackendKind::kCuda);  // transient faults keep the device
  EXPECT_TRUE(backend->fallback_reason().empty());
  EXPECT_EQ(raw->jobs(), 12);

  // Bad arguments are the caller's: refused as they are, not redone.
  std::vector<Fr> outputs(3);
  EXPECT_EQ(backend->poseidon_hash_many(2, std::vector<Fr>(5), outputs).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BackendFaults, AStickyErrorMovesEveryLaterJobToTheCpu) {
  std::unique_ptr<ComputeBackend> cpu = make_cpu_backend(1);
  auto device = std::make_unique<FailingDevice>(
      [](int job) { return job == 1 ? Failure::kSticky : Failure::kNone; });
  FailingDevice* raw = device.get();
  std::unique_ptr<ComputeBackend> backend =
      make_fault_tolerant_backend(std::move(device), make_cpu_backend(1));
  expect_same(run_jobs(*backend, 9), run_jobs(*cpu, 9), "sticky fault in the second job");
  EXPECT_EQ(raw->jobs(), 2);  // the third job never reached the device
  expect_same(run_jobs(*backend, 10), run_jobs(*cpu, 10), "after the switch");
  EXPECT_EQ(raw->jobs(), 2);
  EXPECT_EQ(backend->kind(), BackendKind::kCpu);
  EXPECT_TRUE(backend->faults()->switched_to_cpu);
  EXPECT_EQ(backend->faults()->jobs_redone_on_cpu, 1u);
  EXPECT_NE(backend->fallback_reason().find("sticky"), std::string::npos);
  EXPECT_NE(backend->description().find("after a GPU fault"), std::string::npos);
  EXPECT_FALSE(backend->device_memory().has_value());
}

// Trees built through a device that fails a third of its jobs have the CPU's roots.
TEST(BackendFaults, TreesBuiltThroughAFailingDeviceHaveTheCpuRoots) {
  for (const std::string scheme : {"smt", "verkle"}) {
    std::vector<std::string> roots;
    for (const bool faulty : {false, true}) {
      testing::TempDir dir("backend-faults");
      auto store = storage::Store::open(dir / "db");
      ASSERT_TRUE(store.ok()) << store.status();
      std::unique_ptr<ComputeBackend> backend =
          faulty ? make_fault_tolerant_backend(std::make_unique<FailingDevice>([](int job) {
                                                 return job % 3 == 1 ? Failure::kTransient
                                                                     : Failure::kNone;
                                               }),
                                               make_cpu_backend(1))
                 : make_cpu_backend(1);
      const tree::Scheme* chosen = tree::find_scheme(scheme);
      ASSERT_NE(chosen, nullptr);
      auto created = chosen->create(**store, "t", {}, *backend, {});
      ASSERT_TRUE(created.ok()) << created.status();
      std::mt19937_64 rng(77);
      for (int batch = 0; batch < 5; ++batch) {
        std::vector<tree::Op> ops;
        for (int i = 0; i < 200; ++i) {
          ops.push_back(tree::Op::put(wire_element(scheme, rng), wire_element(scheme, rng)));
        }
        auto applied = (*created)->apply(ops, {});
        ASSERT_TRUE(applied.ok()) << applied.status();
        if (batch == 4) roots.push_back(applied->version.root);
      }
      if (faulty) {
        EXPECT_GT(backend->faults()->jobs_redone_on_cpu, 0u) << scheme;
      }
    }
    EXPECT_EQ(roots.at(0), roots.at(1)) << scheme;
  }
}

}  // namespace
}  // namespace arbor::host
