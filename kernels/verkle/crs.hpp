// The Verkle CRS: the 256 Pedersen generators every EIP-6800 implementation shares, derived (not
// stored) by go-ipa's try-and-increment: for i = 0, 1, 2, ...: h = SHA-256(seed || u64_be(i)),
// x = int_be(h) mod p, and keep the point when x decodes as a Banderwagon element (x on the curve,
// 1 - a*x^2 a square, lexicographically largest y). Host-only (OpenSSL SHA-256).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

inline constexpr std::size_t kCrsSize = 256;
inline constexpr std::string_view kCrsSeed = "eth_verkle_oct_2021";

// The first `count` generators for `seed`. When `hashes_used` is given it receives how many digests
// were tried (1061 for the 256 standard ones).
std::vector<Point> generate_crs(std::size_t count, std::string_view seed = kCrsSeed,
                                std::uint64_t* hashes_used = nullptr);

// The 256 standard generators, derived once on first use (thread-safe static).
const std::vector<Point>& crs();

}  // namespace arbor::verkle
