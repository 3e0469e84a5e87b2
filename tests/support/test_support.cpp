#include "tests/support/test_support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::testing {

std::filesystem::path vectors_dir() {
  if (const char* dir = std::getenv("ARBOR_VECTORS_DIR")) return dir;
  return ARBOR_DEFAULT_VECTORS_DIR;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

std::mt19937_64 seeded_rng(const char* what) {
  std::uint64_t seed = 0;
  if (const char* text = std::getenv("ARBOR_TEST_SEED")) {
    seed = std::strtoull(text, nullptr, 0);
  } else {
    seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  }
  std::cout << "[seed] " << what << ": ARBOR_TEST_SEED=" << seed << "\n";
  return std::mt19937_64(seed);
}

field::Fr random_fr(std::mt19937_64& rng) {
  // 254 random bits, rejected when >= p (about one draw in four).
  while (true) {
    std::array<std::uint8_t, 32> bytes{};
    for (int i = 0; i < 4; ++i) {
      std::uint64_t word = rng();
      if (i == 0) word &= (std::uint64_t{1} << 62) - 1;
      for (int b = 0; b < 8; ++b)
        bytes[i * 8 + b] = static_cast<std::uint8_t>(word >> (56 - 8 * b));
    }
    absl::StatusOr<field::Fr> value = field::from_bytes_be(bytes.data(), bytes.size());
    if (value.ok()) return *value;
  }
}

std::vector<field::Fr> edge_values() {
  std::vector<field::Fr> out;
  for (const char* text :
       {"0", "1", "2", "3", "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000",
        "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593efffffff",
        "0x183227397098d014dc2822db40c0ac2e9419f4243cdcb848a1f0fac9f8000000", "0xffffffffffffffff",
        "0x10000000000000000", "0xffffffffffffffffffffffffffffffff",
        "0x100000000000000000000000000000000",
        "0x2000000000000000000000000000000000000000000000000000000000000000",
        "0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}) {
    out.push_back(*field::parse_fr(text));
  }
  return out;
}

field::Fr random_fr_with_edges(std::mt19937_64& rng) {
  static const std::vector<field::Fr> edges = edge_values();
  if (rng() % 4 == 0) return edges[rng() % edges.size()];
  return random_fr(rng);
}

CommandResult run_command(const std::string& command, const std::string& input) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("arbor-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const auto in_path = dir / "stdin", out_path = dir / "stdout", err_path = dir / "stderr";
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string full = command + " <'" + in_path.string() + "' >'" + out_path.string() +
                           "' 2>'" + err_path.string() + "'";
  const int status = std::system(full.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::filesystem::remove_all(dir);
  return result;
}

std::vector<std::uint8_t> bytes_from_hex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  std::vector<std::uint8_t> out;
  if (hex.size() % 2 != 0) {
    ADD_FAILURE() << "odd-length hex: " << hex;
    return out;
  }
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      ADD_FAILURE() << "not hex: " << hex;
      return out;
    }
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string hex_of(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace arbor::testing

namespace arbor::testing {

TempDir::TempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      (std::filesystem::path(base && *base ? base : "/tmp") / (tag + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ignored);
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace arbor::testing
