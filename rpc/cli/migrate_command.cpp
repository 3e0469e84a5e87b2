#include "rpc/cli/migrate_command.hpp"

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "host/tree/migrate.hpp"
#include "rpc/cli/cli_support.hpp"

namespace arbor::cli {
namespace {

struct MigrateCli {
  std::string from;
  std::string to;
  std::string backend = "auto";
  bool progress = false;
};

int run_migrate(const MigrateCli& o) {
  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(o.backend);
  if (!choice.ok()) return fail(kExitRejected, choice.status().message());
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) return fail(kExitFailure, backend.status().message());
  tree::MigrateOptions options;
  // The new directory is reopened and verified before it is renamed into place, so nothing
  // needs to wait for fsync on the way.
  options.store.sync = storage::SyncMode::kNone;
  StagedProgress bars(o.progress);
  options.progress = [&](std::string_view tree, std::uint64_t done, std::uint64_t total) {
    bars.update(absl::StrCat("tree ", std::string(tree)), done, total, "versions");
  };
  absl::StatusOr<tree::MigrateReport> report =
      tree::migrate_store(o.from, o.to, **backend, options);
  bars.finish();
  if (!report.ok()) return fail(kExitFailure, report.status().message());
  std::cout << "migrated " << report->trees << " trees (" << report->versions << " versions, "
            << report->keys << " keys at the heads) from " << o.from << " to " << o.to << "\n";
  return kExitOk;
}

}  // namespace

void add_migrate_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<MigrateCli>();
  CLI::App* migrate = app.add_subcommand(
      "migrate",
      "Rewrite a data directory of the previous store format into a new directory of this "
      "build's format, replaying every retained version (FROM is left as it is; stop arbord "
      "first)");
  migrate->add_option("from", o->from, "The old data directory")->required();
  migrate->add_option("to", o->to, "The new data directory (must not exist)")->required();
  migrate->add_option("--backend", o->backend, "auto, cpu or cuda: where the hashing runs")
      ->capture_default_str();
  migrate->add_flag("--progress", o->progress, "A progress bar per tree on stderr");
  migrate->callback([o, &exit_code] { exit_code = run_migrate(*o); });
}

}  // namespace arbor::cli
