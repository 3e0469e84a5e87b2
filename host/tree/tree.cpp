#include "host/tree/tree.hpp"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbor::tree {
namespace {

std::string in_quotes(std::string_view text) { return absl::StrCat("\"", std::string(text), "\""); }

}  // namespace

absl::StatusOr<storage::VersionRecord> commit_version(const ApplyOptions& options,
                                                      storage::Store& store, std::string_view tree,
                                                      std::uint64_t version,
                                                      storage::CommitRequest& request) {
  const std::string& root = request.root;
  if (options.expected_root && *options.expected_root != root) {
    return absl::DataLossError(
        absl::StrCat("tree ", in_quotes(tree), " version ", version, ": the root came out as 0x",
                     absl::BytesToHexString(root), ", not the expected 0x",
                     absl::BytesToHexString(*options.expected_root), "; nothing was committed"));
  }
  request.log_position = options.log_position;
  request.committed_unix_ms = options.committed_unix_ms;
  if (!options.commit_gate) return store.commit(tree, request);
  return options.commit_gate(version, root, [&](const LogMark& mark) {
    request.log_position = mark.log_position;
    request.unreplicated = mark.unreplicated;
    request.keep_from = mark.keep_from;
    return store.commit(tree, request);
  });
}

absl::Status Tree::check_ops(std::span<const Op> ops, std::string_view field) const {
  // Field names are built only for the op that fails: this runs on every write.
  auto at = [&](std::size_t i, std::string_view part) {
    return absl::StrCat(std::string(field), "[", i, "].", std::string(part));
  };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!check_key(ops[i].key, "key").ok()) return check_key(ops[i].key, at(i, "key"));
    if (ops[i].kind == Op::Kind::kPut) {
      if (!check_value(ops[i].value, "value").ok()) {
        return check_value(ops[i].value, at(i, "value"));
      }
    } else if (!ops[i].value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          at(i, "value"), ": a delete carries no value (", ops[i].value.size(), " bytes)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> Tree::resolve(const VersionSelector& at) const {
  if (at.version) return *at.version;
  if (at.label) {
    absl::StatusOr<std::vector<storage::VersionRecord>> all = store_.versions(name_);
    if (!all.ok()) return all.status();
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      if (it->label == *at.label) return it->version;
    }
    return absl::NotFoundError(absl::StrCat(
        "tree ", in_quotes(name_), " has no retained version labelled ", in_quotes(*at.label)));
  }
  absl::StatusOr<storage::TreeInfo> head = store_.tree_info(name_);
  if (!head.ok()) return head.status();
  return head->head_version;
}

absl::StatusOr<Reader> Tree::reader(const VersionSelector& at) const {
  std::optional<std::uint64_t> version;
  if (at.version || at.label) {
    absl::StatusOr<std::uint64_t> resolved = resolve(at);
    if (!resolved.ok()) return resolved.status();
    version = *resolved;
  }
  // The head (no version) is taken by the store together with its snapshot, so a commit between
  // "which version is the head" and "open a view of it" cannot split them.
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return Reader(*this, std::move(*view));
}

absl::StatusOr<storage::TreeInfo> Tree::info() const { return store_.tree_info(name_); }

absl::StatusOr<storage::VersionRecord> Tree::version_record(
    std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return view->version();
}

absl::StatusOr<std::vector<storage::VersionRecord>> Tree::versions() const {
  return store_.versions(name_);
}

absl::StatusOr<storage::TreeInfo> Tree::rollback(std::uint64_t version,
                                                 std::optional<std::uint64_t> log_position) {
  std::lock_guard writer(writer_mutex_);
  absl::StatusOr<storage::TreeInfo> info = store_.rollback(name_, version, log_position);
  if (info.ok()) after_rollback(*info);
  return info;
}

absl::StatusOr<storage::PruneResult> Tree::prune(std::uint64_t version, bool compact,
                                                 std::optional<std::uint64_t> log_position) {
  std::lock_guard writer(writer_mutex_);
  return store_.prune(name_, version, compact, log_position);
}

absl::Status Reader::check_keys(std::span<const std::string> keys, std::string_view field) const {
  if (keys.empty())
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": no keys"));
  if (keys.size() > kMaxKeysPerRead) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": ", keys.size(), " keys, at most ", kMaxKeysPerRead, " per request"));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (absl::Status key = tree_->check_key(keys[i], absl::StrCat(std::string(field), "[", i, "]"));
        !key.ok()) {
      return key;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Reader::get(std::string_view key,
                                                       std::string_view field) const {
  if (absl::Status checked = tree_->check_key(key, field); !checked.ok()) return checked;
  return view_.get(storage::Space::kValues, key);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Reader::get_many(
    std::span<const std::string> keys, std::string_view field) const {
  if (absl::Status checked = check_keys(keys, field); !checked.ok()) return checked;
  return view_.get_many(storage::Space::kValues, keys);
}

absl::StatusOr<Proof> Reader::prove(std::span<const std::string> keys, std::string_view field,
                                    std::string_view encoding) const {
  if (absl::Status checked = check_keys(keys, field); !checked.ok()) return checked;
  if (!encoding.empty() && encoding != "binary" && encoding != "json") {
    return absl::InvalidArgumentError(absl::StrCat("encoding: ", in_quotes(encoding),
                                                   " is not a proof encoding (binary or json)"));
  }
  return tree_->prove_in(view_, keys,
                         encoding == "json" ? ProofEncoding::kJson : ProofEncoding::kBinary);
}

absl::StatusOr<WriteProofs> Reader::prove_written(std::span<const std::string> keys) const {
  return tree_->prove_written_in(view_, keys);
}

absl::StatusOr<ScanPage> Reader::scan(std::string_view after, std::size_t limit) const {
  if (limit == 0 || limit > kMaxScanLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: ", limit, " entries; 1..", kMaxScanLimit, " per page"));
  }
  if (!after.empty()) {
    if (absl::Status checked = tree_->check_key(after, "after"); !checked.ok()) return checked;
  }
  ScanPage page;
  absl::Status scanned = view_.scan(
      storage::Space::kValues, {},
      [&](std::string_view key, std::string_view value) {
        if (page.entries.size() == limit) {
          page.more = true;
          return false;
        }
        page.entries.emplace_back(std::string(key), std::string(value));
        return true;
      },
      after);
  if (!scanned.ok()) return scanned;
  return page;
}

}  // namespace arbor::tree
