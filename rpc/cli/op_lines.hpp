// The `put KEY VALUE` / `del KEY` lines that `arbor smt apply`, `arbor tx add` and
// `arbor verkle apply` read, and the SMT operations' wire form.
#pragma once

#include <array>
#include <istream>
#include <span>
#include <string>
#include <vector>

#include "arbor/v1/arbor.pb.h"
#include "host/smt/smt_tree.hpp"
#include "host/verkle/verkle_tree.hpp"

namespace arbor::cli {

// Reads every line of `in` (blank lines, # comments and CRLF are fine). Every line is checked
// before anything is returned: bad lines are reported on stderr by number and the result is 1
// (2 when the input cannot be read); 0 otherwise.
int read_op_lines(std::istream& in, const std::string& source, std::vector<smt::SmtOp>& ops);
// The same from a file; empty or "-" is stdin.
int read_op_file(const std::string& file, std::vector<smt::SmtOp>& ops);

// 0x + 64 hex digits (0x optional, either case); INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<std::array<std::uint8_t, 32>> parse_bytes32(std::string_view text,
                                                           std::string_view what);
// Verkle lines: keys and values are exactly 32 bytes of hex (0x optional), same rules otherwise.
int read_verkle_op_file(const std::string& file, std::vector<verkle::VerkleOp>& ops);

void ops_to_wire(std::span<const smt::SmtOp> ops, google::protobuf::RepeatedPtrField<v1::Op>& wire);

}  // namespace arbor::cli
