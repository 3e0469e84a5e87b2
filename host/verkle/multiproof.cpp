#include "host/verkle/multiproof.hpp"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "host/verkle/crs_msm.hpp"
#include "kernels/verkle/evaluation_domain.hpp"
#include "kernels/verkle/msm.hpp"
#include "tbb/combinable.h"
#include "tbb/parallel_for.h"

namespace arbor::verkle {

namespace {

Fr fr_of(std::uint8_t z) { return from_u64<BandersnatchFrParams>(z); }

std::vector<SparseTerm> dense_terms(const DensePoly& f) {
  std::vector<SparseTerm> terms(kDomainSize);
  for (std::uint32_t i = 0; i < kDomainSize; ++i) terms[i] = {i, f[i]};
  return terms;
}

absl::Status check_polys(std::span<const ProverPolynomial> polys,
                         std::span<const ProverOpening> openings) {
  if (openings.empty()) return absl::InvalidArgumentError("multiproof: no openings to prove");
  for (std::size_t p = 0; p < polys.size(); ++p) {
    const std::vector<SparseTerm>& f = polys[p].f;
    for (std::size_t e = 0; e < f.size(); ++e) {
      if (f[e].index >= kDomainSize || (e > 0 && f[e].index <= f[e - 1].index)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "multiproof: polynomial ", p, " has entries out of order or beyond index 255"));
      }
    }
  }
  for (std::size_t i = 0; i < openings.size(); ++i) {
    if (openings[i].poly >= polys.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multiproof: opening ", i, " names polynomial ", openings[i].poly, " of ", polys.size()));
    }
  }
  return absl::OkStatus();
}

std::vector<Fr> powers_of(const Fr& r, std::size_t n) {
  std::vector<Fr> out(n);
  Fr acc = Fr::one();
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = acc;
    acc = mul(acc, r);
  }
  return out;
}

// The distinct evaluation points in increasing order, and the openings at each (counting sort).
struct ByPoint {
  std::vector<std::uint8_t> points;
  std::vector<std::uint32_t> start;  // openings of points[j]: order[start[j] .. start[j+1])
  std::vector<std::uint32_t> order;
};

template <class Opening>
ByPoint group_by_point(std::span<const Opening> openings) {
  std::array<std::uint32_t, kDomainSize + 1> count{};
  for (const Opening& o : openings) ++count[o.z + 1];
  for (std::size_t z = 0; z < kDomainSize; ++z) count[z + 1] += count[z];
  ByPoint g;
  g.order.resize(openings.size());
  std::array<std::uint32_t, kDomainSize> next;
  std::copy(count.begin(), count.end() - 1, next.begin());
  for (std::uint32_t i = 0; i < openings.size(); ++i) g.order[next[openings[i].z]++] = i;
  for (std::size_t z = 0; z < kDomainSize; ++z) {
    if (count[z + 1] == count[z]) continue;
    g.points.push_back(static_cast<std::uint8_t>(z));
    g.start.push_back(count[z]);
  }
  g.start.push_back(static_cast<std::uint32_t>(openings.size()));
  return g;
}

}  // namespace

MultiproofBytes encode_multiproof(const Multiproof& proof) {
  MultiproofBytes out;
  const PointBytes d = serialize(proof.d);
  std::copy(d.begin(), d.end(), out.begin());
  write_ipa_proof(proof.ipa, out.data() + 32);
  return out;
}

absl::StatusOr<Multiproof> decode_multiproof(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kMultiproofBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("multiproof: expected ", kMultiproofBytes, " bytes, got ", bytes.size()));
  }
  Multiproof proof;
  absl::StatusOr<Point> d = deserialize(bytes.first(32));
  if (!d.ok())
    return absl::InvalidArgumentError(absl::StrCat("multiproof: D: ", d.status().message()));
  proof.d = *d;
  absl::StatusOr<IpaProof> ipa = decode_ipa_proof(bytes.subspan(32));
  if (!ipa.ok())
    return absl::InvalidArgumentError(absl::StrCat("multiproof: ", ipa.status().message()));
  proof.ipa = *std::move(ipa);
  return proof;
}

Fr evaluate_sparse(std::span<const SparseTerm> f, std::uint8_t z) {
  const auto it = std::lower_bound(
      f.begin(), f.end(), z, [](const SparseTerm& t, std::uint32_t v) { return t.index < v; });
  return it != f.end() && it->index == z ? it->scalar : Fr::zero();
}

absl::StatusOr<Multiproof> multiproof_prove(host::ComputeBackend& backend, Transcript& transcript,
                                            std::span<const ProverPolynomial> polys,
                                            std::span<const ProverOpening> openings) {
  if (absl::Status s = check_polys(polys, openings); !s.ok()) return s;
  const EvaluationDomain& domain = evaluation_domain();
  transcript.domain_sep("multiproof");
  for (const ProverOpening& o : openings) {
    transcript.append_point("C", polys[o.poly].commitment);
    transcript.append_scalar("z", fr_of(o.z));
    transcript.append_scalar("y", evaluate_sparse(polys[o.poly].f, o.z));
  }
  const Fr r = transcript.challenge("r");
  const std::vector<Fr> r_pow = powers_of(r, openings.size());

  // g_z = sum r^i f_i per distinct point, and g = sum of their quotients; each point is one task.
  const ByPoint by_point = group_by_point(openings);
  const std::size_t points = by_point.points.size();
  std::vector<DensePoly> grouped(points);
  tbb::combinable<DensePoly> quotient_sum([] {
    DensePoly zero;
    zero.fill(Fr::zero());
    return zero;
  });
  tbb::parallel_for(std::size_t{0}, points, [&](std::size_t j) {
    DensePoly& g_z = grouped[j];
    g_z.fill(Fr::zero());
    for (std::uint32_t k = by_point.start[j]; k < by_point.start[j + 1]; ++k) {
      const std::uint32_t i = by_point.order[k];
      for (const SparseTerm& e : polys[openings[i].poly].f) {
        g_z[e.index] = add(g_z[e.index], mul(r_pow[i], e.scalar));
      }
    }
    domain.add_quotient(by_point.points[j], g_z, quotient_sum.local());
  });
  DensePoly g;
  g.fill(Fr::zero());
  quotient_sum.combine_each([&](const DensePoly& part) {
    for (std::size_t i = 0; i < kDomainSize; ++i) g[i] = add(g[i], part[i]);
  });

  absl::StatusOr<Point> d = crs_commit(backend, dense_terms(g));
  if (!d.ok()) return d.status();
  transcript.append_point("D", *d);
  const Fr t = transcript.challenge("t");

  // h = sum_z g_z / (t - z); t is a random challenge, never in the domain in practice, and a
  // zero denominator would only make the proof fail to verify, never unsound.
  std::vector<Fr> inv_den(points), scratch(points);
  for (std::size_t j = 0; j < points; ++j) inv_den[j] = sub(t, fr_of(by_point.points[j]));
  batch_inverse(inv_den.data(), points, scratch.data());
  DensePoly h;
  constexpr std::size_t kBlock = 32;
  tbb::parallel_for(std::size_t{0}, kDomainSize / kBlock, [&](std::size_t block) {
    for (std::size_t i = block * kBlock; i < (block + 1) * kBlock; ++i) {
      Fr acc = Fr::zero();
      for (std::size_t j = 0; j < points; ++j) acc = add(acc, mul(inv_den[j], grouped[j][i]));
      h[i] = acc;
    }
  });
  absl::StatusOr<Point> e = crs_commit(backend, dense_terms(h));
  if (!e.ok()) return e.status();
  transcript.append_point("E", *e);

  DensePoly h_minus_g;
  for (std::size_t i = 0; i < kDomainSize; ++i) h_minus_g[i] = sub(h[i], g[i]);
  absl::StatusOr<IpaProof> ipa = ipa_prove(backend, transcript, sub(*e, *d), h_minus_g, t);
  if (!ipa.ok()) return ipa.status();
  return Multiproof{*d, *std::move(ipa)};
}

absl::Status multiproof_verify(host::ComputeBackend& backend, Transcript& transcript,
                               std::span<const Point> commitments,
                               std::span<const PointBytes> commitment_bytes,
                               std::span<const VerifierOpening> openings, const Multiproof& proof) {
  if (openings.empty()) return absl::InvalidArgumentError("multiproof: no openings to verify");
  if (commitments.size() != commitment_bytes.size()) {
    return absl::InvalidArgumentError(
        "multiproof: commitments and their encodings differ in count");
  }
  for (std::size_t i = 0; i < openings.size(); ++i) {
    if (openings[i].commitment >= commitments.size()) {
      return absl::InvalidArgumentError(absl::StrCat("multiproof: opening ", i,
                                                     " names commitment ", openings[i].commitment,
                                                     " of ", commitments.size()));
    }
  }
  transcript.domain_sep("multiproof");
  for (const VerifierOpening& o : openings) {
    transcript.append_point("C", commitment_bytes[o.commitment]);
    transcript.append_scalar("z", fr_of(o.z));
    transcript.append_scalar("y", o.y);
  }
  const Fr r = transcript.challenge("r");
  transcript.append_point("D", proof.d);
  const Fr t = transcript.challenge("t");

  // 1/(t - z) for each distinct point, then helper_i = r^i / (t - z_i).
  std::array<Fr, kDomainSize> inv_den;
  std::array<bool, kDomainSize> used{};
  for (const VerifierOpening& o : openings) used[o.z] = true;
  std::vector<Fr> dens, scratch;
  for (std::size_t z = 0; z < kDomainSize; ++z) {
    if (used[z]) dens.push_back(sub(t, fr_of(static_cast<std::uint8_t>(z))));
  }
  scratch.resize(dens.size());
  batch_inverse(dens.data(), dens.size(), scratch.data());
  for (std::size_t z = 0, j = 0; z < kDomainSize; ++z) {
    if (used[z]) inv_den[z] = dens[j++];
  }
  // Scalars per distinct commitment (openings of one commitment add up), and g2(t).
  std::vector<Fr> scalars(commitments.size(), Fr::zero());
  Fr g2_t = Fr::zero();
  Fr r_pow = Fr::one();
  for (const VerifierOpening& o : openings) {
    const Fr helper = mul(r_pow, inv_den[o.z]);
    scalars[o.commitment] = add(scalars[o.commitment], helper);
    g2_t = add(g2_t, mul(helper, o.y));
    r_pow = mul(r_pow, r);
  }
  // E over the commitments, in parallel chunks (each a serial Pippenger), summed in chunk order;
  // the chunking depends on the input only, so the sum is the same on any machine.
  const std::size_t n = commitments.size();
  const std::size_t kChunk = 256;
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<Point> partial(chunks);
  tbb::parallel_for(std::size_t{0}, chunks, [&](std::size_t c) {
    const std::size_t begin = c * kChunk, len = std::min(kChunk, n - begin);
    partial[c] =
        msm(commitments.subspan(begin, len), std::span<const Fr>(scalars).subspan(begin, len));
  });
  Point e = Point::identity();
  for (const Point& p : partial) e = add(e, p);
  transcript.append_point("E", e);
  absl::Status ipa = ipa_verify(backend, transcript, sub(e, proof.d), t, g2_t, proof.ipa);
  if (absl::IsInvalidArgument(ipa)) {
    return absl::InvalidArgumentError(absl::StrCat("multiproof: ", ipa.message()));
  }
  return ipa;
}

}  // namespace arbor::verkle
