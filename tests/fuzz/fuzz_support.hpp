// What every harness shares: property checks that abort with a message (libFuzzer then saves the
// input), the status rules, an allocation meter, a temporary directory, the input layouts several
// harnesses use, writing seed corpora, and libFuzzer's entry points.
//
// Each harness is one unit that includes this header and defines, in arbor::fuzz, seeds() and
// test_one() (declared at the end); the header defines LLVMFuzzerInitialize and
// LLVMFuzzerTestOneInput around them, so include it from that one unit only.
#pragma once

#include <sanitizer/allocator_interface.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"

namespace arbor::fuzz {

// Prints why and aborts: libFuzzer reports a crash and writes the input as an artifact.
[[noreturn]] inline void violation(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\n*** property violated: %.*s\n", static_cast<int>(what.size()),
               what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "    %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::fflush(stderr);
  std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) violation(what, detail);
}

// Printable form of some bytes, for messages.
inline std::string shown(std::string_view bytes, std::size_t limit = 160) {
  const std::string_view head = bytes.substr(0, limit);
  std::string out = absl::CHexEscape(absl::string_view(head.data(), head.size()));
  if (bytes.size() > limit) out += "...";
  return out;
}

// A refusal must say what is wrong (a non-empty message) with one of the codes the API documents.
inline void check_refusal(const absl::Status& status, std::string_view where,
                          std::initializer_list<absl::StatusCode> allowed) {
  check(!status.ok(), where, "expected an error");
  bool known = false;
  for (absl::StatusCode code : allowed) known |= status.code() == code;
  check(known, where, "unexpected status code: " + status.ToString());
  check(!status.message().empty(), where, "an error status with an empty message");
}

// Counts the bytes this thread allocates while it is alive (ASan's allocator hooks), so that a
// harness can require a decoder's memory to stay proportional to its input.
class AllocationMeter {
 public:
  AllocationMeter() {
    install();
    bytes() = 0;
    active() = true;
  }
  ~AllocationMeter() { active() = false; }
  AllocationMeter(const AllocationMeter&) = delete;
  AllocationMeter& operator=(const AllocationMeter&) = delete;
  std::size_t total() const { return bytes(); }

 private:
  // Thread-local in the executable: no allocation to reach them from inside the hook.
  static bool& active() {
    static thread_local bool on = false;
    return on;
  }
  static std::size_t& bytes() {
    static thread_local std::size_t count = 0;
    return count;
  }
  static void on_malloc(const volatile void*, std::size_t size) {
    if (active()) bytes() += size;
  }
  static void on_free(const volatile void*) {}
  static void install() {
    static const bool installed =
        __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
    (void)installed;
  }
};

// The memory a decoder may use for n input bytes: a fixed allowance for small inputs, then a
// constant factor (generous for JSON, whose parse tree is several times its text).
inline constexpr std::size_t kAllocationSlack = 64 << 10;
inline constexpr std::size_t kAllocationPerByte = 64;
inline void check_allocation(const AllocationMeter& meter, std::size_t input_bytes,
                             std::string_view what) {
  const std::size_t limit = kAllocationSlack + kAllocationPerByte * input_bytes;
  if (meter.total() > limit) {
    violation(what, "allocated " + std::to_string(meter.total()) + " bytes for " +
                        std::to_string(input_bytes) + " input bytes (limit " +
                        std::to_string(limit) + ")");
  }
}

// decode(bytes) for a decoder of outside input: its memory must stay in proportion to the input
// and a refusal must be INVALID_ARGUMENT with a message (`what` names it in a violation). The
// decoded value, or nullopt when it was refused.
template <class Decode>
auto decode_within_bounds(std::string_view bytes, std::string_view what, Decode&& decode)
    -> std::optional<typename decltype(decode(bytes))::value_type> {
  decltype(decode(bytes)) decoded;
  {
    AllocationMeter meter;
    decoded = decode(bytes);
    check_allocation(meter, bytes.size(), std::string(what) + " allocates in proportion");
  }
  if (!decoded.ok()) {
    check_refusal(decoded.status(), what, {absl::StatusCode::kInvalidArgument});
    return std::nullopt;
  }
  return *std::move(decoded);
}

// A fresh directory, removed with its contents when it goes or, at the latest, when the harness
// exits normally. What a harness keeps open until exit (a store) is never destroyed: closing a
// RocksDB database from a static destructor crashes once RocksDB's own statics are gone.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("arbor-fuzz-" + tag + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) violation("cannot create a temporary directory");
    path_ = pattern;
    static const bool registered = std::atexit(remove_left_over) == 0;
    (void)registered;
    left_over().push_back(path_);
  }
  ~TempDir() {
    remove(path_);
    std::erase(left_over(), path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static void remove(const std::filesystem::path& path) {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  // Never destroyed: the exit handler below still reads it.
  static std::vector<std::filesystem::path>& left_over() {
    static auto* paths = new std::vector<std::filesystem::path>;
    return *paths;
  }
  static void remove_left_over() {
    for (const std::filesystem::path& path : left_over()) remove(path);
  }
  std::filesystem::path path_;
};

// Harnesses with several decoders: the first byte picks one (`selector`), the rest is its input.
struct Selected {
  std::uint8_t selector;
  std::string_view rest;
};
inline std::optional<Selected> split_selector(std::string_view input) {
  if (input.empty()) return std::nullopt;
  return Selected{static_cast<std::uint8_t>(input[0]), input.substr(1)};
}
// The seed form of the same: the selector byte, then the input.
inline std::string with_selector(std::uint8_t selector, std::string_view rest) {
  return std::string(1, static_cast<char>(selector)) + std::string(rest);
}

// The input read as a small patch over one of `valid` (a harness's own good encodings), so that
// tampered valid inputs are always being tried, whatever the corpus holds: the first byte picks
// the encoding, then up to four triples (position low byte, high byte, XOR mask). nullopt for an
// input under 3 bytes.
inline std::optional<std::string> patched(const std::vector<std::string>& valid,
                                          std::string_view input) {
  if (input.size() < 3 || valid.empty()) return std::nullopt;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(input[i]); };
  std::string out = valid[byte(0) % valid.size()];
  if (out.empty()) return out;
  for (std::size_t i = 1; i + 2 < input.size() && i < 1 + 3 * 4; i += 3) {
    out[(byte(i) | byte(i + 1) << 8) % out.size()] ^= static_cast<char>(byte(i + 2));
  }
  return out;
}

// When ARBOR_FUZZ_WRITE_SEEDS names a directory, writes `seeds` there (seed-NN) and exits: how
// the committed corpora are made (scripts/fuzz seeds). Called from LLVMFuzzerInitialize below.
inline void maybe_write_seeds(const std::vector<std::string>& seeds) {
  const char* dir = std::getenv("ARBOR_FUZZ_WRITE_SEEDS");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seed-%02zu", i);
    std::ofstream out(std::filesystem::path(dir) / name, std::ios::binary | std::ios::trunc);
    out.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
    if (!out) violation("cannot write a seed", dir);
  }
  std::fprintf(stderr, "wrote %zu seeds to %s\n", seeds.size(), dir);
  std::exit(0);
}

// Silences std::cerr (the CLI's line reports) while alive.
class QuietStderr {
 public:
  QuietStderr() : saved_(std::cerr.rdbuf(sink_.rdbuf())) {}
  ~QuietStderr() { std::cerr.rdbuf(saved_); }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;
  std::string text() const { return sink_.str(); }

 private:
  std::ostringstream sink_;
  std::streambuf* saved_;
};

// What each harness defines. seeds(): its seed inputs, made with its own encoders; called once
// at start (where a harness also checks that its model's encodings verify), and written out when
// ARBOR_FUZZ_WRITE_SEEDS is set. test_one(): every property on one input; a violation aborts.
std::vector<std::string> seeds();
void test_one(std::string_view input);

}  // namespace arbor::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  arbor::fuzz::maybe_write_seeds(arbor::fuzz::seeds());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arbor::fuzz::test_one(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
