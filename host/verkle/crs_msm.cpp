#include "host/verkle/crs_msm.hpp"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "kernels/verkle/crs.hpp"

namespace arbor::verkle {

namespace {

// A part of at least this many terms is worth a task of its own; at most kMaxParts per job.
constexpr std::size_t kTermsPerPart = 32;
constexpr std::size_t kMaxParts = 8;

std::size_t parts_for(std::size_t terms) {
  return std::clamp<std::size_t>(terms / kTermsPerPart, 1, kMaxParts);
}

}  // namespace

absl::StatusOr<std::vector<Point>> crs_msm(host::ComputeBackend& backend,
                                           std::span<const std::span<const SparseTerm>> jobs) {
  std::vector<std::size_t> first_part(jobs.size() + 1, 0);
  std::size_t total_terms = 0;
  for (std::size_t m = 0; m < jobs.size(); ++m) {
    first_part[m + 1] = first_part[m] + parts_for(jobs[m].size());
    total_terms += jobs[m].size();
  }
  std::vector<host::CommitmentDelta> deltas;
  deltas.reserve(total_terms);
  for (std::size_t m = 0; m < jobs.size(); ++m) {
    const std::span<const SparseTerm> terms = jobs[m];
    const std::size_t parts = first_part[m + 1] - first_part[m];
    for (std::size_t i = 0; i < terms.size(); ++i) {
      if (terms[i].index >= kCrsSize) {
        return absl::InvalidArgumentError(
            absl::StrCat("crs msm: generator index ", terms[i].index, " >= 256"));
      }
      if (terms[i].scalar.is_zero()) continue;
      // Contiguous parts keep the deltas sorted by target.
      const std::size_t part = i * parts / terms.size();
      deltas.push_back(
          {static_cast<std::uint32_t>(first_part[m] + part), terms[i].index, terms[i].scalar});
    }
  }
  std::vector<Point> partial(first_part.back(), Point::identity());
  if (absl::Status s = backend.verkle_update_commitments(partial, deltas); !s.ok()) return s;
  std::vector<Point> out(jobs.size(), Point::identity());
  for (std::size_t m = 0; m < jobs.size(); ++m) {
    for (std::size_t p = first_part[m]; p < first_part[m + 1]; ++p)
      out[m] = add(out[m], partial[p]);
  }
  return out;
}

absl::StatusOr<Point> crs_commit(host::ComputeBackend& backend, std::span<const SparseTerm> terms) {
  const std::span<const SparseTerm> jobs[] = {terms};
  absl::StatusOr<std::vector<Point>> out = crs_msm(backend, jobs);
  if (!out.ok()) return out.status();
  return (*out)[0];
}

Point mul_q(const Fr& s) {
  static const PedersenTables tables = [] {
    const Point q[] = {Point::generator()};
    absl::StatusOr<PedersenTables> t = PedersenTables::build(q);
    assert(t.ok());  // constant arguments
    return *std::move(t);
  }();
  return tables.mul(0, s);
}

}  // namespace arbor::verkle
