// What every `arbor` command shares: exit codes, error reporting, the --server connection
// options, the progress bar of bulk loads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"
#include "host/backend/compute_backend.hpp"
#include "rpc/client/arbor_client.hpp"
#include "storage/store.hpp"

namespace arbor::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;  // rejected input, invalid proof, absent key
inline constexpr int kExitFailure = 2;   // could not run (I/O, server unreachable, corruption)

int fail(int code, const std::string& message);
int fail(int code, const char* message);
int fail(int code, absl::string_view message);  // absl's is not std::string_view here
// Errors a caller could fix by changing the request exit 1; the rest 2.
int status_exit(const absl::Status& status);
int grpc_exit(const grpc::Status& status);

struct ServerOptions {
  std::string address;  // empty: offline
  std::string token;    // default: $ARBOR_TOKEN
  bool tls = false;
  std::string ca_file;
  std::uint32_t timeout_ms = 0;
};

// --server, --token, --tls, --ca-file, --timeout-ms.
void add_server_options(CLI::App* command, ServerOptions& options, bool required);
absl::StatusOr<std::unique_ptr<rpc::ArborClient>> connect(const ServerOptions& options);

// A data directory opened for an offline command, with the backend it computes on.
struct OpenedStore {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<host::ComputeBackend> backend;
};
// Writable opens, and read-only ones that compute in bulk (proofs), use `backend` ("auto", "cpu",
// "cuda"); other read-only ones a one-thread CPU backend. Only `create` may make the directory (a
// mistyped --data elsewhere is an error). A directory that cannot be opened is UNAVAILABLE (exit
// 2: not the caller's request).
absl::StatusOr<OpenedStore> open_data_dir(const std::string& data, const std::string& sync,
                                          const std::string& backend, bool writable, bool create,
                                          bool bulk_compute = false);

// The whole of a file, or of stdin for "-"; UNAVAILABLE naming the file when it cannot be read
// (a directory, missing, unreadable).
absl::StatusOr<std::string> read_whole_input(const std::string& path);
// `bytes` to the file `path` (truncated), or to stdout for "" or "-". Exit code: 0, or 2 with a
// message when it cannot be written.
int write_whole_output(const std::string& path, const std::string& bytes);
// The newest retained version of `tree` labelled `label`; NOT_FOUND naming both otherwise.
absl::StatusOr<std::uint64_t> version_with_label(const storage::Store& store,
                                                 const std::string& tree, const std::string& label);

// A one-line progress bar on stderr (rate and ETA), redrawn at most 10 times a second.
class ProgressBar {
 public:
  ProgressBar(std::string what, std::uint64_t total, bool enabled);
  ~ProgressBar();
  void update(std::uint64_t done);
  void finish();

 private:
  void draw(bool final_line);
  std::string what_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point drawn_{};
};

}  // namespace arbor::cli
