#include "rpc/cli/load_command.hpp"

#include <algorithm>
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
#include "host/verkle/verkle_bulk_load.hpp"
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
  std::string scheme = std::string(kSmt);
  std::string format = "lines";
  std::string backend = "auto";
  std::string label;
  int max_depth = smt::kDefaultMaxDepth;
  int page_levels = smt::kDefaultPageLevels;
  std::uint64_t keep_versions = 0;
  bool progress = false;
};

smt::SmtLoadEntry smt_entry(std::string_view key, std::string_view value, absl::Status& error) {
  absl::StatusOr<smt::Fr> k = smt::wire_fr(key, "key");
  absl::StatusOr<smt::Fr> v = smt::wire_fr(value, "value");
  if (!k.ok() || !v.ok()) {
    error = (k.ok() ? v : k).status();
    return {};
  }
  return smt::load_entry(*k, *v);
}

verkle::VerkleLoadEntry verkle_entry(std::string_view key, std::string_view value, absl::Status&) {
  verkle::VerkleLoadEntry entry;
  std::copy(key.begin(), key.end(), entry.key.begin());
  std::copy(value.begin(), value.end(), entry.value.begin());
  return entry;
}

// `put KEY VALUE` lines, as `arbor smt|verkle apply` reads them.
template <typename Entry, typename Make>
int read_lines(const std::string& file, std::string_view scheme, Make make,
               std::vector<Entry>& entries) {
  std::vector<tree::Op> ops;
  if (int read = read_op_file(file, scheme_text(scheme), ops); read != kExitOk) return read;
  entries.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind != tree::Op::Kind::kPut) {
      return fail(kExitRejected, absl::StrCat(file, ": operation ", i + 1,
                                              " is a delete; a load takes puts only"));
    }
    absl::Status error;
    entries.push_back(make(ops[i].key, ops[i].value, error));
    if (!error.ok()) {
      return fail(kExitRejected, absl::StrCat(file, ": operation ", i + 1, ": ", error.message()));
    }
    std::string().swap(ops[i].key);
    std::string().swap(ops[i].value);
  }
  return kExitOk;
}

// Records of 64 bytes: the key then the value, 32 bytes each (an SMT's big-endian and below p).
template <typename Entry, typename Make>
int read_binary(const std::string& file, bool show_progress, Make make,
                std::vector<Entry>& entries) {
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
  constexpr std::size_t kChunkRecords = 16384;
  std::vector<char> chunk(kBinaryRecordBytes * kChunkRecords);
  std::uint64_t done = 0;
  while (done < records) {
    const std::size_t want = std::min<std::uint64_t>(records - done, kChunkRecords);
    if (std::fread(chunk.data(), kBinaryRecordBytes, want, in.get()) != want) {
      return fail(kExitFailure, absl::StrCat("cannot read ", file, ": ", std::strerror(errno)));
    }
    for (std::size_t i = 0; i < want; ++i) {
      const std::string_view record(chunk.data() + i * kBinaryRecordBytes, kBinaryRecordBytes);
      absl::Status bad;
      entries.push_back(make(record.substr(0, 32), record.substr(32), bad));
      if (!bad.ok()) {
        return fail(kExitRejected,
                    absl::StrCat(file, ": record ", done + i + 1, ": ", bad.message()));
      }
    }
    done += want;
    bar.update(done);
  }
  bar.finish();
  return kExitOk;
}

template <typename Entry, typename Make>
int read_state(const LoadCli& o, Make make, std::vector<Entry>& entries) {
  return o.format == "binary" ? read_binary(o.file, o.progress, make, entries)
                              : read_lines(o.file, o.scheme, make, entries);
}

int rejected_or_failed(const absl::Status& status) {
  const absl::StatusCode code = status.code();
  const bool rejected = code == absl::StatusCode::kInvalidArgument ||
                        code == absl::StatusCode::kOutOfRange ||
                        code == absl::StatusCode::kAlreadyExists;
  return fail(rejected ? kExitRejected : kExitFailure, status.message());
}

int run_load(const LoadCli& o) {
  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(o.backend);
  if (!choice.ok()) return fail(kExitRejected, choice.status().message());
  const bool is_smt = o.scheme == kSmt;
  std::vector<smt::SmtLoadEntry> smt_entries;
  std::vector<verkle::VerkleLoadEntry> verkle_entries;
  int read =
      is_smt ? read_state(o, smt_entry, smt_entries) : read_state(o, verkle_entry, verkle_entries);
  if (read != kExitOk) return read;

  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) return fail(kExitFailure, backend.status().message());
  storage::StoreOptions store_options;
  // Only the ingestion writes, and it is durable by itself.
  store_options.sync = storage::SyncMode::kNone;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::open(o.dir, store_options);
  if (!store.ok()) return fail(kExitFailure, store.status().message());

  StagedProgress bars(o.progress);
  auto progress = [&](std::string_view stage, std::uint64_t done, std::uint64_t total) {
    const char* unit = stage == "hashing" || stage == "internal" || stage == "nodes" ? "levels"
                       : stage == "pages"                                            ? "rows"
                       : stage == "leaves"                                           ? "stems"
                                                                                     : "steps";
    bars.update(stage, done, total, unit);
  };
  if (is_smt) {
    smt::SmtLoadOptions options;
    options.create.max_depth = o.max_depth;
    options.create.page_levels = o.page_levels;
    options.create.keep_versions = o.keep_versions;
    options.label = o.label;
    options.progress = progress;
    const std::size_t count = smt_entries.size();
    absl::StatusOr<smt::SmtLoadReport> report =
        smt::load_smt(**store, o.tree, std::move(smt_entries), **backend, options);
    bars.finish();
    if (!report.ok()) return rejected_or_failed(report.status());
    std::cout << absl::StrFormat(
        "loaded %d keys into SMT \"%s\" in %s (version %d, root %s): sort %.1f s, build %.1f s "
        "(hashing %.1f s), pages %.1f s, ingest %.1f s; %d pages, %.1f MB of files\n",
        count, o.tree, o.dir, report->tree.head_version, hex_text(smt::fr_bytes(report->root)),
        report->sort_ms / 1e3, report->build_ms / 1e3, report->hash_ms / 1e3,
        report->pages_ms / 1e3, report->ingest_ms / 1e3, report->pages, report->file_bytes / 1e6);
    return kExitOk;
  }
  verkle::VerkleLoadOptions options;
  options.create.keep_versions = o.keep_versions;
  options.label = o.label;
  options.progress = progress;
  const std::size_t count = verkle_entries.size();
  absl::StatusOr<verkle::VerkleLoadReport> report =
      verkle::load_verkle(**store, o.tree, std::move(verkle_entries), **backend, options);
  bars.finish();
  if (!report.ok()) return rejected_or_failed(report.status());
  std::cout << absl::StrFormat(
      "loaded %d keys (%d stems) into Verkle tree \"%s\" in %s (version %d, root %s): sort %.1f "
      "s, build %.1f s (math %.1f s), nodes %.1f s, ingest %.1f s; %d internal nodes, %.1f MB of "
      "files\n",
      count, report->stems, o.tree, o.dir, report->tree.head_version,
      hex_text(std::string(verkle::as_view(report->root))), report->sort_ms / 1e3,
      report->build_ms / 1e3, report->math_ms / 1e3, report->nodes_ms / 1e3,
      report->ingest_ms / 1e3, report->internal_nodes, report->file_bytes / 1e6);
  return kExitOk;
}

}  // namespace

void add_load_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<LoadCli>();
  CLI::App* load = app.add_subcommand(
      "load",
      "Create a tree in a data directory from a whole state at once (the first import of a "
      "large state): its nodes are built bottom-up and ingested as SST files, far faster than "
      "batches. Stop arbord first");
  load->add_option("dir", o->dir, "The data directory (created when missing)")->required();
  load->add_option("tree", o->tree, "The new tree's name")->required();
  load->add_option("file", o->file,
                   "The state: with --format lines, `put KEY VALUE` lines as `arbor smt|verkle "
                   "apply` reads them ('-' = stdin); with --format binary, 64-byte records of key "
                   "and value, 32 bytes each (an SMT's big-endian)")
      ->required();
  load->add_option("--scheme", o->scheme, "smt or verkle")
      ->check(CLI::IsMember({std::string(kSmt), std::string(kVerkle)}))
      ->capture_default_str();
  load->add_option("--format", o->format, "lines or binary")
      ->check(CLI::IsMember({"lines", "binary"}))
      ->capture_default_str();
  load->add_option("--max-depth", o->max_depth, "SMT: leaves sit at depth <= this (1..254)")
      ->capture_default_str();
  load->add_option("--page-levels", o->page_levels, "SMT: levels per node page (1..6)")
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
