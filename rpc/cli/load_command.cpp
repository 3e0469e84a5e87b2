#include "rpc/cli/load_command.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "host/backend/compute_backend.hpp"
#include "host/smt/smt_bulk_load.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/cli/scheme_text.hpp"
#include "storage/store.hpp"

namespace arbor::cli {
namespace {

constexpr std::size_t kBinaryRecordBytes = 64;

struct LoadCli {
  std::string dir;
  std::string tree;
  std::string file;
  std::string format = "lines";
  std::string backend = "auto";
  std::string label;
  int max_depth = smt::kDefaultMaxDepth;
  int page_levels = smt::kDefaultPageLevels;
  std::uint64_t keep_versions = 0;
  bool progress = false;
};

// `put KEY VALUE` lines, as `arbor smt apply` reads them.
int read_lines(const std::string& file, std::vector<smt::SmtLoadEntry>& entries) {
  std::vector<tree::Op> ops;
  if (int read = read_op_file(file, scheme_text(kSmt), ops); read != kExitOk) return read;
  entries.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind != tree::Op::Kind::kPut) {
      return fail(kExitRejected, absl::StrCat(file, ": operation ", i + 1,
                                              " is a delete; a load takes puts only"));
    }
    absl::StatusOr<smt::Fr> key = smt::wire_fr(ops[i].key, "key");
    absl::StatusOr<smt::Fr> value = smt::wire_fr(ops[i].value, "value");
    if (!key.ok() || !value.ok()) {
      return fail(kExitRejected, absl::StrCat(file, ": operation ", i + 1, ": ",
                                              (key.ok() ? value : key).status().message()));
    }
    entries.push_back(smt::load_entry(*key, *value));
    std::string().swap(ops[i].key);
    std::string().swap(ops[i].value);
  }
  return kExitOk;
}

// Records of 64 bytes: the key then the value, each 32 bytes big-endian and below p.
int read_binary(const std::string& file, bool show_progress,
                std::vector<smt::SmtLoadEntry>& entries) {
  std::error_code error;
  const std::uintmax_t bytes = std::filesystem::file_size(file, error);
  if (error) return fail(kExitFailure, absl::StrCat("cannot read ", file, ": ", error.message()));
  if (bytes % kBinaryRecordBytes != 0) {
    return fail(kExitRejected, absl::StrCat(file, " is ", bytes, " bytes, not a whole number of ",
                                            kBinaryRecordBytes, "-byte records (key, value)"));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), std::fclose);
  if (!in)
    return fail(kExitFailure, absl::StrCat("cannot open ", file, ": ", std::strerror(errno)));
  const std::uint64_t records = bytes / kBinaryRecordBytes;
  entries.reserve(records);
  ProgressBar bar("reading", records, show_progress, "keys");
  std::vector<char> chunk(kBinaryRecordBytes * 16384);
  std::uint64_t done = 0;
  while (done < records) {
    const std::size_t want = std::min<std::uint64_t>(records - done, 16384);
    if (std::fread(chunk.data(), kBinaryRecordBytes, want, in.get()) != want) {
      return fail(kExitFailure, absl::StrCat("cannot read ", file, ": ", std::strerror(errno)));
    }
    for (std::size_t i = 0; i < want; ++i) {
      const std::string_view record(chunk.data() + i * kBinaryRecordBytes, kBinaryRecordBytes);
      absl::StatusOr<smt::Fr> key = smt::wire_fr(record.substr(0, 32), "key");
      absl::StatusOr<smt::Fr> value = smt::wire_fr(record.substr(32), "value");
      if (!key.ok() || !value.ok()) {
        return fail(kExitRejected, absl::StrCat(file, ": record ", done + i + 1, ": ",
                                                (key.ok() ? value : key).status().message()));
      }
      entries.push_back(smt::load_entry(*key, *value));
    }
    done += want;
    bar.update(done);
  }
  bar.finish();
  return kExitOk;
}

int run_load(const LoadCli& o) {
  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(o.backend);
  if (!choice.ok()) return fail(kExitRejected, choice.status().message());
  std::vector<smt::SmtLoadEntry> entries;
  int read =
      o.format == "binary" ? read_binary(o.file, o.progress, entries) : read_lines(o.file, entries);
  if (read != kExitOk) return read;

  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) return fail(kExitFailure, backend.status().message());
  storage::StoreOptions store_options;
  // Only the ingestion writes, and it is durable by itself.
  store_options.sync = storage::SyncMode::kNone;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::open(o.dir, store_options);
  if (!store.ok()) return fail(kExitFailure, store.status().message());

  smt::SmtLoadOptions options;
  options.create.max_depth = o.max_depth;
  options.create.page_levels = o.page_levels;
  options.create.keep_versions = o.keep_versions;
  options.label = o.label;
  std::unique_ptr<ProgressBar> bar;
  std::string stage;
  options.progress = [&](std::string_view now, std::uint64_t done, std::uint64_t total) {
    if (stage != now) {
      if (bar) bar->finish();
      stage = std::string(now);
      bar = std::make_unique<ProgressBar>(stage, total, o.progress,
                                          stage == "hashing" ? "levels"
                                          : stage == "pages" ? "rows"
                                                             : "steps");
    }
    bar->update(done);
  };
  const std::size_t count = entries.size();
  absl::StatusOr<smt::SmtLoadReport> report =
      smt::load_smt(**store, o.tree, std::move(entries), **backend, options);
  if (bar) bar->finish();
  if (!report.ok()) {
    const absl::StatusCode code = report.status().code();
    const bool rejected = code == absl::StatusCode::kInvalidArgument ||
                          code == absl::StatusCode::kOutOfRange ||
                          code == absl::StatusCode::kAlreadyExists;
    return fail(rejected ? kExitRejected : kExitFailure, report.status().message());
  }
  std::cout << absl::StrFormat(
      "loaded %d keys into SMT \"%s\" in %s (version %d, root %s): sort %.1f s, build %.1f s "
      "(hashing %.1f s), pages %.1f s, ingest %.1f s; %d pages, %.1f MB of files\n",
      count, o.tree, o.dir, report->tree.head_version, hex_text(smt::fr_bytes(report->root)),
      report->sort_ms / 1e3, report->build_ms / 1e3, report->hash_ms / 1e3, report->pages_ms / 1e3,
      report->ingest_ms / 1e3, report->pages, report->file_bytes / 1e6);
  return kExitOk;
}

}  // namespace

void add_load_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LoadCli>();
  CLI::App* load = app.add_subcommand(
      "load",
      "Create an SMT in a data directory from a whole state at once (the first import of a "
      "large state): its pages are built bottom-up and ingested as SST files, far faster than "
      "batches. Stop arbord first");
  load->add_option("dir", o->dir, "The data directory (created when missing)")->required();
  load->add_option("tree", o->tree, "The new tree's name")->required();
  load->add_option("file", o->file,
                   "The state: with --format lines, `put KEY VALUE` lines as `arbor smt apply` "
                   "reads them ('-' = stdin); with --format binary, 64-byte records of key and "
                   "value, 32 bytes big-endian each")
      ->required();
  load->add_option("--format", o->format, "lines or binary")
      ->check(CLI::IsMember({"lines", "binary"}))
      ->capture_default_str();
  load->add_option("--max-depth", o->max_depth, "Leaves sit at depth <= this (1..254)")
      ->capture_default_str();
  load->add_option("--page-levels", o->page_levels, "Levels per node page (1..6)")
      ->capture_default_str();
  load->add_option("--keep-versions", o->keep_versions, "Versions kept readable; 0 keeps all")
      ->capture_default_str();
  load->add_option("--label", o->label, "The loaded version's label (e.g. a block number)");
  load->add_option("--backend", o->backend, "auto, cpu or cuda: where the hashing runs")
      ->capture_default_str();
  load->add_flag("--progress", o->progress, "Progress bars on stderr");
  load->callback([o, &exit_code] { exit_code = run_load(*o); });
}

}  // namespace arbor::cli
