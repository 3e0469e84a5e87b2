// GMP integers for the field tests (an independent big-integer reference): an RAII mpz_t and
// conversions from and to four little-endian 64-bit limbs.
#pragma once

#include <gmp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace arbor::testing {

class Mpz {
 public:
  Mpz() { mpz_init(v_); }
  Mpz(const char* text, int base) { mpz_init_set_str(v_, text, base); }
  explicit Mpz(const std::string& decimal) : Mpz(decimal.c_str(), 10) {}
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  ~Mpz() { mpz_clear(v_); }
  mpz_t& get() { return v_; }
  const mpz_t& get() const { return v_; }
  // Decimal text.
  std::string str() const {
    char* s = mpz_get_str(nullptr, 10, v_);
    std::string out(s);
    void (*free_fn)(void*, size_t);
    mp_get_memory_functions(nullptr, nullptr, &free_fn);
    free_fn(s, out.size() + 1);
    return out;
  }

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
