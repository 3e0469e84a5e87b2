#include "kernels/poseidon/poseidon_params.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <utility>

#include "kernels/poseidon/grain_lfsr.hpp"

namespace arbor::poseidon {
namespace {

using field::add;
using field::mul;
using field::sub;

constexpr int kFieldBits = 254;
constexpr int kHalf = kFullRounds / 2;

// A square matrix over Fr, row-major.
struct Matrix {
  int n;
  std::vector<Fr> a;
  explicit Matrix(int size) : n(size), a(static_cast<std::size_t>(size) * size, Fr::zero()) {}
  Fr& at(int i, int j) { return a[static_cast<std::size_t>(i) * n + j]; }
  const Fr& at(int i, int j) const { return a[static_cast<std::size_t>(i) * n + j]; }
};

Matrix multiply(const Matrix& x, const Matrix& y) {
  Matrix out(x.n);
  for (int i = 0; i < x.n; ++i) {
    for (int j = 0; j < x.n; ++j) {
      Fr acc = Fr::zero();
      for (int k = 0; k < x.n; ++k) acc = add(acc, mul(x.at(i, k), y.at(k, j)));
      out.at(i, j) = acc;
    }
  }
  return out;
}

// Solves m * x = rhs by Gauss-Jordan elimination; m is invertible (every square submatrix of a
// Cauchy matrix is, and the products built here keep that block invertible).
std::vector<Fr> solve(Matrix m, std::vector<Fr> rhs) {
  const int n = m.n;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    while (m.at(pivot, col).is_zero()) ++pivot;
    if (pivot != col) {
      for (int j = 0; j < n; ++j) std::swap(m.at(pivot, j), m.at(col, j));
      std::swap(rhs[pivot], rhs[col]);
    }
    const Fr inv = field::inverse(m.at(col, col));
    for (int j = 0; j < n; ++j) m.at(col, j) = mul(m.at(col, j), inv);
    rhs[col] = mul(rhs[col], inv);
    for (int row = 0; row < n; ++row) {
      if (row == col || m.at(row, col).is_zero()) continue;
      const Fr factor = m.at(row, col);
      for (int j = 0; j < n; ++j) m.at(row, j) = sub(m.at(row, j), mul(factor, m.at(col, j)));
      rhs[row] = sub(rhs[row], mul(factor, rhs[col]));
    }
  }
  return rhs;
}

Fr to_field(const std::array<std::uint64_t, 4>& x) {
  const std::uint64_t limbs[4] = {x[0], x[1], x[2], x[3]};
  return field::from_canonical_limbs(limbs);
}

// Round constants: n-bit samples, rejecting those >= p.
Fr sample_rejecting(GrainLfsr& lfsr) {
  while (true) {
    const auto x = lfsr.next_bits_as_integer(kFieldBits);
    if (field::mont_detail::below_modulus<field::Bn254FrParams>(x)) return to_field(x);
  }
}

// MDS samples are taken mod p, as the reference script's F(grain_random_bits(n)) does.
Fr sample_mod_p(GrainLfsr& lfsr) {
  auto x = lfsr.next_bits_as_integer(kFieldBits);
  // x < 2^254 < 4p.
  for (int i = 0; i < 3; ++i) {
    if (!field::mont_detail::below_modulus<field::Bn254FrParams>(x)) {
      x = field::mont_detail::sub_limbs(x, field::Bn254FrParams::kModulus);
    }
  }
  return to_field(x);
}

// Cauchy matrix M[i][j] = 1 / (x_i + y_j) from 2t fresh samples, drawn again if they collide.
Matrix generate_mds(GrainLfsr& lfsr, int t) {
  while (true) {
    std::vector<Fr> samples;
    for (int i = 0; i < 2 * t; ++i) samples.push_back(sample_mod_p(lfsr));
    bool distinct = true;
    for (int i = 0; i < 2 * t && distinct; ++i) {
      for (int j = i + 1; j < 2 * t; ++j) distinct = distinct && samples[i] != samples[j];
    }
    if (!distinct) continue;
    Matrix m(t);
    bool invertible = true;
    for (int i = 0; i < t; ++i) {
      for (int j = 0; j < t; ++j) {
        const Fr sum = add(samples[i], samples[t + j]);
        invertible = invertible && !sum.is_zero();
        m.at(i, j) = field::inverse(sum);
      }
    }
    if (invertible) return m;
  }
}

}  // namespace

int partial_rounds_for_width(int t) {
  static constexpr std::array<int, 16> kPartialRounds = {56, 57, 56, 60, 60, 63, 64, 63,
                                                         60, 66, 60, 65, 70, 60, 64, 68};
  return kPartialRounds.at(static_cast<std::size_t>(t - kMinWidth));
}

PoseidonLayout PoseidonLayout::for_width(int t) {
  PoseidonLayout l;
  l.width = t;
  l.rounds_partial = partial_rounds_for_width(t);
  const auto ut = static_cast<std::size_t>(t);
  std::size_t offset = 0;
  l.first_full = offset;
  offset += kHalf * ut;
  l.partial = offset;
  offset += static_cast<std::size_t>(l.rounds_partial);
  l.second_full = offset;
  offset += kHalf * ut;
  l.mds = offset;
  offset += ut * ut;
  l.pre_sparse = offset;
  offset += ut * ut;
  l.sparse = offset;
  offset += static_cast<std::size_t>(l.rounds_partial) * (2 * ut - 1);
  l.total = offset;
  return l;
}

PoseidonTables PoseidonLayout::tables(const Fr* base) const {
  return PoseidonTables{
      base + first_full, base + partial, base + second_full, base + mds, base + pre_sparse,
      base + sparse,     width,          rounds_partial};
}

PoseidonParams generate_poseidon_params(int t) {
  PoseidonParams params;
  params.width = t;
  params.rounds_partial = partial_rounds_for_width(t);
  const int rounds = kFullRounds + params.rounds_partial;

  GrainLfsr lfsr(/*field=*/1, /*sbox=*/0, kFieldBits, t, kFullRounds, params.rounds_partial);
  for (int i = 0; i < rounds * t; ++i) params.round_constants.push_back(sample_rejecting(lfsr));
  const Matrix mds = generate_mds(lfsr, t);
  params.mds = mds.a;

  // Sparse form, step 1: in a partial round only element 0 passes the S-box, so the constants of
  // elements 1.. commute with it and move forward through the mixing into the next round.
  std::vector<Fr> constants = params.round_constants;
  for (int r = kHalf; r < kHalf + params.rounds_partial; ++r) {
    for (int i = 0; i < t; ++i) {
      Fr pushed = Fr::zero();
      for (int j = 1; j < t; ++j) pushed = add(pushed, mul(mds.at(i, j), constants[r * t + j]));
      constants[(r + 1) * t + i] = add(constants[(r + 1) * t + i], pushed);
    }
    for (int j = 1; j < t; ++j) constants[r * t + j] = Fr::zero();
  }

  // Step 2: write each partial round's mixing A = S * B with S sparse ([[a, v^T], [c, I]]) and
  // B = diag(1, D). B leaves element 0 alone, so it commutes with the partial S-box and folds into
  // the previous round's mixing; the last full round before the partials absorbs what is left.
  const int n = t - 1;
  std::vector<std::vector<Fr>> sparse_rows(static_cast<std::size_t>(params.rounds_partial));
  Matrix carried = mds;  // the mixing matrix of round r once B_{r+1} has folded into it
  for (int r = params.rounds_partial - 1; r >= 0; --r) {
    Matrix d(n), d_transposed(n);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        d.at(i, j) = carried.at(i + 1, j + 1);
        d_transposed.at(j, i) = carried.at(i + 1, j + 1);
      }
    }
    std::vector<Fr> b(static_cast<std::size_t>(n));
    for (int j = 0; j < n; ++j) b[j] = carried.at(0, j + 1);
    const std::vector<Fr> v = solve(d_transposed, b);  // v^T = b^T D^-1
    auto& row = sparse_rows[static_cast<std::size_t>(r)];
    row.push_back(carried.at(0, 0));
    row.insert(row.end(), v.begin(), v.end());
    for (int i = 0; i < n; ++i) row.push_back(carried.at(i + 1, 0));

    Matrix block(t);  // diag(1, D)
    block.at(0, 0) = Fr::one();
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) block.at(i + 1, j + 1) = d.at(i, j);
    }
    carried = multiply(block, mds);
  }

  params.layout = PoseidonLayout::for_width(t);
  const PoseidonLayout& l = params.layout;
  params.optimized.assign(l.total, Fr::zero());
  auto out = params.optimized.begin();
  for (int r = 0; r < kHalf; ++r) {
    for (int i = 0; i < t; ++i) out[l.first_full + r * t + i] = constants[r * t + i];
  }
  for (int r = 0; r < params.rounds_partial; ++r) {
    out[l.partial + r] = constants[(kHalf + r) * t];
    for (int k = 0; k < 2 * t - 1; ++k) {
      out[l.sparse + r * (2 * t - 1) + k] = sparse_rows[static_cast<std::size_t>(r)][k];
    }
  }
  for (int r = 0; r < kHalf; ++r) {
    for (int i = 0; i < t; ++i) {
      out[l.second_full + r * t + i] = constants[(kHalf + params.rounds_partial + r) * t + i];
    }
  }
  std::copy(mds.a.begin(), mds.a.end(), out + l.mds);
  std::copy(carried.a.begin(), carried.a.end(), out + l.pre_sparse);
  return params;
}

const PoseidonParams& poseidon_params(int t) {
  static std::array<std::once_flag, kMaxWidth + 1> once;
  static std::array<std::unique_ptr<PoseidonParams>, kMaxWidth + 1> cache;
  const auto index = static_cast<std::size_t>(t);
  std::call_once(once.at(index), [&] {
    cache[index] = std::make_unique<PoseidonParams>(generate_poseidon_params(t));
  });
  return *cache[index];
}

void reference_permutation(const PoseidonParams& params, std::span<Fr> state) {
  const int t = params.width;
  const int rounds = kFullRounds + params.rounds_partial;
  std::vector<Fr> mixed(static_cast<std::size_t>(t));
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < t; ++i) state[i] = add(state[i], params.round_constants[r * t + i]);
    const bool full = r < kHalf || r >= kHalf + params.rounds_partial;
    for (int i = 0; i < (full ? t : 1); ++i) state[i] = field::pow5(state[i]);
    for (int i = 0; i < t; ++i) {
      Fr acc = Fr::zero();
      for (int j = 0; j < t; ++j) acc = add(acc, mul(params.mds[i * t + j], state[j]));
      mixed[i] = acc;
    }
    std::copy(mixed.begin(), mixed.end(), state.begin());
  }
}

}  // namespace arbor::poseidon
