#include "tests/crash/soak/soak_checks.hpp"

#include <algorithm>
#include <chrono>
#include <span>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"
#include "tests/crash/offline_check.hpp"

namespace arbor::soak {
namespace {

constexpr std::size_t kPage = 4096;

void prepare(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

absl::Status not_behind(const SoakTree& tree, std::uint64_t head, const char* where) {
  const std::uint64_t acked = tree.newest_acked_version.load();
  if (head >= acked) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(tree.name, ": ", where, " head is version ", head,
                                          " but version ", acked, " was acknowledged"));
}

}  // namespace

absl::StatusOr<std::uint64_t> head_not_behind(rpc::ArborClient& client, const SoakTree& tree) {
  v1::GetTreeRequest request;
  request.set_tree(tree.name);
  v1::TreeInfo info;
  grpc::ClientContext context;
  prepare(context);
  const grpc::Status status = client.stub().GetTree(&context, request, &info);
  if (!status.ok()) return rpc::from_grpc(status);
  if (absl::Status behind = not_behind(tree, info.version(), "after the restart the");
      !behind.ok()) {
    return behind;
  }
  return info.version();
}

absl::StatusOr<std::uint64_t> check_and_settle(rpc::ArborClient& client, SoakTree& tree) {
  const std::vector<std::string> keys = tree.ledger.keys();
  const std::span<const std::string> all(keys);
  for (std::size_t from = 0; from < keys.size(); from += kPage) {
    const std::span<const std::string> page =
        all.subspan(from, std::min(kPage, keys.size() - from));
    v1::GetManyRequest request;
    request.set_tree(tree.name);
    for (const std::string& key : page) request.add_keys(key);
    v1::GetManyResponse got;
    grpc::ClientContext context;
    prepare(context);
    const grpc::Status status = client.stub().GetMany(&context, request, &got);
    if (!status.ok()) return rpc::from_grpc(status);
    if (got.values_size() != static_cast<int>(page.size())) {
      return absl::DataLossError(absl::StrCat(tree.name, ": GetMany answered ", got.values_size(),
                                              " values for ", page.size(), " keys"));
    }
    for (std::size_t i = 0; i < page.size(); ++i) {
      const v1::ValueEntry& entry = got.values(static_cast<int>(i));
      const crash::Value found = entry.found() ? crash::Value(entry.value()) : std::nullopt;
      if (absl::Status allowed = tree.ledger.check(page[i], found); !allowed.ok()) {
        return absl::DataLossError(
            absl::StrCat(tree.name, " after the restart: ", allowed.message()));
      }
      tree.ledger.settle(page[i], found);
    }
  }
  return keys.size();
}

absl::StatusOr<std::uint64_t> check_offline(const std::filesystem::path& data,
                                            const std::vector<SoakTree*>& trees) {
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::open_read_only(data);
  if (!store.ok()) return store.status();
  std::unique_ptr<host::ComputeBackend> backend = host::make_cpu_backend();
  std::uint64_t checked = 0;
  for (SoakTree* tree : trees) {
    absl::StatusOr<crash::StoredHead> head =
        crash::check_stored_head(**store, tree->name, *backend);
    if (!head.ok()) return head.status();
    if (absl::Status behind = not_behind(*tree, head->version, "the stored"); !behind.ok()) {
      return behind;
    }
    for (const std::string& key : tree->ledger.keys()) {
      auto found = head->values.find(key);
      const crash::Value stored =
          found == head->values.end() ? std::nullopt : crash::Value(found->second);
      if (absl::Status allowed = tree->ledger.check(key, stored); !allowed.ok()) {
        return absl::DataLossError(absl::StrCat(tree->name, " in the store: ", allowed.message()));
      }
      ++checked;
    }
  }
  return checked;
}

}  // namespace arbor::soak
