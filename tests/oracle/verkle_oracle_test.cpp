// Differential tests of the Verkle tree and its math against verkle-cryptography-wasm (rust-verkle
// compiled to WebAssembly) and @ethereumjs/verkle, through tests/oracles/verkle.mjs, on fresh
// random inputs: roots after every batch of random insert/update sequences, and commitToScalars,
// updateCommitment, hashCommitment and getTreeKey, our outputs fed to theirs and theirs decoded
// by us.
//
// @ethereumjs/verkle 10.0.0 builds a wrong tree once two stems share two or more leading bytes
// (verkle.mjs explains; it fails rust-verkle's own vectors then). verkle.mjs therefore also runs
// "ref", a small tree on the same wasm crypto with go-verkle's shape, and says per batch whether
// such a split has happened: every root is compared with ref, and with ethereumjs up to that
// point. A workload without such splits compares with ethereumjs throughout.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using json = nlohmann::json;

const std::filesystem::path kOracles = ARBOR_ORACLES_DIR;

std::string hex(std::span<const std::uint8_t> bytes) {
  return absl::BytesToHexString(std::string(as_view(bytes)));
}
std::vector<std::uint8_t> unhex(const std::string& text) {
  const std::string bytes = absl::HexStringToBytes(text);
  return {bytes.begin(), bytes.end()};
}

json run_oracle(const std::string& mode, const json& request, const std::filesystem::path& dir) {
  if (!std::filesystem::exists(kOracles / "node_modules" / "@ethereumjs" / "verkle")) {
    ADD_FAILURE() << "the oracles are not installed: run `npm ci` in " << kOracles.string();
    return json();
  }
  const auto path = dir / (mode + "-request.json");
  std::ofstream(path) << request.dump();
  const auto result = testing::run_command("cd '" + kOracles.string() + "' && node verkle.mjs " +
                                           mode + " '" + path.string() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.err.substr(0, 2000);
  json out = json::parse(result.out, nullptr, false);
  EXPECT_FALSE(out.is_discarded()) << result.out.substr(0, 500) << "\n" << result.err;
  return out;
}

Key32 random_bytes(std::mt19937_64& rng) {
  Key32 out;
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

Fr random_scalar(std::mt19937_64& rng) {
  std::uint8_t le[32];
  for (auto& b : le) b = static_cast<std::uint8_t>(rng());
  switch (rng() % 8) {
    case 0:
      return Fr::zero();
    case 1:
      return Fr::one();
    case 2:
      return neg(Fr::one());  // r - 1
    default:
      return from_bytes_le_mod_order<BandersnatchFrParams>(le);
  }
}

std::string scalar_hex(const Fr& s) {
  std::array<std::uint8_t, 32> le;
  write_bytes_le(s, le.data());
  return hex(le);
}

// verkle-cryptography-wasm's uncompressed form: x LE || y LE.
Point point_from_wasm(const std::string& text) {
  const auto bytes = unhex(text);
  EXPECT_EQ(bytes.size(), 64u);
  AffinePoint a;
  EXPECT_TRUE(from_bytes_le(bytes.data(), a.x));
  EXPECT_TRUE(from_bytes_le(bytes.data() + 32, a.y));
  const Point p = from_affine(a);
  EXPECT_TRUE(is_on_curve(p)) << text;
  return p;
}

class VerkleOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.sync = storage::SyncMode::kNone;
    auto store = storage::Store::open(dir_.path() / "db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  struct Compared {
    int with_ethereumjs = 0;  // batches also compared with @ethereumjs/verkle
    bool deep_split = false;  // the workload split two stems sharing two or more leading bytes
  };
  // Applies `batches` to a fresh tree and to the oracles, comparing the roots after each.
  Compared compare_roots(const std::string& name,
                         const std::vector<std::vector<VerkleOp>>& batches) {
    auto tree = VerkleTree::create(*store_, name, {}, *backend_);
    EXPECT_TRUE(tree.ok()) << tree.status();
    if (!tree.ok()) return {};
    json request{{"batches", json::array()}};
    std::vector<std::string> roots, hashes;
    for (const auto& batch : batches) {
      json ops = json::array();
      for (const VerkleOp& op : batch) {
        ops.push_back({{"op", "put"}, {"key", hex(op.key)}, {"value", hex(op.value)}});
      }
      request["batches"].push_back(ops);
      auto applied = (*tree)->apply(batch);
      EXPECT_TRUE(applied.ok()) << applied.status();
      if (!applied.ok()) return {};
      roots.push_back(hex(applied->root));
      hashes.push_back(hex(*(*tree)->root_hash()));
    }
    const json response = run_oracle("tree", request, dir_.path());
    if (!response.is_object()) return {};
    EXPECT_EQ(response["ref_roots"].size(), batches.size());
    EXPECT_EQ(response["roots"].size(), batches.size());
    Compared compared;
    for (std::size_t b = 0; b < batches.size() && b < response["ref_roots"].size(); ++b) {
      EXPECT_EQ(roots[b], response["ref_roots"][b]) << name << " batch " << b;
      EXPECT_EQ(hashes[b], response["ref_root_hashes_le"][b]) << name << " batch " << b;
      if (!response["deep_split"][b].get<bool>()) {
        EXPECT_EQ(roots[b], response["roots"][b]) << name << " batch " << b << " (ethereumjs)";
        EXPECT_EQ(hashes[b], response["root_hashes_le"][b]) << name << " batch " << b;
        ++compared.with_ethereumjs;
      } else {
        compared.deep_split = true;
      }
    }
    return compared;
  }

  testing::TempDir dir_{"verkle-oracle"};
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
  std::unique_ptr<storage::Store> store_;
};

// Random batch sizes over a growing key set: about a third updates of present keys (some to the
// zero value), the rest new keys, several per stem.
std::vector<std::vector<VerkleOp>> random_batches(std::mt19937_64& rng,
                                                  const std::vector<Stem>& stems, int total) {
  std::vector<std::vector<VerkleOp>> batches;
  std::vector<Key32> present;
  for (int done = 0; done < total;) {
    const int size = std::min<int>(total - done, 1 + static_cast<int>(rng() % 400));
    std::vector<VerkleOp> batch;
    for (int i = 0; i < size; ++i) {
      Key32 key;
      if (!present.empty() && rng() % 3 == 0) {
        key = present[rng() % present.size()];
      } else {
        const Stem& stem = stems[rng() % stems.size()];
        std::copy(stem.begin(), stem.end(), key.begin());
        key[31] = static_cast<std::uint8_t>(rng() % 4 == 0 ? 128 + rng() % 128 : rng() % 256);
        present.push_back(key);
      }
      const Value32 value = rng() % 10 == 0 ? Value32{} : random_bytes(rng);
      batch.push_back(VerkleOp::put(key, value));
    }
    done += size;
    batches.push_back(std::move(batch));
  }
  return batches;
}

TEST_F(VerkleOracleTest, RootsMatchWithoutDeepSplits) {
  std::mt19937_64 rng = testing::seeded_rng("verkle oracle flat");
  // 1 500 stems, no two sharing their first two bytes: every split is one level deep.
  std::set<std::uint16_t> prefixes;
  std::vector<Stem> stems;
  while (stems.size() < 1500) {
    Stem stem;
    for (auto& b : stem) b = static_cast<std::uint8_t>(rng());
    if (!prefixes.insert(static_cast<std::uint16_t>(stem[0] << 8 | stem[1])).second) continue;
    stems.push_back(stem);
  }
  const auto batches = random_batches(rng, stems, 4000);
  const Compared compared = compare_roots("flat", batches);
  EXPECT_EQ(compared.with_ethereumjs, static_cast<int>(batches.size()));
}

TEST_F(VerkleOracleTest, RootsMatchWithLongSharedPrefixes) {
  std::mt19937_64 rng = testing::seeded_rng("verkle oracle deep");
  // Stems in families sharing 1..30 leading bytes, plus random ones.
  std::vector<Stem> stems;
  while (stems.size() < 800) {
    Stem stem;
    for (auto& b : stem) b = static_cast<std::uint8_t>(rng());
    if (!stems.empty() && rng() % 4 != 0) {
      const Stem& base = stems[rng() % stems.size()];
      const std::size_t shared = 1 + rng() % 30;
      std::copy_n(base.begin(), shared, stem.begin());
    }
    stems.push_back(stem);
  }
  const auto batches = random_batches(rng, stems, 3000);
  // ethereumjs goes wrong at the first deep split (usually in the first batch); ref does not.
  EXPECT_TRUE(compare_roots("deep", batches).deep_split);
}

TEST_F(VerkleOracleTest, CommitmentsHashesAndTreeKeysBothWays) {
  std::mt19937_64 rng = testing::seeded_rng("verkle oracle crypto");
  const PedersenTables& tables = default_pedersen_tables();
  json request{{"commit", json::array()},
               {"update", json::array()},
               {"hash", json::array()},
               {"tree_key", json::array()}};
  std::vector<Point> commits, updates, hashed;
  std::vector<Key32> keys;
  for (int i = 0; i < 40; ++i) {
    // Dense, sparse, short and single-term vectors.
    const std::size_t length = i % 4 == 0 ? 256 : 1 + rng() % 256;
    std::vector<Fr> scalars(length, Fr::zero());
    json list = json::array();
    for (std::size_t k = 0; k < length; ++k) {
      if (i % 4 != 1 || rng() % 16 == 0) scalars[k] = random_scalar(rng);
      list.push_back(scalar_hex(scalars[k]));
    }
    request["commit"].push_back(list);
    commits.push_back(*tables.commit(scalars));
  }
  for (int i = 0; i < 40; ++i) {
    const Point base = commits[i];
    const std::uint32_t index = static_cast<std::uint32_t>(rng() % 256);
    const Fr old_value = random_scalar(rng), new_value = random_scalar(rng);
    // Our compressed commitment as their input, half the time; else their own 64-byte form.
    request["update"].push_back({{"commitment", hex(serialize(base))},
                                 {"index", index},
                                 {"old", scalar_hex(old_value)},
                                 {"new", scalar_hex(new_value)}});
    updates.push_back(tables.update(base, index, sub(new_value, old_value)));
    const Point random_point = tables.mul(rng() % 256, random_scalar(rng));
    request["hash"].push_back(hex(serialize(random_point)));
    hashed.push_back(random_point);
  }
  for (int i = 0; i < 40; ++i) {
    Key32 address = random_bytes(rng);
    if (i % 2) std::fill_n(address.begin(), 12, 0);  // a 20-byte address
    std::array<std::uint8_t, 32> index{};
    const int bytes = static_cast<int>(rng() % 32);  // below 2^248: also below the scalar order
    for (int b = 0; b < bytes; ++b) index[b] = static_cast<std::uint8_t>(rng());
    const auto sub_index = static_cast<std::uint8_t>(rng());
    request["tree_key"].push_back(
        {{"address", hex(address)}, {"tree_index", hex(index)}, {"sub_index", sub_index}});
    keys.push_back(get_tree_key(address, index, sub_index));
  }
  const json response = run_oracle("crypto", request, dir_.path());
  ASSERT_TRUE(response.is_object());
  ASSERT_EQ(response["commit"].size(), commits.size());
  for (std::size_t i = 0; i < commits.size(); ++i) {
    const json& theirs = response["commit"][i];
    EXPECT_EQ(theirs["compressed"], hex(serialize(commits[i]))) << "commit " << i;
    EXPECT_EQ(theirs["hash_le"], hex(map_to_scalar_field_bytes(commits[i]))) << "commit " << i;
    // Their uncompressed point, decoded here, is the same group element.
    EXPECT_TRUE(point_from_wasm(theirs["uncompressed"]) == commits[i]) << "commit " << i;
  }
  ASSERT_EQ(response["update"].size(), updates.size());
  for (std::size_t i = 0; i < updates.size(); ++i) {
    EXPECT_EQ(response["update"][i]["compressed"], hex(serialize(updates[i]))) << "update " << i;
    EXPECT_TRUE(point_from_wasm(response["update"][i]["uncompressed"]) == updates[i]);
  }
  ASSERT_EQ(response["hash"].size(), hashed.size());
  for (std::size_t i = 0; i < hashed.size(); ++i) {
    EXPECT_EQ(response["hash"][i], hex(map_to_scalar_field_bytes(hashed[i]))) << "hash " << i;
  }
  ASSERT_EQ(response["tree_key"].size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(response["tree_key"][i]["key"], hex(keys[i])) << "tree key " << i;
  }
}

}  // namespace
}  // namespace arbor::verkle
