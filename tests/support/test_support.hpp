// Helpers shared by the test suites: vector files, seeded randomness, running programs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/field/bn254_fr.hpp"
#include "nlohmann/json.hpp"

namespace arbor::testing {

// ../shared/vectors relative to the project root (overridable with ARBOR_VECTORS_DIR).
std::filesystem::path vectors_dir();
nlohmann::json read_json(const std::filesystem::path& path);

// A generator seeded from ARBOR_TEST_SEED when set, otherwise fresh; the seed is printed so that a
// failure can be replayed.
std::mt19937_64 seeded_rng(const char* what);

// Uniform in [0, p).
field::Fr random_fr(std::mt19937_64& rng);
// Values where carries and reductions go wrong: 0, 1, 2, p-1, p-2, (p-1)/2, 2^64-1, 2^128, 2^253...
std::vector<field::Fr> edge_values();
// Random, with about one value in four taken from edge_values().
field::Fr random_fr_with_edges(std::mt19937_64& rng);

// Uniform in [0, p) for any field of the Montgomery template (rejection from 255-bit draws; every
// modulus here is below 2^255).
template <class F>
F random_element(std::mt19937_64& rng) {
  using P = typename F::Params;
  while (true) {
    std::uint64_t x[4] = {rng(), rng(), rng(), rng()};
    x[3] &= (std::uint64_t{1} << 63) - 1;
    if (field::mont_detail::less_than_modulus<P>(x)) return field::from_canonical_limbs<P>(x);
  }
}

// What the AVX-512 lane tests say when they skip.
inline constexpr const char* kNoIfmaSkip =
    "this CPU has no AVX-512 IFMA (field::cpu_features().has_ifma_path() is false), so the "
    "AVX-512 lanes cannot run here";

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs `command` with /bin/sh, feeding `input` on stdin; captures stdout and stderr.
CommandResult run_command(const std::string& command, const std::string& input = "");

// Hex (an optional 0x, either case) to bytes; an odd length or a non-hex digit fails the current
// test and gives what was read so far.
std::vector<std::uint8_t> bytes_from_hex(std::string_view hex);
// Lowercase hex, no 0x.
std::string hex_of(std::span<const std::uint8_t> bytes);

}  // namespace arbor::testing

namespace arbor::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "arbor");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& child) const { return path_ / child; }

 private:
  std::filesystem::path path_;
};

}  // namespace arbor::testing
