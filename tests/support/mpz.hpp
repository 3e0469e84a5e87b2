// GMP integers for the field tests (an independent big-integer reference): an RAII mpz_t and
// conversions from and to four little-endian 64-bit limbs.
#pragma once

#include <gmp.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace arbor::testing {

class Mpz {
 public:
  Mpz() { mpz_init(v_); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  ~Mpz() { mpz_clear(v_); }
  mpz_t& get() { return v_; }
  const mpz_t& get() const { return v_; }

 private:
  mpz_t v_;
};

inline void set_limbs(Mpz& out, const std::uint64_t* limbs) {
  mpz_import(out.get(), 4, -1, sizeof(std::uint64_t), 0, 0, limbs);
}

// Requires 0 <= v < 2^256.
inline std::array<std::uint64_t, 4> limbs_of(const Mpz& v) {
  std::array<std::uint64_t, 4> out{};
  std::size_t count = 0;
  mpz_export(out.data(), &count, -1, sizeof(std::uint64_t), 0, 0, v.get());
  return out;
}

}  // namespace arbor::testing
