// arbord end to end for Verkle (EIP-6800) trees: a real server process on loopback, driven by a
// gRPC client. What arbord_test.cpp checks for SMT, here for Verkle: every RPC (each witness
// verified by the Verify RPC and locally by the stateless verifier), roots against an in-process
// tree and a recomputation from the contents, concurrent writers, transactions, optimistic
// conflicts, StreamWrite, overload, malformed requests and a restart with the data intact.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "nlohmann/json.hpp"
#include "storage/store.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor {
namespace {

using testing::ArbordProcess;
using testing::TempDir;

constexpr std::string_view kBinaryFormat = "verkle-witness-binary";
constexpr std::string_view kJsonFormat = "verkle-witness-json";
const std::string kEmptyRoot(32, '\0');

std::string bytes_of(std::span<const std::uint8_t> bytes) {
  return std::string(verkle::as_view(bytes));
}

template <std::size_t N>
std::array<std::uint8_t, N> array_of(std::string_view bytes) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

std::string random_value(std::mt19937_64& rng) {
  std::string value(32, '\0');
  for (char& c : value) c = static_cast<char>(rng());
  return value;
}

// A fresh key, one on the stem of a key in `pool` (another suffix), or one sharing leading bytes
// with a key in `pool`: so trees get shared stems, splits and deeper leaves, not only a flat root.
std::string near_key(std::mt19937_64& rng, const std::vector<std::string>& pool) {
  std::vector<verkle::Key32> near;
  for (const std::string& key : pool) near.push_back(array_of<32>(key));
  if (!pool.empty() && rng() % 3 == 0) {
    verkle::Key32 key = near[rng() % near.size()];
    key[31] = static_cast<std::uint8_t>(rng());
    return bytes_of(key);
  }
  return bytes_of(testing::random_verkle_key(rng, near, 2));
}

// `count` distinct keys, each near the ones before it.
std::vector<std::string> distinct_keys(std::mt19937_64& rng, std::size_t count,
                                       std::vector<std::string> pool = {}) {
  std::set<std::string> seen(pool.begin(), pool.end());
  std::vector<std::string> out;
  while (out.size() < count) {
    std::string key = near_key(rng, pool);
    if (!seen.insert(key).second) continue;
    pool.push_back(key);
    out.push_back(key);
  }
  return out;
}

v1::Op put(const std::string& key, const std::string& value) {
  v1::Op op;
  op.set_kind(v1::OP_KIND_PUT);
  op.set_key(key);
  op.set_value(value);
  return op;
}

v1::Op del(const std::string& key) {
  v1::Op op;
  op.set_kind(v1::OP_KIND_DELETE);
  op.set_key(key);
  return op;
}

host::ComputeBackend& cpu() {
  static const std::unique_ptr<host::ComputeBackend> backend = host::make_cpu_backend();
  return *backend;
}

// What a witness proves: each key's currentValue (nullopt: absent).
using Proved = std::map<std::string, std::optional<std::string>>;

Proved proved_values(const verkle::VerkleWitness& witness) {
  Proved proved;
  for (const verkle::StemDiff& diff : witness.state_diff) {
    for (const verkle::SuffixDiff& suffix : diff.suffixes) {
      std::string key = bytes_of(diff.stem);
      key.push_back(static_cast<char>(suffix.suffix));
      proved[key] = suffix.current ? std::optional(bytes_of(*suffix.current)) : std::nullopt;
    }
  }
  return proved;
}

// Parses `proof` (binary or go-verkle JSON) and verifies it against `root` with the stateless
// verifier, as a client without the server would.
absl::StatusOr<Proved> verify_locally(const std::string& proof, const std::string& root) {
  if (root.size() != 32) return absl::InvalidArgumentError("root is not 32 bytes");
  absl::StatusOr<verkle::VerkleWitness> witness = verkle::parse_witness(proof);
  if (!witness.ok()) return witness.status();
  absl::StatusOr<verkle::StatelessResult> checked =
      verkle::verify_witness(cpu(), array_of<32>(root), *witness);
  if (!checked.ok()) return checked.status();
  return proved_values(*witness);
}

// A Verkle tree in its own scratch store, fed the same operations as the server: no server code.
class LocalTree {
 public:
  LocalTree()
      : store_(*storage::Store::open(dir_ / "db")),
        tree_(*verkle::VerkleTree::create(*store_, "t", {}, cpu())) {}

  // Applies `ops` as one version; returns the root.
  std::string apply(const std::vector<v1::Op>& ops) {
    std::vector<verkle::VerkleOp> typed;
    for (const v1::Op& op : ops) {
      typed.push_back(
          op.kind() == v1::OP_KIND_DELETE
              ? verkle::VerkleOp::erase(array_of<32>(op.key()))
              : verkle::VerkleOp::put(array_of<32>(op.key()), array_of<32>(op.value())));
    }
    absl::StatusOr<verkle::VerkleApplyResult> applied = tree_->apply(typed);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return applied.ok() ? bytes_of(applied->root) : std::string();
  }

 private:
  TempDir dir_{"verkle-local"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<verkle::VerkleTree> tree_;
};

// The root of `entries` built from scratch in one batch of puts.
std::string recomputed_root(const std::map<std::string, std::string>& entries) {
  LocalTree tree;
  std::vector<v1::Op> ops;
  for (const auto& [key, value] : entries) ops.push_back(put(key, value));
  return tree.apply(ops);
}

class ArbordVerkleTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(std::vector<std::string> extra = {}) {
    auto started = ArbordProcess::start(dir_ / "data", std::move(extra));
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
    client_ = server_->client();
  }

  // Runs one unary call on a prepared context: `f(stub, context)`.
  template <typename F>
  grpc::Status call(F&& f, rpc::ArborClient* client = nullptr) {
    rpc::ArborClient& c = client ? *client : *client_;
    grpc::ClientContext context;
    c.prepare(context);
    return f(c.stub(), &context);
  }

  v1::TreeInfo create_tree(const std::string& name, std::uint64_t keep = 0) {
    v1::CreateTreeRequest request;
    request.set_name(name);
    request.set_scheme("verkle");
    request.set_keep_versions(keep);
    v1::TreeInfo info;
    grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.CreateTree(context, request, &info); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    return info;
  }

  grpc::Status write(const std::string& tree, const std::vector<v1::Op>& ops,
                     v1::WriteResponse& response, bool proofs = false,
                     std::optional<std::uint64_t> expected = std::nullopt,
                     const std::string& label = "", rpc::ArborClient* client = nullptr) {
    v1::WriteRequest request;
    request.set_tree(tree);
    for (const v1::Op& op : ops) *request.add_ops() = op;
    request.set_with_proofs(proofs);
    if (expected) request.set_expected_version(*expected);
    request.set_label(label);
    return call([&](auto& stub, auto* context) { return stub.Write(context, request, &response); },
                client);
  }

  v1::TreeInfo info(const std::string& tree, std::optional<std::uint64_t> at = std::nullopt) {
    v1::GetTreeRequest request;
    request.set_tree(tree);
    if (at) request.mutable_at()->set_version(*at);
    v1::TreeInfo info;
    grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.GetTree(context, request, &info); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    return info;
  }

  grpc::Status get(const std::string& tree, const std::string& key, v1::GetResponse& response,
                   bool proof = false, std::optional<std::uint64_t> at = std::nullopt) {
    v1::GetRequest request;
    request.set_tree(tree);
    request.set_key(key);
    request.set_with_proof(proof);
    if (at) request.mutable_at()->set_version(*at);
    return call([&](auto& stub, auto* context) { return stub.Get(context, request, &response); });
  }

  v1::VerifyResponse verify_rpc(const std::string& proof, const std::string& root) {
    v1::VerifyRequest request;
    request.set_proof(proof);
    request.set_root(root);
    v1::VerifyResponse verdict;
    grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.Verify(context, request, &verdict); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    return verdict;
  }

  // A binary witness from the server, checked both ways: the Verify RPC and the local verifier.
  // Returns what it proves.
  Proved expect_witness_holds(const std::string& proof, const std::string& root,
                              const std::string& what) {
    EXPECT_EQ(proof.substr(0, 4), "AVW1") << what;
    const v1::VerifyResponse verdict = verify_rpc(proof, root);
    EXPECT_TRUE(verdict.valid()) << what << ": " << verdict.reason();
    EXPECT_EQ(verdict.format(), kBinaryFormat) << what;
    EXPECT_EQ(verdict.root(), root) << what;
    absl::StatusOr<Proved> local = verify_locally(proof, root);
    EXPECT_TRUE(local.ok()) << what << ": " << local.status();
    return local.ok() ? *local : Proved{};
  }

  // Every entry of the tree at `at` (the head when absent), paging with `limit`.
  std::map<std::string, std::string> scan_all(const std::string& tree,
                                              std::optional<std::uint64_t> at = std::nullopt,
                                              std::uint32_t limit = 0) {
    std::map<std::string, std::string> entries;
    v1::ScanRequest request;
    request.set_tree(tree);
    if (at) request.mutable_at()->set_version(*at);
    request.set_limit(limit);
    for (;;) {
      v1::ScanResponse page;
      grpc::Status status =
          call([&](auto& stub, auto* context) { return stub.Scan(context, request, &page); });
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return entries;
      for (const v1::ScanEntry& entry : page.entries()) entries[entry.key()] = entry.value();
      if (!page.more()) return entries;
      request.set_after(page.entries(page.entries_size() - 1).key());
      request.mutable_at()->set_version(page.version());  // later pages read the same version
    }
  }

  TempDir dir_{"arbord-verkle-e2e"};
  std::unique_ptr<ArbordProcess> server_;
  std::unique_ptr<rpc::ArborClient> client_;
};

TEST_F(ArbordVerkleTest, EveryRpcRoundTrips) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.EveryRpcRoundTrips");
  const v1::TreeInfo created = create_tree("v");
  EXPECT_EQ(created.name(), "v");
  EXPECT_EQ(created.scheme(), "verkle");
  EXPECT_EQ(created.version(), 0u);
  EXPECT_EQ(created.root(), kEmptyRoot);
  EXPECT_EQ(created.size(), 0u);
  EXPECT_FALSE(created.params_json().empty());
  // The field is named params_json and the proto's example is JSON.
  EXPECT_TRUE(nlohmann::json::accept(created.params_json()))
      << "params_json is not JSON: " << created.params_json();
  EXPECT_GT(created.created_unix_ms(), 0);
  {
    v1::ListTreesResponse list;
    ASSERT_TRUE(call([&](auto& stub, auto* context) {
                  return stub.ListTrees(context, v1::ListTreesRequest(), &list);
                }).ok());
    ASSERT_EQ(list.trees_size(), 1);
    EXPECT_EQ(list.trees(0).scheme(), "verkle");
    EXPECT_EQ(list.trees(0).params_json(), created.params_json());
    EXPECT_EQ(list.trees(0).root(), kEmptyRoot);
  }

  // Write 1: puts (one of a zero value: present, not absent), with proofs, a label and an
  // expected version.
  const std::vector<std::string> keys = distinct_keys(rng, 8);
  std::map<std::string, std::string> contents;
  std::vector<v1::Op> first;
  for (std::size_t i = 0; i < 6; ++i) {
    contents[keys[i]] = i == 5 ? std::string(32, '\0') : random_value(rng);
    first.push_back(put(keys[i], contents[keys[i]]));
  }
  v1::WriteResponse w1;
  ASSERT_TRUE(write("v", first, w1, true, 0, "block-1").ok());
  EXPECT_EQ(w1.version(), 1u);
  EXPECT_EQ(w1.size(), 6u);
  EXPECT_GT(w1.committed_unix_ms(), 0);
  EXPECT_EQ(w1.label(), "block-1");
  EXPECT_EQ(w1.coalesced_writes(), 1u);
  EXPECT_NE(w1.root(), kEmptyRoot);
  EXPECT_EQ(w1.proof_format(), kBinaryFormat);
  ASSERT_EQ(w1.proofs_size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(w1.proofs(i).key(), keys[i]) << "in the order written";
    EXPECT_TRUE(w1.proofs(i).exists());
    EXPECT_EQ(w1.proofs(i).value(), contents[keys[i]]);
    EXPECT_TRUE(w1.proofs(i).proof().empty()) << "verkle: the witness is WriteResponse.proof";
  }
  Proved proved = expect_witness_holds(w1.proof(), w1.root(), "write 1");
  EXPECT_EQ(proved.size(), 6u);
  for (const auto& [key, value] : contents) EXPECT_EQ(proved[key], value);

  // Write 2: a delete, an overwrite, a new key, a delete of an absent key.
  const std::string new_value = random_value(rng);
  const std::string overwrite = random_value(rng);
  v1::WriteResponse w2;
  ASSERT_TRUE(write("v",
                    {del(keys[0]), put(keys[1], overwrite), put(keys[6], new_value), del(keys[7])},
                    w2, true, std::nullopt, "block-2")
                  .ok());
  contents.erase(keys[0]);
  contents[keys[1]] = overwrite;
  contents[keys[6]] = new_value;
  EXPECT_EQ(w2.version(), 2u);
  EXPECT_EQ(w2.size(), 6u);
  EXPECT_EQ(w2.label(), "block-2");
  EXPECT_GE(w2.committed_unix_ms(), w1.committed_unix_ms());
  ASSERT_EQ(w2.proofs_size(), 4);
  EXPECT_FALSE(w2.proofs(0).exists());
  EXPECT_TRUE(w2.proofs(0).value().empty());
  EXPECT_EQ(w2.proofs(1).value(), overwrite);
  EXPECT_EQ(w2.proofs(2).value(), new_value);
  EXPECT_FALSE(w2.proofs(3).exists());
  proved = expect_witness_holds(w2.proof(), w2.root(), "write 2");
  EXPECT_EQ(proved[keys[0]], std::nullopt);
  EXPECT_EQ(proved[keys[1]], overwrite);
  EXPECT_EQ(proved[keys[7]], std::nullopt);

  // GetTree at the head and at version 1.
  v1::TreeInfo head = info("v");
  EXPECT_EQ(head.version(), 2u);
  EXPECT_EQ(head.root(), w2.root());
  EXPECT_EQ(head.size(), 6u);
  EXPECT_EQ(head.label(), "block-2");
  EXPECT_EQ(head.committed_unix_ms(), w2.committed_unix_ms());
  v1::TreeInfo at1 = info("v", 1);
  EXPECT_EQ(at1.version(), 1u);
  EXPECT_EQ(at1.root(), w1.root());
  EXPECT_EQ(at1.size(), 6u);
  EXPECT_EQ(at1.label(), "block-1");

  // Get with proofs: present, deleted, and at an older version by label.
  v1::GetResponse got;
  ASSERT_TRUE(get("v", keys[6], got, true).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), new_value);
  EXPECT_EQ(got.version(), 2u);
  EXPECT_EQ(got.root(), w2.root());
  EXPECT_EQ(got.committed_unix_ms(), w2.committed_unix_ms());
  EXPECT_EQ(got.proof_format(), kBinaryFormat);
  EXPECT_EQ(expect_witness_holds(got.proof(), got.root(), "get present")[keys[6]], new_value);
  ASSERT_TRUE(get("v", keys[5], got).ok());
  EXPECT_TRUE(got.found()) << "a zero value is present";
  EXPECT_EQ(got.value(), std::string(32, '\0'));
  EXPECT_TRUE(got.proof().empty());
  ASSERT_TRUE(get("v", keys[0], got, true).ok());
  EXPECT_FALSE(got.found());
  proved = expect_witness_holds(got.proof(), got.root(), "get absent");
  ASSERT_EQ(proved.count(keys[0]), 1u);
  EXPECT_EQ(proved[keys[0]], std::nullopt);
  {
    v1::GetRequest request;
    request.set_tree("v");
    request.set_key(keys[0]);
    request.mutable_at()->set_label("block-1");
    ASSERT_TRUE(
        call([&](auto& stub, auto* context) { return stub.Get(context, request, &got); }).ok());
    EXPECT_TRUE(got.found());
    EXPECT_EQ(got.version(), 1u);
    EXPECT_EQ(got.root(), w1.root());
    EXPECT_EQ(got.value(), first[0].value());
  }

  // GetMany: one snapshot, values in the order asked (a duplicate and a never-written key), one
  // witness of all of them.
  const std::string never = distinct_keys(rng, 1, keys)[0];
  const std::vector<std::string> asked = {keys[1], keys[0], keys[6], keys[1], never, keys[5]};
  v1::GetManyRequest many;
  many.set_tree("v");
  for (const std::string& key : asked) many.add_keys(key);
  many.set_with_proof(true);
  v1::GetManyResponse values;
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.GetMany(context, many, &values); }).ok());
  EXPECT_EQ(values.version(), 2u);
  EXPECT_EQ(values.root(), w2.root());
  EXPECT_EQ(values.committed_unix_ms(), w2.committed_unix_ms());
  ASSERT_EQ(values.values_size(), static_cast<int>(asked.size()));
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const auto found = contents.find(asked[i]);
    EXPECT_EQ(values.values(i).found(), found != contents.end()) << i;
    EXPECT_EQ(values.values(i).value(), found != contents.end() ? found->second : "") << i;
  }
  EXPECT_EQ(values.proof_format(), kBinaryFormat);
  proved = expect_witness_holds(values.proof(), values.root(), "get many");
  EXPECT_EQ(proved.size(), 5u) << "the duplicate is proved once";
  EXPECT_EQ(proved[never], std::nullopt);
  many.mutable_at()->set_version(1);
  many.set_with_proof(false);
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.GetMany(context, many, &values); }).ok());
  EXPECT_EQ(values.version(), 1u);
  EXPECT_EQ(values.root(), w1.root());
  EXPECT_TRUE(values.values(1).found());
  EXPECT_EQ(values.values(1).value(), first[0].value());
  EXPECT_FALSE(values.values(2).found());
  EXPECT_TRUE(values.proof().empty());

  // Prove: binary and go-verkle JSON of the same keys, the same witness.
  v1::ProveRequest prove;
  prove.set_tree("v");
  for (const std::string& key : {keys[2], keys[0], never, keys[3]}) prove.add_keys(key);
  v1::ProveResponse binary, json;
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.Prove(context, prove, &binary); }).ok());
  EXPECT_EQ(binary.format(), kBinaryFormat);
  EXPECT_EQ(binary.version(), 2u);
  EXPECT_EQ(binary.root(), w2.root());
  EXPECT_EQ(binary.committed_unix_ms(), w2.committed_unix_ms());
  proved = expect_witness_holds(binary.proof(), binary.root(), "prove binary");
  EXPECT_EQ(proved.size(), 4u);
  EXPECT_EQ(proved[keys[2]], contents[keys[2]]);
  prove.set_encoding("json");
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.Prove(context, prove, &json); }).ok());
  EXPECT_EQ(json.format(), kJsonFormat);
  absl::StatusOr<verkle::VerkleWitness> from_json = verkle::witness_from_json(json.proof());
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(nlohmann::json::parse(json.proof()).contains("verkleProof"));
  EXPECT_TRUE(verkle::verify_witness(cpu(), array_of<32>(json.root()), *from_json).ok());
  EXPECT_EQ(verkle::witness_to_binary(*from_json), binary.proof()) << "one witness, two encodings";
  {
    const v1::VerifyResponse verdict = verify_rpc(json.proof(), json.root());
    EXPECT_TRUE(verdict.valid()) << verdict.reason();
    EXPECT_EQ(verdict.format(), kJsonFormat);
  }

  // Verify: a wrong root (a real point: version 1's) is answered invalid with a reason; no root,
  // a root that is not a point and a truncated witness are malformed requests.
  {
    const v1::VerifyResponse verdict = verify_rpc(binary.proof(), w1.root());
    EXPECT_FALSE(verdict.valid());
    EXPECT_FALSE(verdict.reason().empty());
    EXPECT_EQ(verdict.format(), kBinaryFormat);
  }
  auto verify_status = [&](const std::string& proof, const std::string& root) {
    v1::VerifyRequest request;
    request.set_proof(proof);
    request.set_root(root);
    v1::VerifyResponse verdict;
    return call([&](auto& stub, auto* context) { return stub.Verify(context, request, &verdict); });
  };
  for (const auto& [what, proof, root, names] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"no root", binary.proof(), "", "root"},
           {"root not a point", binary.proof(), std::string(32, '\xff'), "root"},
           {"root of 31 bytes", binary.proof(), std::string(31, '\x01'), "root"},
           {"truncated witness", binary.proof().substr(0, binary.proof().size() - 7), w2.root(),
            "proof"},
           {"witness magic only", "AVW1", w2.root(), "proof"},
       }) {
    const grpc::Status status = verify_status(proof, root);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << what << ": " << status.error_message();
    EXPECT_EQ(status.error_message().rfind(names, 0), 0u) << what << ": " << status.error_message();
  }

  // Rollback by version, writes go on from there; then by label.
  v1::RollbackRequest rollback;
  rollback.set_tree("v");
  rollback.mutable_to()->set_version(1);
  v1::TreeInfo rolled;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.Rollback(context, rollback, &rolled);
              }).ok());
  EXPECT_EQ(rolled.version(), 1u);
  EXPECT_EQ(rolled.root(), w1.root());
  EXPECT_EQ(rolled.size(), 6u);
  EXPECT_EQ(rolled.label(), "block-1");
  ASSERT_TRUE(get("v", keys[6], got).ok());
  EXPECT_FALSE(got.found()) << "written at the rolled-back version 2";
  v1::WriteResponse w2b, w3;
  ASSERT_TRUE(write("v", {put(keys[7], new_value)}, w2b, false, std::nullopt, "block-2b").ok());
  EXPECT_EQ(w2b.version(), 2u) << "writes go on from the rolled-back head";
  ASSERT_TRUE(write("v", {del(keys[2])}, w3, false, std::nullopt, "block-3").ok());
  EXPECT_EQ(w3.version(), 3u);
  rollback.mutable_to()->set_label("block-2b");
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.Rollback(context, rollback, &rolled);
              }).ok());
  EXPECT_EQ(rolled.version(), 2u);
  EXPECT_EQ(rolled.root(), w2b.root());
  EXPECT_EQ(rolled.label(), "block-2b");
  EXPECT_EQ(info("v").root(), w2b.root());

  // Prune: versions 0 and 1 go; reads of them are refused, version 2 still reads.
  v1::PruneRequest prune;
  prune.set_tree("v");
  prune.set_oldest_version(2);
  v1::PruneResponse pruned;
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.Prune(context, prune, &pruned); }).ok());
  EXPECT_EQ(pruned.oldest_version(), 2u);
  EXPECT_EQ(pruned.versions_dropped(), 2u);
  EXPECT_EQ(info("v").oldest_version(), 2u);
  // The proto: OUT_OF_RANGE for a version below the oldest retained one, NOT_FOUND for a label
  // no retained version has.
  for (std::uint64_t gone : {0, 1}) {
    grpc::Status status = get("v", keys[1], got, false, gone);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
    v1::GetTreeRequest request;
    request.set_tree("v");
    request.mutable_at()->set_version(gone);
    v1::TreeInfo old;
    status = call([&](auto& stub, auto* context) { return stub.GetTree(context, request, &old); });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
    v1::ProveRequest old_prove;
    old_prove.set_tree("v");
    old_prove.add_keys(keys[1]);
    old_prove.mutable_at()->set_version(gone);
    v1::ProveResponse old_proof;
    status =
        call([&](auto& stub, auto* context) { return stub.Prove(context, old_prove, &old_proof); });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE) << status.error_message();
  }
  {
    v1::GetRequest request;
    request.set_tree("v");
    request.set_key(keys[1]);
    request.mutable_at()->set_label("block-1");
    const grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.Get(context, request, &got); });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  }
  ASSERT_TRUE(get("v", keys[7], got, true, 2).ok());
  EXPECT_EQ(got.value(), new_value);
  expect_witness_holds(got.proof(), w2b.root(), "get after prune");

  // Checkpoint: a store copy another process can open; the Verkle tree in it reads the same.
  v1::CheckpointRequest checkpoint;
  checkpoint.set_name("cp-verkle");
  v1::CheckpointResponse made;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.Checkpoint(context, checkpoint, &made);
              }).ok());
  {
    auto copy = storage::Store::open_read_only(made.path());
    ASSERT_TRUE(copy.ok()) << copy.status();
    auto copied = (*copy)->tree_info("v");
    ASSERT_TRUE(copied.ok()) << copied.status();
    EXPECT_EQ(copied->scheme, "verkle");
    EXPECT_EQ(copied->head_version, 2u);
    EXPECT_EQ(copied->head_root, w2b.root());
    auto tree = verkle::VerkleTree::open(**copy, "v", cpu());
    ASSERT_TRUE(tree.ok()) << tree.status();
    auto value = (*tree)->get(array_of<32>(keys[7]));
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_TRUE(value->has_value());
    EXPECT_EQ(bytes_of(**value), new_value);
  }

  // Stats.
  v1::StatsResponse stats;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.Stats(context, v1::StatsRequest(), &stats);
              }).ok());
  EXPECT_NE(stats.backend().find("cpu"), std::string::npos) << stats.backend();
  ASSERT_EQ(stats.trees_size(), 1);
  EXPECT_EQ(stats.trees(0).tree(), "v");
  EXPECT_EQ(stats.trees(0).scheme(), "verkle");
  EXPECT_EQ(stats.trees(0).version(), 2u);
  EXPECT_EQ(stats.trees(0).size(), info("v").size());
  EXPECT_EQ(stats.trees(0).writes(), 4u);
  EXPECT_GE(stats.store_commits(), 4u);
}

TEST_F(ArbordVerkleTest, ScanPagesThroughOneVersionPinnedByAtVersion) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.ScanPages");
  create_tree("s");
  const std::vector<std::string> keys = distinct_keys(rng, 40);
  std::map<std::string, std::string> v1_contents;
  std::vector<v1::Op> ops;
  for (const std::string& key : keys) {
    v1_contents[key] = random_value(rng);
    ops.push_back(put(key, v1_contents[key]));
  }
  v1::WriteResponse written;
  ASSERT_TRUE(write("s", ops, written).ok());

  // The first page is of the head (version 1); then the tree moves on.
  v1::ScanRequest request;
  request.set_tree("s");
  request.set_limit(7);
  v1::ScanResponse page;
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.Scan(context, request, &page); }).ok());
  EXPECT_EQ(page.version(), 1u);
  EXPECT_EQ(page.root(), written.root());
  EXPECT_EQ(page.entries_size(), 7);
  EXPECT_TRUE(page.more());
  std::map<std::string, std::string> seen;
  for (const v1::ScanEntry& entry : page.entries()) seen[entry.key()] = entry.value();

  std::map<std::string, std::string> v2_contents = v1_contents;
  std::vector<v1::Op> changes;
  for (std::size_t i = 0; i < keys.size(); i += 3) {
    changes.push_back(del(keys[i]));
    v2_contents.erase(keys[i]);
  }
  for (const std::string& key : distinct_keys(rng, 10, keys)) {
    v2_contents[key] = random_value(rng);
    changes.push_back(put(key, v2_contents[key]));
  }
  v1::WriteResponse second;
  ASSERT_TRUE(write("s", changes, second).ok());
  ASSERT_EQ(second.version(), 2u);

  // Later pages pinned to version 1 still page through version 1, in key order.
  std::string last = page.entries(page.entries_size() - 1).key();
  while (page.more()) {
    request.set_after(last);
    request.mutable_at()->set_version(1);
    ASSERT_TRUE(
        call([&](auto& stub, auto* context) { return stub.Scan(context, request, &page); }).ok());
    EXPECT_EQ(page.version(), 1u);
    EXPECT_EQ(page.root(), written.root());
    EXPECT_LE(page.entries_size(), 7);
    for (const v1::ScanEntry& entry : page.entries()) {
      EXPECT_GT(entry.key(), last) << "key order";
      last = entry.key();
      seen[entry.key()] = entry.value();
    }
  }
  EXPECT_EQ(seen, v1_contents);
  EXPECT_EQ(scan_all("s", std::nullopt, 5), v2_contents);
  EXPECT_EQ(scan_all("s", 1, 10000), v1_contents);
  EXPECT_TRUE(scan_all("s", 0).empty());
}

// A WatchVersions stream read on its own thread, events handed over with a deadline.
class Watch {
 public:
  Watch(rpc::ArborClient& client, const std::string& tree, std::optional<std::uint64_t> from) {
    v1::WatchVersionsRequest request;
    request.set_tree(tree);
    if (from) request.set_from_version(*from);
    reader_ = client.stub().WatchVersions(&context_, request);
    thread_ = std::thread([this] {
      v1::VersionEvent event;
      while (reader_->Read(&event)) {
        std::lock_guard lock(mutex_);
        events_.push_back(event);
        changed_.notify_all();
      }
    });
  }
  ~Watch() {
    context_.TryCancel();
    thread_.join();
    (void)reader_->Finish();
  }

  std::optional<v1::VersionEvent> next(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    v1::VersionEvent event = events_.front();
    events_.pop_front();
    return event;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::VersionEvent>> reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::VersionEvent> events_;
  std::thread thread_;
};

TEST_F(ArbordVerkleTest, WatchVersionsReplaysFollowsAndReportsRollbacks) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.WatchVersions");
  create_tree("w");
  const std::vector<std::string> keys = distinct_keys(rng, 6);
  std::vector<v1::WriteResponse> written(4);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(write("w", {put(keys[i], random_value(rng))}, written[i], false, std::nullopt,
                      absl::StrCat("b", i))
                    .ok());
  }
  Watch watch(*client_, "w", 0);
  // Retained versions first: 0 (the empty tree) to the head.
  for (std::uint64_t version = 0; version <= 3; ++version) {
    std::optional<v1::VersionEvent> event = watch.next();
    ASSERT_TRUE(event) << "no event for version " << version;
    EXPECT_EQ(event->version(), version);
    EXPECT_FALSE(event->rolled_back());
    EXPECT_EQ(event->root(), version == 0 ? kEmptyRoot : written[version].root());
    EXPECT_EQ(event->size(), version);
    if (version > 0) {
      EXPECT_EQ(event->label(), absl::StrCat("b", version));
      EXPECT_EQ(event->committed_unix_ms(), written[version].committed_unix_ms());
    }
  }
  // A new write arrives.
  v1::WriteResponse w4;
  ASSERT_TRUE(write("w", {put(keys[4], random_value(rng))}, w4, false, std::nullopt, "b4").ok());
  std::optional<v1::VersionEvent> event = watch.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->version(), 4u);
  EXPECT_EQ(event->root(), w4.root());
  EXPECT_EQ(event->label(), "b4");
  EXPECT_FALSE(event->rolled_back());
  // A rollback: one event naming the new head, then later writes reuse the numbers.
  v1::RollbackRequest rollback;
  rollback.set_tree("w");
  rollback.mutable_to()->set_version(2);
  v1::TreeInfo rolled;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.Rollback(context, rollback, &rolled);
              }).ok());
  event = watch.next();
  ASSERT_TRUE(event);
  EXPECT_TRUE(event->rolled_back());
  EXPECT_EQ(event->version(), 2u);
  EXPECT_EQ(event->root(), written[2].root());
  EXPECT_EQ(event->label(), "b2");
  v1::WriteResponse w3b;
  ASSERT_TRUE(write("w", {put(keys[5], random_value(rng))}, w3b, false, std::nullopt, "b3b").ok());
  event = watch.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->version(), 3u);
  EXPECT_EQ(event->root(), w3b.root());
  EXPECT_EQ(event->label(), "b3b");
  EXPECT_FALSE(event->rolled_back());

  // Without from_version: only what comes after the call.
  Watch later(*client_, "w", std::nullopt);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the watch is registered
  v1::WriteResponse w4b;
  ASSERT_TRUE(write("w", {del(keys[1])}, w4b).ok());
  event = later.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(event->version(), 4u);
  EXPECT_EQ(event->root(), w4b.root());
}

// The server's roots equal an in-process tree's fed the same operations, write by write, and a
// tree built from scratch from the final contents.
TEST_F(ArbordVerkleTest, RootsMatchAnInProcessTreeAndARecomputationFromTheContents) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.Roots");
  create_tree("r");
  LocalTree local;
  std::map<std::string, std::string> contents;
  std::vector<std::string> pool;
  // Whether another key on `key`'s stem is present. Deleting a stem's last value removes its leaf
  // but leaves the path above it uncollapsed (go-verkle's rule), so the tree would then differ in
  // shape from a from-scratch build; until the last round, deletes keep every stem alive.
  auto stem_keeps_another = [&](const std::string& key) {
    for (const auto& [other, value] : contents) {
      if (other != key && other.compare(0, 31, key, 0, 31) == 0) return true;
    }
    return false;
  };
  for (int round = 0; round < 8; ++round) {
    std::vector<v1::Op> ops;
    const int count = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < count; ++i) {
      const std::uint64_t kind = rng() % 6;
      if (kind == 0 && !contents.empty()) {
        auto it = std::next(contents.begin(), static_cast<long>(rng() % contents.size()));
        if (!stem_keeps_another(it->first)) continue;
        ops.push_back(del(it->first));
        contents.erase(it);
      } else if (kind == 1 && !contents.empty()) {
        auto it = std::next(contents.begin(), static_cast<long>(rng() % contents.size()));
        it->second = random_value(rng);
        ops.push_back(put(it->first, it->second));
      } else if (kind == 2) {
        ops.push_back(del(distinct_keys(rng, 1, pool)[0]));  // absent: a no-op
      } else {
        const std::string key = near_key(rng, pool);
        pool.push_back(key);
        contents[key] = random_value(rng);
        ops.push_back(put(key, contents[key]));
      }
    }
    if (ops.empty()) continue;
    v1::WriteResponse written;
    ASSERT_TRUE(write("r", ops, written).ok());
    EXPECT_EQ(written.root(), local.apply(ops)) << "round " << round;
    EXPECT_EQ(written.size(), contents.size()) << "round " << round;
  }
  EXPECT_EQ(scan_all("r"), contents);
  EXPECT_EQ(info("r").root(), recomputed_root(contents));

  // Now empty whole stems too: the in-process tree, which keeps the same uncollapsed paths,
  // still agrees.
  std::vector<v1::Op> ops;
  for (std::size_t i = 0; i < pool.size(); i += 2) ops.push_back(del(pool[i]));
  v1::WriteResponse written;
  ASSERT_TRUE(write("r", ops, written).ok());
  EXPECT_EQ(written.root(), local.apply(ops));
}

TEST_F(ArbordVerkleTest, ConcurrentWritersCoalesceAndEveryWitnessVerifiesAgainstItsRoot) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.ConcurrentWriters");
  create_tree("c");
  constexpr int kWriters = 8;
  constexpr int kWritesEach = 6;
  const std::uint64_t seed = rng();
  struct Reply {
    std::vector<std::pair<std::string, std::string>> written;
    v1::WriteResponse response;
  };
  std::mutex mutex;
  std::vector<Reply> replies;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 local(seed + w);
      auto client = server_->client();
      std::vector<std::string> pool;
      for (int i = 0; i < kWritesEach; ++i) {
        Reply reply;
        std::vector<v1::Op> ops;
        for (const std::string& key : distinct_keys(local, 2, pool)) {
          pool.push_back(key);
          reply.written.emplace_back(key, random_value(local));
          ops.push_back(put(key, reply.written.back().second));
        }
        grpc::Status status = write("c", ops, reply.response, true, std::nullopt, "", client.get());
        if (!status.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        replies.push_back(std::move(reply));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(replies.size(), static_cast<std::size_t>(kWriters * kWritesEach));
  std::uint32_t max_coalesced = 0;
  std::map<std::string, std::string> expected;
  std::set<std::uint64_t> versions;
  for (const Reply& reply : replies) {
    max_coalesced = std::max(max_coalesced, reply.response.coalesced_writes());
    versions.insert(reply.response.version());
    ASSERT_EQ(reply.response.proofs_size(), 2);
    const absl::StatusOr<Proved> verified =
        verify_locally(reply.response.proof(), reply.response.root());
    ASSERT_TRUE(verified.ok()) << "version " << reply.response.version() << ": "
                               << verified.status();
    const Proved& proved = *verified;
    for (int i = 0; i < 2; ++i) {
      const auto& [key, value] = reply.written[i];
      expected[key] = value;
      EXPECT_EQ(reply.response.proofs(i).key(), key);
      EXPECT_EQ(reply.response.proofs(i).value(), value);
      EXPECT_EQ(proved.at(key), value) << "the witness proves the value at its own version";
    }
  }
  EXPECT_GT(max_coalesced, 1u) << kWriters << " concurrent writers never shared a version";
  EXPECT_LT(versions.size(), replies.size());
  // The Verify RPC agrees on one reply from each of a few versions.
  for (std::size_t i = 0; i < replies.size(); i += 11) {
    const v1::VerifyResponse verdict =
        verify_rpc(replies[i].response.proof(), replies[i].response.root());
    EXPECT_TRUE(verdict.valid()) << verdict.reason();
  }
  v1::TreeInfo head = info("c");
  EXPECT_EQ(head.size(), expected.size());
  EXPECT_EQ(head.version(), versions.size());
  EXPECT_EQ(head.root(), recomputed_root(expected));
}

TEST_F(ArbordVerkleTest, TransactionsAreInvisibleUntilCommitAtomicAndDiscardedOnAbortOrEnd) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.Transactions");
  create_tree("x");
  const std::vector<std::string> keys = distinct_keys(rng, 12);
  std::map<std::string, std::string> values;
  for (const std::string& key : keys) values[key] = random_value(rng);

  v1::BeginTxRequest begin;
  begin.set_tree("x");
  v1::BeginTxResponse tx;
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.BeginTx(context, begin, &tx); }).ok());
  EXPECT_FALSE(tx.tx_id().empty());
  for (std::uint64_t part = 0; part < 3; ++part) {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(keys[2 * part], values[keys[2 * part]]);
    *add.add_ops() = put(keys[2 * part + 1], values[keys[2 * part + 1]]);
    v1::AddToTxResponse added;
    ASSERT_TRUE(
        call([&](auto& stub, auto* context) { return stub.AddToTx(context, add, &added); }).ok());
    EXPECT_EQ(added.pending_ops(), 2 * (part + 1));
  }
  v1::GetResponse got;
  ASSERT_TRUE(get("x", keys[0], got).ok());
  EXPECT_FALSE(got.found()) << "visible before commit";
  EXPECT_EQ(info("x").version(), 0u);
  EXPECT_EQ(info("x").root(), kEmptyRoot);

  v1::CommitTxRequest commit;
  commit.set_tx_id(tx.tx_id());
  commit.set_label("tx-1");
  commit.set_with_proofs(true);
  v1::WriteResponse committed;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.CommitTx(context, commit, &committed);
              }).ok());
  EXPECT_EQ(committed.version(), 1u) << "all of it in one version";
  EXPECT_EQ(committed.size(), 6u);
  EXPECT_EQ(committed.label(), "tx-1");
  ASSERT_EQ(committed.proofs_size(), 6);
  EXPECT_EQ(committed.proof_format(), kBinaryFormat);
  const Proved proved = expect_witness_holds(committed.proof(), committed.root(), "commit");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(proved.at(keys[i]), values[keys[i]]);
  {
    const grpc::Status again =
        call([&](auto& stub, auto* context) { return stub.CommitTx(context, commit, &committed); });
    EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // Abort: nothing applied.
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.BeginTx(context, begin, &tx); }).ok());
  {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(keys[6], values[keys[6]]);
    *add.add_ops() = del(keys[0]);
    v1::AddToTxResponse added;
    ASSERT_TRUE(
        call([&](auto& stub, auto* context) { return stub.AddToTx(context, add, &added); }).ok());
    v1::AbortTxRequest abort;
    abort.set_tx_id(tx.tx_id());
    v1::AbortTxResponse aborted;
    ASSERT_TRUE(call([&](auto& stub, auto* context) {
                  return stub.AbortTx(context, abort, &aborted);
                }).ok());
    EXPECT_EQ(aborted.discarded_ops(), 2u);
  }
  // A bad op in AddToTx is refused naming it and leaves the transaction as it was.
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.BeginTx(context, begin, &tx); }).ok());
  {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(keys[7], values[keys[7]]);
    *add.add_ops() = put(keys[8], values[keys[8]].substr(0, 31));
    v1::AddToTxResponse added;
    const grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.AddToTx(context, add, &added); });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("ops[1].value"), std::string::npos)
        << status.error_message();
    v1::AbortTxRequest abort;
    abort.set_tx_id(tx.tx_id());
    v1::AbortTxResponse aborted;
    ASSERT_TRUE(call([&](auto& stub, auto* context) {
                  return stub.AbortTx(context, abort, &aborted);
                }).ok());
    EXPECT_EQ(aborted.discarded_ops(), 0u);
  }
  // CommitTx expecting a version the tree has left: ABORTED, nothing applied.
  ASSERT_TRUE(
      call([&](auto& stub, auto* context) { return stub.BeginTx(context, begin, &tx); }).ok());
  {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(keys[9], values[keys[9]]);
    v1::AddToTxResponse added;
    ASSERT_TRUE(
        call([&](auto& stub, auto* context) { return stub.AddToTx(context, add, &added); }).ok());
    v1::CommitTxRequest stale;
    stale.set_tx_id(tx.tx_id());
    stale.set_expected_version(0);
    const grpc::Status status =
        call([&](auto& stub, auto* context) { return stub.CommitTx(context, stale, &committed); });
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED) << status.error_message();
  }
  EXPECT_EQ(info("x").version(), 1u);
  EXPECT_EQ(info("x").root(), committed.root());

  // The Transaction stream: committed over several messages.
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    auto stream = client_->stub().Transaction(&context, &response);
    v1::TransactionRequest first;
    first.set_tree("x");
    *first.add_ops() = put(keys[10], values[keys[10]]);
    ASSERT_TRUE(stream->Write(first));
    v1::TransactionRequest middle;
    *middle.add_ops() = del(keys[0]);
    ASSERT_TRUE(stream->Write(middle));
    v1::TransactionRequest last;
    *last.add_ops() = put(keys[11], values[keys[11]]);
    last.set_commit(true);
    last.set_label("tx-stream");
    last.set_expected_version(1);
    last.set_with_proofs(true);
    ASSERT_TRUE(stream->Write(last));
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.version(), 2u);
    EXPECT_EQ(response.size(), 7u);
    EXPECT_EQ(response.label(), "tx-stream");
    const Proved streamed = expect_witness_holds(response.proof(), response.root(), "stream");
    EXPECT_EQ(streamed.at(keys[0]), std::nullopt);
    EXPECT_EQ(streamed.at(keys[11]), values[keys[11]]);
  }
  const std::string root_after_stream = info("x").root();
  // A stream that ends without commit: ABORTED and nothing applied.
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    auto stream = client_->stub().Transaction(&context, &response);
    v1::TransactionRequest only;
    only.set_tree("x");
    *only.add_ops() = put(keys[6], values[keys[6]]);
    *only.add_ops() = del(keys[1]);
    ASSERT_TRUE(stream->Write(only));
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::ABORTED);
  }
  // Abandoned and aborted transactions leave none open behind.
  bool none_open = false;
  for (int attempt = 0; attempt < 100 && !none_open; ++attempt) {
    v1::StatsResponse stats;
    ASSERT_TRUE(call([&](auto& stub, auto* context) {
                  return stub.Stats(context, v1::StatsRequest(), &stats);
                }).ok());
    none_open = stats.trees(0).open_transactions() == 0;
    if (!none_open) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(none_open);
  for (int i : {6, 7, 8, 9}) {
    ASSERT_TRUE(get("x", keys[i], got).ok());
    EXPECT_FALSE(got.found()) << i;
  }
  ASSERT_TRUE(get("x", keys[1], got).ok());
  EXPECT_TRUE(got.found()) << "deleted only by a discarded transaction";
  const v1::TreeInfo head = info("x");
  EXPECT_EQ(head.version(), 2u);
  EXPECT_EQ(head.root(), root_after_stream);
}

TEST_F(ArbordVerkleTest, ExpectedVersionConflictAppliesNothing) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.ExpectedVersion");
  create_tree("o");
  const std::vector<std::string> keys = distinct_keys(rng, 12);
  v1::WriteResponse written;
  ASSERT_TRUE(write("o", {put(keys[0], random_value(rng))}, written, false, 0).ok());
  ASSERT_TRUE(write("o", {put(keys[1], random_value(rng))}, written, false, 1).ok());
  const std::string root = written.root();
  const grpc::Status stale =
      write("o", {put(keys[2], random_value(rng)), del(keys[0])}, written, true, 1);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(stale.error_message().find("expected"), std::string::npos) << stale.error_message();
  v1::GetResponse got;
  ASSERT_TRUE(get("o", keys[2], got).ok());
  EXPECT_FALSE(got.found());
  ASSERT_TRUE(get("o", keys[0], got).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(info("o").version(), 2u);
  EXPECT_EQ(info("o").root(), root);

  // Racing writers that all expect the same version: exactly one wins.
  std::atomic<int> won{0}, aborted{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 6; ++i) {
    racers.emplace_back([&, i, value = random_value(rng)] {
      auto client = server_->client();
      v1::WriteResponse response;
      grpc::Status status =
          write("o", {put(keys[3 + i], value)}, response, false, 2, "", client.get());
      if (status.ok()) ++won;
      if (status.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    });
  }
  for (std::thread& racer : racers) racer.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(aborted.load(), 5);
  EXPECT_EQ(info("o").version(), 3u);
  EXPECT_EQ(info("o").size(), 3u);
}

TEST_F(ArbordVerkleTest, StreamWriteAnswersAcceptedWritesInOrderAndRefusesBadOnesInBand) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.StreamWrite");
  create_tree("s");
  constexpr int kRequests = 120;
  constexpr int kBad = 40;
  const std::vector<std::string> keys = distinct_keys(rng, kRequests);
  std::map<std::string, std::string> expected;
  grpc::ClientContext context;
  auto stream = client_->stub().StreamWrite(&context);
  for (int i = 0; i < kRequests; ++i) {
    v1::StreamWriteRequest request;
    request.set_request_id(1000 + i);
    request.mutable_write()->set_tree("s");
    const std::string value = random_value(rng);
    *request.mutable_write()->add_ops() = put(keys[i], value);
    if (i == kBad) {
      request.mutable_write()->mutable_ops(0)->set_key(keys[i].substr(0, 31));
    } else {
      expected[keys[i]] = value;
    }
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::StreamWriteResponse response;
  // Accepted writes are answered in order; the refusal at once, so possibly ahead of them.
  int answered = 0;
  std::uint64_t last_accepted = 0;
  std::set<std::uint64_t> versions;
  while (stream->Read(&response)) {
    if (response.request_id() == 1000 + kBad) {
      EXPECT_EQ(response.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_NE(response.message().find("write.ops[0].key"), std::string::npos)
          << response.message();
      EXPECT_FALSE(response.has_result());
    } else {
      EXPECT_GT(response.request_id(), last_accepted);
      last_accepted = response.request_id();
      EXPECT_EQ(response.code(), 0) << response.message();
      versions.insert(response.result().version());
      EXPECT_EQ(response.result().root().size(), 32u);
    }
    ++answered;
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, kRequests);
  EXPECT_LT(versions.size(), static_cast<std::size_t>(kRequests - 1))
      << "stream writes never coalesced";
  const v1::TreeInfo head = info("s");
  EXPECT_EQ(head.size(), expected.size());
  EXPECT_EQ(head.version(), versions.size());
  EXPECT_EQ(scan_all("s"), expected);
  EXPECT_EQ(head.root(), recomputed_root(expected));
}

TEST_F(ArbordVerkleTest, OverloadAnswersResourceExhaustedAndKeepsEveryAcceptedWrite) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.Overload");
  server_->terminate();
  {
    // Room for two writes or four operations: writes of 1..3 operations hit both limits.
    std::ofstream config(dir_ / "small-queue.toml");
    config << "[batcher]\nmax_queue_writes = 2\nmax_queue_ops = 4\nmax_batch_ops = 1\n"
           << "[transactions]\nmax_ops_per_tx = 4\n";  // must fit the queue
  }
  ASSERT_NO_FATAL_FAILURE(start({"--config", (dir_ / "small-queue.toml").string()}));
  create_tree("q");
  const std::uint64_t seed = rng();
  std::mutex mutex;
  std::map<std::string, std::string> accepted;
  std::vector<std::string> refused;
  int refused_writes = 0;
  std::vector<std::thread> writers;
  for (int w = 0; w < 10; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 local(seed + w);
      auto client = server_->client();
      std::vector<std::string> pool;
      for (int i = 0; i < 12; ++i) {
        std::vector<v1::Op> ops;
        std::vector<std::pair<std::string, std::string>> written;
        for (const std::string& key : distinct_keys(local, 1 + local() % 3, pool)) {
          pool.push_back(key);
          written.emplace_back(key, random_value(local));
          ops.push_back(put(key, written.back().second));
        }
        v1::WriteResponse response;
        grpc::Status status = write("q", ops, response, false, std::nullopt, "", client.get());
        std::lock_guard lock(mutex);
        if (status.ok()) {
          for (auto& [key, value] : written) accepted[key] = value;
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
              << status.error_message();
          EXPECT_NE(status.error_message().find("overloaded"), std::string::npos);
          for (auto& [key, value] : written) refused.push_back(key);
          ++refused_writes;
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_GT(refused.size(), 0u) << "a 2-write queue under 10 writers never overflowed";
  EXPECT_GT(accepted.size(), 0u);
  // A single write larger than the queue could ever hold is malformed: use a transaction.
  {
    std::vector<v1::Op> ops;
    for (const std::string& key : distinct_keys(rng, 5)) ops.push_back(put(key, key));
    v1::WriteResponse response;
    const grpc::Status status = write("q", ops, response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find("transaction"), std::string::npos);
  }
  // Every acknowledged write is there, no refused one is, and the root is that of the accepted.
  const std::map<std::string, std::string> stored = scan_all("q");
  EXPECT_EQ(stored, accepted);
  for (const std::string& key : refused) EXPECT_EQ(stored.count(key), 0u) << "refused but applied";
  const v1::TreeInfo head = info("q");
  EXPECT_EQ(head.size(), accepted.size());
  EXPECT_EQ(head.root(), recomputed_root(accepted));
  auto metrics = testing::http_get(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(
      metrics->body.find(absl::StrCat(
          "arbor_overload_refusals_total{scheme=\"verkle\",tree=\"q\"} ", refused_writes, "\n")),
      std::string::npos)
      << metrics->body;
}

// Every malformed request gets INVALID_ARGUMENT with a message naming the field; the tree is
// unchanged afterwards and the server keeps serving.
TEST_F(ArbordVerkleTest, MalformedRequestsAreRefusedNamingTheFieldAndChangeNothing) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.Malformed");
  create_tree("t");
  const std::vector<std::string> keys = distinct_keys(rng, 4);
  v1::WriteResponse written;
  ASSERT_TRUE(write("t", {put(keys[0], random_value(rng))}, written).ok());
  const std::string root = written.root();

  struct Case {
    std::string what;
    std::function<grpc::Status()> call;
    std::string message_has;
  };
  auto write_ops = [&](std::vector<v1::Op> ops) {
    return [this, ops] {
      v1::WriteResponse response;
      return write("t", ops, response);
    };
  };
  auto with_key = [&](std::size_t bytes) {
    v1::Op op = put(keys[1], keys[1]);
    op.set_key(std::string(bytes, '\x07'));
    return op;
  };
  auto with_value = [&](std::size_t bytes) {
    v1::Op op = put(keys[1], keys[1]);
    op.set_value(std::string(bytes, '\x07'));
    return op;
  };
  v1::Op delete_with_value = del(keys[0]);
  delete_with_value.set_value(keys[0]);
  v1::Op odd_kind = put(keys[1], keys[1]);
  odd_kind.set_kind(static_cast<v1::OpKind>(7));
  v1::Op no_kind = put(keys[1], keys[1]);
  no_kind.set_kind(v1::OP_KIND_UNSPECIFIED);
  const v1::Op good = put(keys[2], keys[2]);
  auto get_many = [&](std::size_t count) {
    return [this, count, key = keys[0]] {
      v1::GetManyRequest request;
      request.set_tree("t");
      for (std::size_t i = 0; i < count; ++i) request.add_keys(key);
      v1::GetManyResponse response;
      return call(
          [&](auto& stub, auto* context) { return stub.GetMany(context, request, &response); });
    };
  };
  std::vector<Case> cases = {
      {"key of 0 bytes", write_ops({with_key(0)}), "ops[0].key: 0 bytes"},
      {"key of 31 bytes", write_ops({good, with_key(31)}), "ops[1].key: 31 bytes"},
      {"key of 33 bytes", write_ops({good, good, with_key(33)}), "ops[2].key: 33 bytes"},
      {"value of 31 bytes", write_ops({good, good, with_value(31)}), "ops[2].value: 31 bytes"},
      {"value of 33 bytes", write_ops({with_value(33)}), "ops[0].value: 33 bytes"},
      {"put without a value", write_ops({with_value(0)}), "ops[0].value: 0 bytes"},
      {"delete with a value", write_ops({good, delete_with_value}), "ops[1].value"},
      {"unknown op kind", write_ops({odd_kind}), "ops[0].kind"},
      {"no op kind", write_ops({good, no_kind}), "ops[1].kind"},
      {"verkle with max_depth 8",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("deep");
         request.set_scheme("verkle");
         request.set_max_depth(8);
         v1::TreeInfo response;
         return call([&](auto& stub, auto* context) {
           return stub.CreateTree(context, request, &response);
         });
       },
       "max_depth"},
      {"GetMany without keys", get_many(0), "keys"},
      {"GetMany with 65537 keys", get_many(65537), "keys: 65537 keys"},
      {"GetMany key of 33 bytes",
       [&] {
         v1::GetManyRequest request;
         request.set_tree("t");
         request.add_keys(keys[0]);
         request.add_keys(keys[1] + "x");
         v1::GetManyResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.GetMany(context, request, &response); });
       },
       "keys[1]: 33 bytes"},
      {"Get key of 31 bytes",
       [&] {
         v1::GetResponse response;
         return get("t", keys[0].substr(1), response, true);
       },
       "key: 31 bytes"},
      {"Scan with a bad after",
       [&] {
         v1::ScanRequest request;
         request.set_tree("t");
         request.set_after(keys[0].substr(0, 20));
         v1::ScanResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.Scan(context, request, &response); });
       },
       "after: 20 bytes"},
      {"Scan limit too high",
       [&] {
         v1::ScanRequest request;
         request.set_tree("t");
         request.set_limit(10001);
         v1::ScanResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.Scan(context, request, &response); });
       },
       "limit"},
      {"Prove encoding xml",
       [&] {
         v1::ProveRequest request;
         request.set_tree("t");
         request.add_keys(keys[0]);
         request.set_encoding("xml");
         v1::ProveResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.Prove(context, request, &response); });
       },
       "encoding"},
      {"Prove key of 31 bytes",
       [&] {
         v1::ProveRequest request;
         request.set_tree("t");
         request.add_keys(keys[0]);
         request.add_keys(keys[1].substr(0, 31));
         v1::ProveResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.Prove(context, request, &response); });
       },
       "keys[1]: 31 bytes"},
      {"Prove no keys",
       [&] {
         v1::ProveRequest request;
         request.set_tree("t");
         v1::ProveResponse response;
         return call(
             [&](auto& stub, auto* context) { return stub.Prove(context, request, &response); });
       },
       "keys"},
      {"Transaction stream op key of 33 bytes",
       [&] {
         grpc::ClientContext context;
         v1::WriteResponse response;
         auto stream = client_->stub().Transaction(&context, &response);
         v1::TransactionRequest only;
         only.set_tree("t");
         *only.add_ops() = good;
         *only.add_ops() = with_key(33);
         only.set_commit(true);
         (void)stream->Write(only);
         stream->WritesDone();
         return stream->Finish();
       },
       "messages[0].ops[1].key: 33 bytes"},
  };
  for (const Case& c : cases) {
    const grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.message_has), std::string::npos)
        << c.what << ": " << status.error_message();
  }
  const v1::TreeInfo head = info("t");
  EXPECT_EQ(head.version(), 1u);
  EXPECT_EQ(head.root(), root);
  EXPECT_EQ(head.size(), 1u);
  v1::ListTreesResponse list;
  ASSERT_TRUE(call([&](auto& stub, auto* context) {
                return stub.ListTrees(context, v1::ListTreesRequest(), &list);
              }).ok());
  EXPECT_EQ(list.trees_size(), 1) << "the refused CreateTree made no tree";
  EXPECT_EQ(*testing::health_check(*client_), "SERVING");
}

TEST_F(ArbordVerkleTest, RestartKeepsEveryVersionValueAndRoot) {
  auto rng = testing::seeded_rng("ArbordVerkleTest.Restart");
  create_tree("r");
  std::vector<std::string> pool;
  std::vector<std::map<std::string, std::string>> at_version(1);
  std::vector<std::string> roots = {kEmptyRoot};
  for (int block = 1; block <= 5; ++block) {
    std::map<std::string, std::string> contents = at_version.back();
    std::vector<v1::Op> ops;
    for (const std::string& key : distinct_keys(rng, 4, pool)) {
      pool.push_back(key);
      contents[key] = random_value(rng);
      ops.push_back(put(key, contents[key]));
    }
    if (block == 4) {
      const std::string gone = contents.begin()->first;
      contents.erase(gone);
      ops.push_back(del(gone));
    }
    v1::WriteResponse written;
    ASSERT_TRUE(write("r", ops, written, false, std::nullopt, absl::StrCat("b", block)).ok());
    at_version.push_back(contents);
    roots.push_back(written.root());
  }
  EXPECT_EQ(server_->terminate(), 0) << server_->log();
  EXPECT_NE(server_->log().find("the store is closed"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(start());
  const v1::TreeInfo head = info("r");
  EXPECT_EQ(head.scheme(), "verkle");
  EXPECT_EQ(head.version(), 5u);
  EXPECT_EQ(head.root(), roots[5]);
  EXPECT_EQ(head.size(), at_version[5].size());
  EXPECT_EQ(head.label(), "b5");
  for (std::uint64_t version = 0; version <= 5; ++version) {
    const v1::TreeInfo then = info("r", version);
    EXPECT_EQ(then.root(), roots[version]) << version;
    EXPECT_EQ(then.size(), at_version[version].size()) << version;
    EXPECT_EQ(scan_all("r", version), at_version[version]) << version;
  }
  // Proofs and writes go on as before the restart.
  v1::GetResponse got;
  const std::string key = at_version[5].begin()->first;
  ASSERT_TRUE(get("r", key, got, true).ok());
  EXPECT_EQ(got.value(), at_version[5].begin()->second);
  expect_witness_holds(got.proof(), roots[5], "after restart");
  v1::WriteResponse written;
  ASSERT_TRUE(write("r", {put(key, std::string(32, '\x01'))}, written, true).ok());
  EXPECT_EQ(written.version(), 6u);
  expect_witness_holds(written.proof(), written.root(), "first write after restart");
}

}  // namespace
}  // namespace arbor
