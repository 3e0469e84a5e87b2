#include "host/tree/migrate.hpp"

#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "host/tree/schemes.hpp"
#include "storage/store.hpp"

namespace arbor::tree {
namespace {

using storage::Space;

std::string in_quotes(std::string_view name) { return absl::StrCat("'", std::string(name), "'"); }

// Applies one source version to the new tree; it must come out as the source had it.
absl::Status replay(Tree& tree, const storage::VersionRecord& source, std::vector<Op> ops) {
  ApplyOptions options;
  options.label = source.label;
  options.expected_version = source.version - 1;
  options.idempotent_writes = source.idempotent_writes;
  options.expected_root = source.root;
  options.committed_unix_ms = source.committed_unix_ms;
  absl::StatusOr<ApplyResult> applied = tree.apply(ops, options);
  if (!applied.ok()) {
    return absl::Status(applied.status().code(),
                        absl::StrCat("migrating tree ", in_quotes(tree.name()), " version ",
                                     source.version, ": ", applied.status().message()));
  }
  if (applied->version.version != source.version ||
      applied->version.entry_count != source.entry_count) {
    return absl::DataLossError(absl::StrCat("migrating tree ", in_quotes(tree.name()), ": version ",
                                            source.version, " with ", source.entry_count,
                                            " keys came out as version ", applied->version.version,
                                            " with ", applied->version.entry_count));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> migrate_tree(const storage::Store& source, storage::Store& target,
                                           const storage::TreeInfo& info,
                                           host::ComputeBackend& backend,
                                           const MigrateOptions& options) {
  const Scheme* scheme = find_scheme(info.scheme);
  if (scheme == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("tree ", in_quotes(info.name), " has scheme ",
                                                      in_quotes(info.scheme),
                                                      ", which this build does not know"));
  }
  absl::StatusOr<CreateOptions> create = scheme->create_options_of(info);
  if (!create.ok()) return create.status();
  absl::StatusOr<std::vector<storage::VersionRecord>> versions = source.versions(info.name);
  if (!versions.ok()) return versions.status();
  if (versions->empty() || versions->front().version != info.oldest_version ||
      versions->back().version != info.head_version) {
    return absl::DataLossError(absl::StrCat("tree ", in_quotes(info.name),
                                            ": its version records do not span versions ",
                                            info.oldest_version, "..", info.head_version));
  }
  const storage::VersionRecord& oldest = versions->front();
  create->base_version = oldest.version > 0 ? oldest.version - 1 : 0;
  create->created_unix_ms = info.created_unix_ms;
  absl::StatusOr<std::unique_ptr<Tree>> tree =
      scheme->create(target, info.name, *create, backend, OpenOptions{});
  if (!tree.ok()) return tree.status();

  std::size_t next = 1;
  if (oldest.version > 0) {
    // The whole state at the oldest retained version becomes that version.
    absl::StatusOr<storage::TreeView> view = source.view(info.name, oldest.version);
    if (!view.ok()) return view.status();
    std::vector<Op> state;
    state.reserve(oldest.entry_count);
    absl::Status scanned =
        view->scan(Space::kValues, "", [&](std::string_view key, std::string_view value) {
          state.push_back(Op::put(std::string(key), std::string(value)));
          return true;
        });
    if (!scanned.ok()) return scanned;
    if (absl::Status replayed = replay(**tree, oldest, std::move(state)); !replayed.ok()) {
      return replayed;
    }
    absl::StatusOr<storage::PruneResult> pruned = target.prune(info.name, oldest.version);
    if (!pruned.ok()) return pruned.status();
  } else {
    absl::StatusOr<storage::TreeView> empty = target.view(info.name, 0);
    if (!empty.ok()) return empty.status();
    if (empty->version().root != oldest.root) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(info.name),
                                              ": its empty root differs from this build's"));
    }
  }
  if (options.progress) options.progress(info.name, 1, versions->size());

  for (; next < versions->size(); ++next) {
    const storage::VersionRecord& record = (*versions)[next];
    absl::StatusOr<std::vector<std::string>> keys =
        source.written_keys(info.name, record.version, Space::kValues);
    if (!keys.ok()) return keys.status();
    absl::StatusOr<storage::TreeView> view = source.view(info.name, record.version);
    if (!view.ok()) return view.status();
    absl::StatusOr<std::vector<std::optional<std::string>>> values =
        view->get_many(Space::kValues, *keys);
    if (!values.ok()) return values.status();
    std::vector<Op> ops;
    ops.reserve(keys->size());
    for (std::size_t i = 0; i < keys->size(); ++i) {
      ops.push_back((*values)[i] ? Op::put(std::move((*keys)[i]), std::move(*(*values)[i]))
                                 : Op::erase(std::move((*keys)[i])));
    }
    if (absl::Status replayed = replay(**tree, record, std::move(ops)); !replayed.ok()) {
      return replayed;
    }
    if (options.progress) options.progress(info.name, next + 1, versions->size());
  }
  return versions->size();
}

}  // namespace

absl::StatusOr<MigrateReport> migrate_store(const std::filesystem::path& from,
                                            const std::filesystem::path& to_given,
                                            host::ComputeBackend& backend,
                                            const MigrateOptions& options) {
  // "new/" and "new" are one directory; the staging one goes beside it, not inside.
  std::filesystem::path to = to_given.lexically_normal();
  if (to.filename().empty()) to = to.parent_path();
  std::error_code error;
  if (std::filesystem::exists(to, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat(to.string(), " already exists; migrate into a new directory"));
  }
  storage::StoreOptions source_options = options.store;
  source_options.migration_source = true;
  absl::StatusOr<std::unique_ptr<storage::Store>> source =
      storage::Store::open_read_only(from, source_options);
  if (!source.ok()) return source.status();
  absl::StatusOr<std::vector<storage::UnreplicatedEntry>> unreplicated =
      (*source)->unreplicated_entries();
  if (!unreplicated.ok()) return unreplicated.status();
  if (!unreplicated->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        from.string(), " holds ", unreplicated->size(),
        " changes that the replication log does not have yet; start the previous build's arbord "
        "on it until they reach the log, then migrate"));
  }
  absl::StatusOr<std::vector<storage::TreeInfo>> trees = (*source)->list_trees();
  if (!trees.ok()) return trees.status();
  absl::StatusOr<std::uint64_t> log_position = (*source)->log_position();
  if (!log_position.ok()) return log_position.status();

  std::filesystem::path staging = to;
  staging += ".migrating";
  std::filesystem::remove_all(staging, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot remove the earlier attempt ",
                                                      staging.string(), ": ", error.message()));
  }
  storage::StoreOptions target_options = options.store;
  target_options.create_if_missing = true;
  target_options.migration_source = false;
  MigrateReport report;
  {
    absl::StatusOr<std::unique_ptr<storage::Store>> target =
        storage::Store::open(staging, target_options);
    if (!target.ok()) return target.status();
    for (const storage::TreeInfo& info : *trees) {
      absl::StatusOr<std::uint64_t> versions =
          migrate_tree(**source, **target, info, backend, options);
      if (!versions.ok()) return versions.status();
      ++report.trees;
      report.versions += *versions;
      absl::StatusOr<storage::TreeView> head = (*target)->view(info.name);
      if (!head.ok()) return head.status();
      report.keys += head->version().entry_count;
    }
    if (*log_position > 0) {
      if (absl::Status moved = (*target)->record_log_position(*log_position); !moved.ok()) {
        return moved;
      }
    }
  }
  // Reopened as arbord would open it: every tree's head verified.
  target_options.verify_heads_on_open = true;
  {
    absl::StatusOr<std::unique_ptr<storage::Store>> reopened =
        storage::Store::open(staging, target_options);
    if (!reopened.ok()) {
      return absl::Status(
          reopened.status().code(),
          absl::StrCat("the migrated store does not reopen: ", reopened.status().message()));
    }
  }
  std::filesystem::rename(staging, to, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("moving ", staging.string(), " to ", to.string(), ": ", error.message()));
  }
  return report;
}

}  // namespace arbor::tree
