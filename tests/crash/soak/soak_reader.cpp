#include "tests/crash/soak/soak_reader.hpp"

#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbor::soak {
namespace {

void prepare(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

// One checked read; false when arbord went away (the kill), after which the reader stops.
bool read_one(rpc::ArborClient& client, SoakTree& tree, std::mt19937_64& rng,
              const CycleFlags& flags, Counters& counters, Failures& failures) {
  const std::optional<crash::WriteLedger::Sample> sample = tree.ledger.sample(rng);
  if (!sample) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return true;
  }
  const std::string where =
      absl::StrCat("reader (", tree.name, ", key 0x", absl::BytesToHexString(sample->key), "): ");
  const auto failed = [&](const grpc::Status& status, const char* call) {
    if (!flags.killing) {
      failures.add(
          absl::StrCat(where, call, " failed while arbord was up: ", status.error_message()));
    }
    return false;
  };
  const std::uint64_t acked_before = tree.newest_acked_version.load();
  v1::GetRequest get;
  get.set_tree(tree.name);
  get.set_key(sample->key);
  get.set_with_proof(true);
  v1::GetResponse got;
  {
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = client.stub().Get(&context, get, &got);
    if (!status.ok()) return failed(status, "Get");
  }
  if (got.version() < acked_before) {
    failures.add(absl::StrCat(where, "read version ", got.version(), " after version ",
                              acked_before, " was acknowledged"));
  }
  v1::VerifyRequest verify;
  verify.set_proof(got.proof());
  verify.set_root(got.root());
  v1::VerifyResponse verdict;
  {
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = client.stub().Verify(&context, verify, &verdict);
    if (!status.ok()) return failed(status, "Verify");
  }
  if (!verdict.valid()) {
    failures.add(absl::StrCat(where, "the proof of version ", got.version(),
                              " does not verify: ", verdict.reason()));
  }
  v1::GetTreeRequest get_tree;
  get_tree.set_tree(tree.name);
  get_tree.mutable_at()->set_version(got.version());
  v1::TreeInfo info;
  {
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = client.stub().GetTree(&context, get_tree, &info);
    if (!status.ok()) return failed(status, "GetTree");
  }
  if (info.root() != got.root()) {
    failures.add(absl::StrCat(where, "Get's root of version ", got.version(), " is not GetTree's"));
  }
  ++counters.reads;
  if (tree.ledger.stable(*sample)) {
    const absl::Status allowed =
        tree.ledger.check(sample->key, got.found() ? crash::Value(got.value()) : std::nullopt);
    if (!allowed.ok()) failures.add(absl::StrCat(where, allowed.message()));
    ++counters.values_checked;
  }
  return true;
}

}  // namespace

void read_until_stopped(rpc::ArborClient& client, const std::vector<SoakTree*>& trees,
                        std::uint64_t seed, const CycleFlags& flags, Counters& counters,
                        Failures& failures) {
  std::mt19937_64 rng(seed);
  while (!flags.stop && !failures.any()) {
    SoakTree& tree = *trees[rng() % trees.size()];
    if (!read_one(client, tree, rng, flags, counters, failures)) return;
  }
}

}  // namespace arbor::soak
