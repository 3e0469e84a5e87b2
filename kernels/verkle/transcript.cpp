#include "kernels/verkle/transcript.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace arbor::verkle {

void Transcript::append_bytes(std::string_view label, std::span<const std::uint8_t> message) {
  state_.append(label);
  state_.append(reinterpret_cast<const char*>(message.data()), message.size());
}

void Transcript::append_scalar(std::string_view label, const Fr& s) {
  append_bytes(label, to_bytes_le(s));
}

Fr Transcript::challenge(std::string_view label) {
  state_.append(label);
  std::uint8_t digest[32];
  unsigned int length = 0;
  if (EVP_Digest(state_.data(), state_.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
      length != sizeof(digest)) {
    // Only a broken OpenSSL install gets here; no proof can be made or checked without SHA-256.
    throw std::runtime_error("SHA-256 (OpenSSL EVP_Digest) failed");
  }
  state_.clear();
  const Fr c = from_bytes_le_mod_order<BandersnatchFrParams>(digest);
  append_scalar(label, c);
  return c;
}

}  // namespace arbor::verkle
