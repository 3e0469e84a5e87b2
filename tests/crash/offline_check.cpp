#include "tests/crash/offline_check.hpp"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/tree/schemes.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::crash {

absl::StatusOr<Entries> stored_values(const storage::TreeView& view) {
  Entries stored;
  absl::Status scanned =
      view.scan(storage::Space::kValues, "", [&](std::string_view key, std::string_view value) {
        stored.emplace(std::string(key), std::string(value));
        return true;
      });
  if (!scanned.ok()) return scanned;
  return stored;
}

absl::StatusOr<std::string> recomputed_root(std::string_view scheme_name, const Entries& entries,
                                            host::ComputeBackend& backend) {
  const tree::Scheme* scheme = tree::find_scheme(scheme_name);
  if (scheme == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("scheme ", std::string(scheme_name)));
  testing::TempDir dir("recompute");
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::open(dir / "db");
  if (!store.ok()) return store.status();
  absl::StatusOr<std::unique_ptr<tree::Tree>> fresh =
      scheme->create(**store, "t", tree::CreateOptions(), backend, tree::OpenOptions());
  if (!fresh.ok()) return fresh.status();
  if (entries.empty()) {
    absl::StatusOr<storage::TreeView> empty = (*store)->view("t");
    if (!empty.ok()) return empty.status();
    return empty->version().root;
  }
  std::vector<tree::Op> ops;
  ops.reserve(entries.size());
  for (const auto& [key, value] : entries) ops.push_back(tree::Op::put(key, value));
  absl::StatusOr<tree::ApplyResult> applied = (*fresh)->apply(ops, tree::ApplyOptions());
  if (!applied.ok()) return applied.status();
  return applied->version.root;
}

absl::StatusOr<StoredHead> check_stored_head(storage::Store& store, const std::string& tree,
                                             host::ComputeBackend& backend) {
  absl::StatusOr<storage::TreeView> view = store.view(tree);
  if (!view.ok()) return view.status();
  const tree::Scheme* scheme = tree::find_scheme(view->tree().scheme);
  if (scheme == nullptr) return absl::DataLossError(absl::StrCat(tree, ": unknown scheme"));
  // Opening checks that the head's root node resolves.
  absl::StatusOr<std::unique_ptr<tree::Tree>> opened =
      scheme->open(store, tree, backend, tree::OpenOptions());
  if (!opened.ok()) return opened.status();
  StoredHead head;
  head.version = view->version().version;
  absl::StatusOr<Entries> values = stored_values(*view);
  if (!values.ok()) return values.status();
  head.values = *std::move(values);
  if (view->version().entry_count != head.values.size()) {
    return absl::DataLossError(absl::StrCat(tree, ": the head counts ", view->version().entry_count,
                                            " keys, the store holds ", head.values.size()));
  }
  absl::StatusOr<std::string> root = recomputed_root(scheme->name, head.values, backend);
  if (!root.ok()) return root.status();
  if (*root != view->version().root) {
    return absl::DataLossError(
        absl::StrCat(tree, ": head root 0x", absl::BytesToHexString(view->version().root),
                     " but its values give 0x", absl::BytesToHexString(*root)));
  }
  return head;
}

}  // namespace arbor::crash
