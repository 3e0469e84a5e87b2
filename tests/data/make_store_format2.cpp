// Wrote tests/data/store-format2/ (and its expected.json) with the format-2 build, commit 0c43781:
// a data directory of the previous store format for the migration test (tests/unit/migrate_test).
// Kept for the record of what the directory holds; built against a format-3 tree it would write
// format 3, so it is not part of the build.
//
//   g++ -std=c++20 -O1 -I. tests/data/make_store_format2.cpp <the build's arbor_host,
//       arbor_kernels and arbor_storage libraries and their dependencies> && ./a.out DIR
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/escaping.h"
#include "host/backend/compute_backend.hpp"
#include "host/tree/schemes.hpp"
#include "nlohmann/json.hpp"
#include "storage/store.hpp"

namespace {

using arbor::tree::Op;

std::string random_bytes(std::mt19937_64& rng, std::size_t n, bool below_field) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  if (below_field) out[0] = static_cast<char>(static_cast<unsigned char>(out[0]) & 0x1f);
  return out;
}

void check(const absl::Status& status) {
  if (!status.ok()) {
    std::cerr << status << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::unique_ptr<arbor::host::ComputeBackend> backend = arbor::host::make_cpu_backend();
  auto store = arbor::storage::Store::open(argv[1]);
  check(store.status());
  std::mt19937_64 rng(20261204);
  nlohmann::json expected;

  auto write = [&](const std::string& name, std::string_view scheme, std::uint64_t keep,
                   int versions, bool field_keys, auto&& between) {
    arbor::tree::CreateOptions create;
    create.keep_versions = keep;
    auto tree = arbor::tree::find_scheme(scheme)->create(**store, name, create, *backend, {});
    check(tree.status());
    std::vector<std::string> live;
    for (int v = 1; v <= versions; ++v) {
      std::vector<Op> ops;
      for (int i = 0; i < 12; ++i) {
        std::string key = random_bytes(rng, 32, field_keys);
        ops.push_back(Op::put(key, random_bytes(rng, 32, field_keys)));
        live.push_back(key);
      }
      for (int i = 0; i < 3 && live.size() > 20; ++i) {
        ops.push_back(Op::erase(live[rng() % live.size()]));
      }
      if (v % 3 == 0) ops.push_back(Op::put(live.front(), random_bytes(rng, 32, field_keys)));
      arbor::tree::ApplyOptions options;
      options.label = "block-" + std::to_string(100 + v);
      if (v % 4 == 0) options.idempotent_writes = {random_bytes(rng, 32, false)};
      check((*tree)->apply(ops, options).status());
      between(**tree, v);
    }
    auto records = (*store)->versions(name);
    check(records.status());
    nlohmann::json& out = expected[name];
    for (const auto& record : *records) {
      nlohmann::json idempotent = nlohmann::json::array();
      for (const auto& id : record.idempotent_writes)
        idempotent.push_back(absl::BytesToHexString(id));
      out["versions"].push_back({{"version", record.version},
                                 {"root", absl::BytesToHexString(record.root)},
                                 {"label", record.label},
                                 {"committed_unix_ms", record.committed_unix_ms},
                                 {"entry_count", record.entry_count},
                                 {"idempotent_writes", idempotent}});
    }
    auto head = (*store)->view(name);
    check(head.status());
    check(
        head->scan(arbor::storage::Space::kValues, "", [&](std::string_view k, std::string_view v) {
          out["head"][absl::BytesToHexString(std::string(k))] =
              absl::BytesToHexString(std::string(v));
          return true;
        }));
  };
  auto nothing = [](arbor::tree::Tree&, int) {};
  // Retention has moved the oldest version above 0.
  write("accounts", "smt", 4, 10, true, nothing);
  // Every version kept; a rollback in the middle, then an empty write.
  write("history", "smt", 0, 6, true, [&](arbor::tree::Tree& tree, int v) {
    if (v == 4) check(tree.rollback(2).status());
    if (v == 6) check(tree.apply(std::vector<Op>{}, {}).status());
  });
  write("state", "verkle", 0, 3, false, nothing);
  arbor::tree::CreateOptions create;
  check(arbor::tree::find_scheme("smt")->create(**store, "empty", create, *backend, {}).status());
  expected["empty"]["versions"].push_back({{"version", 0}});
  check((*store)->record_log_position(42));
  expected["log_position"] = 42;
  store->reset();
  std::ofstream(std::string(argv[1]) + ".expected.json") << expected.dump(1) << "\n";
  return 0;
}
