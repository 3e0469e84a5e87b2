#include "rpc/cli/cli_support.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/server/wire.hpp"

namespace arbor::cli {

int fail(int code, const std::string& message) {
  std::cerr << "arbor: " << message << "\n";
  return code;
}

int fail(int code, const char* message) { return fail(code, std::string(message)); }

int fail(int code, absl::string_view message) { return fail(code, std::string(message)); }

absl::StatusOr<OpenedStore> open_data_dir(const std::string& data, const std::string& sync,
                                          const std::string& backend, bool writable, bool create,
                                          bool bulk_compute) {
  OpenedStore opened;
  absl::StatusOr<storage::SyncMode> sync_mode = storage::parse_sync_mode(sync);
  if (!sync_mode.ok()) return sync_mode.status();
  storage::StoreOptions store_options;
  store_options.sync = *sync_mode;
  store_options.create_if_missing = create;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      writable ? storage::Store::open(data, store_options)
               : storage::Store::open_read_only(data, store_options);
  if (!store.ok()) return absl::UnavailableError(std::string(store.status().message()));
  opened.store = std::move(*store);
  if (writable || bulk_compute) {
    absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(backend);
    if (!choice.ok()) return choice.status();
    absl::StatusOr<std::unique_ptr<host::ComputeBackend>> made = host::make_backend(*choice);
    if (!made.ok()) return made.status();
    opened.backend = std::move(*made);
  } else {
    opened.backend = host::make_cpu_backend(1);  // reads compute nothing in bulk
  }
  return opened;
}

absl::StatusOr<std::string> read_whole_input(const std::string& path) {
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return absl::UnavailableError("cannot read stdin");
    return bytes;
  }
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return absl::UnavailableError(absl::StrCat("cannot read ", path, ": it is a directory"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::UnavailableError(absl::StrCat("cannot open ", path));
  try {
    bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    file.setstate(std::ios::badbit);
  }
  if (file.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return bytes;
}

int write_whole_output(const std::string& path, const std::string& bytes) {
  if (path.empty() || path == "-") {
    std::cout << bytes << std::flush;
    return std::cout ? kExitOk : kExitFailure;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
  file.close();
  if (!file) return fail(kExitFailure, absl::StrCat("cannot write ", path));
  return kExitOk;
}

absl::StatusOr<std::uint64_t> version_with_label(const storage::Store& store,
                                                 const std::string& tree,
                                                 const std::string& label) {
  absl::StatusOr<std::vector<storage::VersionRecord>> versions = store.versions(tree);
  if (!versions.ok()) return versions.status();
  auto match = std::find_if(versions->rbegin(), versions->rend(),
                            [&](const storage::VersionRecord& r) { return r.label == label; });
  if (match == versions->rend()) {
    return absl::NotFoundError(
        absl::StrCat("tree \"", tree, "\" has no retained version labelled \"", label, "\""));
  }
  return match->version;
}

int status_exit(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnimplemented:
      return fail(kExitRejected, std::string(status.message()));
    default:
      return fail(kExitFailure, std::string(status.message()));
  }
}

int grpc_exit(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return fail(kExitFailure, absl::StrCat("server: ", status.error_message()));
  }
  return status_exit(rpc::from_grpc(status));
}

void add_server_options(CLI::App* command, ServerOptions& options, bool required) {
  CLI::Option* server = command->add_option("--server", options.address,
                                            "arbord address HOST:PORT: go through the service");
  if (required) server->required();
  command->add_option("--token", options.token, "Bearer token (default: $ARBOR_TOKEN)");
  command->add_flag("--tls", options.tls, "Connect with TLS");
  command->add_option("--ca-file", options.ca_file, "TLS: PEM roots to trust (default: system)");
  command->add_option("--timeout-ms", options.timeout_ms, "Per-call deadline (0 = none)");
}

absl::StatusOr<std::unique_ptr<rpc::ArborClient>> connect(const ServerOptions& options) {
  rpc::ClientOptions client;
  client.address = options.address;
  client.token = options.token;
  if (client.token.empty()) {
    if (const char* token = std::getenv("ARBOR_TOKEN")) client.token = token;
  }
  client.tls = options.tls || !options.ca_file.empty();
  client.ca_file = options.ca_file;
  client.timeout = std::chrono::milliseconds(options.timeout_ms);
  return rpc::ArborClient::connect(client);
}

ProgressBar::ProgressBar(std::string what, std::uint64_t total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - drawn_ < std::chrono::milliseconds(100)) return;
  drawn_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void ProgressBar::draw(bool final_line) {
  constexpr int kWidth = 30;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
  const double rate = seconds > 0 ? done_ / seconds : 0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (rate > 0 && done_ < total_) eta = absl::StrFormat("%.0fs", (total_ - done_) / rate);
  if (final_line) eta = absl::StrFormat("took %.1fs", seconds);
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %llu/%llu ops  %.0f ops/s  %s   %s", what_.c_str(),
               bar.c_str(), fraction * 100, static_cast<unsigned long long>(done_),
               static_cast<unsigned long long>(total_), rate, final_line ? "" : "ETA", eta.c_str());
  if (final_line) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace arbor::cli
