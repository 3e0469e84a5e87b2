// The registry of tree schemes by name ("smt", "verkle"): how to create and open a tree of each,
// and how to verify its proofs without a tree. Adding a scheme means one entry here
// (schemes.cpp); the engine, the service and the CLI find schemes only through it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/tree/tree.hpp"
#include "storage/store.hpp"

namespace arbor::tree {

struct VerifyOutcome {
  bool valid = false;
  std::string reason;  // why not, when invalid
  std::string root;    // the root the proof leads to (wire form), when it could tell
  std::string format;  // the encoding that was read, e.g. "smt-json", "verkle-witness-binary"
};

// Bounds on one stateless verification beyond the scheme's own caps (an RPC's deadline).
struct VerifyOptions {
  // Past it, verification stops with DEADLINE_EXCEEDED (an error, not a verdict).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct Scheme {
  std::string_view name;
  // One line for help texts and errors: what a key, a value and a root are.
  std::string_view wire_forms;
  absl::StatusOr<std::unique_ptr<Tree>> (*create)(storage::Store& store, const std::string& name,
                                                  const CreateOptions& create,
                                                  host::ComputeBackend& backend,
                                                  const OpenOptions& options);
  // FAILED_PRECONDITION when `name` holds another scheme.
  absl::StatusOr<std::unique_ptr<Tree>> (*open)(storage::Store& store, const std::string& name,
                                                host::ComputeBackend& backend,
                                                const OpenOptions& options);
  // The options that create a tree like this stored one (its retention and parameters), for
  // `arbor migrate`; DATA_LOSS when its parameters are not the scheme's.
  absl::StatusOr<CreateOptions> (*create_options_of)(const storage::TreeInfo& info);
  // Whether `proof` looks like one of this scheme's encodings (magic bytes or JSON shape).
  bool (*recognizes)(std::string_view proof);
  // Stateless verification. INVALID_ARGUMENT (naming the field) when the proof or the root cannot
  // be decoded or the scheme needs a root and none is given; a decoded proof that does not hold
  // is valid=false with the reason.
  absl::StatusOr<VerifyOutcome> (*verify)(std::string_view proof,
                                          std::optional<std::string_view> root,
                                          host::ComputeBackend& backend,
                                          const VerifyOptions& options);
  // Builds what the scheme's first write or proof would otherwise build on its way (verkle: the
  // CRS tables, ~0.7 s), so that a service can pay it before it says it is serving.
  void (*warm_up)(host::ComputeBackend& backend);
};

std::span<const Scheme> schemes();
// nullptr when no scheme has that name.
const Scheme* find_scheme(std::string_view name);
// "smt, verkle": for error messages.
std::string scheme_names();

// Verifies with the first scheme that recognizes the proof; INVALID_ARGUMENT when none does.
absl::StatusOr<VerifyOutcome> verify_any(std::string_view proof,
                                         std::optional<std::string_view> root,
                                         host::ComputeBackend& backend,
                                         const VerifyOptions& options = {});

}  // namespace arbor::tree
