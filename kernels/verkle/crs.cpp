#include "kernels/verkle/crs.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <string>

namespace arbor::verkle {

namespace {

std::array<std::uint8_t, 32> sha256(const std::string& message) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length != digest.size()) {
    // Only a broken OpenSSL install gets here; the CRS cannot be derived without SHA-256.
    throw std::runtime_error("SHA-256 (OpenSSL EVP_Digest) failed");
  }
  return digest;
}

}  // namespace

std::vector<Point> generate_crs(std::size_t count, std::string_view seed,
                                std::uint64_t* hashes_used) {
  std::vector<Point> points;
  points.reserve(count);
  std::uint64_t i = 0;
  for (; points.size() < count; ++i) {
    std::string message(seed);
    for (int b = 7; b >= 0; --b) message.push_back(static_cast<char>(i >> (8 * b)));
    const std::array<std::uint8_t, 32> digest = sha256(message);
    // go-ipa reduces the digest into the field first, then decodes the reduced x's bytes.
    const Fp x = from_bytes_be_mod_order<Bls12381FrParams>(digest.data());
    std::uint8_t x_bytes[32];
    write_bytes_be(x, x_bytes);
    Point p;
    if (decode_point(x_bytes, /*check_subgroup=*/true, p) == DecodeStatus::kOk) points.push_back(p);
  }
  if (hashes_used != nullptr) *hashes_used = i;
  return points;
}

const std::vector<Point>& crs() {
  static const std::vector<Point> points = generate_crs(kCrsSize);
  return points;
}

}  // namespace arbor::verkle
