// The lines `arbor smt|verkle apply` and `arbor tx add` read (`put KEY VALUE` / `del KEY`) and
// the key lists `prove --keys-file` reads, in a scheme's text form (scheme_text.hpp), turned
// into wire bytes.
#pragma once

#include <istream>
#include <span>
#include <string>
#include <vector>

#include "arbor/v1/arbor.pb.h"
#include "host/tree/tree.hpp"
#include "rpc/cli/scheme_text.hpp"

namespace arbor::cli {

// Reads every line of `in` (blank lines, # comments and CRLF are fine). Every line is checked
// before anything is returned: bad lines are reported on stderr by number and the result is 1
// (2 when the input cannot be read); 0 otherwise.
int read_op_lines(std::istream& in, const std::string& source, const SchemeText& scheme,
                  std::vector<tree::Op>& ops);
// The same from a file; empty or "-" is stdin.
int read_op_file(const std::string& file, const SchemeText& scheme, std::vector<tree::Op>& ops);

// One key per line ('-' = stdin; blank lines, # comments, CRLF and spaces are fine), appended to
// `keys`. The first bad key is named with its line and the result is 1 (2 when the file cannot
// be read).
int read_key_file(const std::string& file, const SchemeText& scheme,
                  std::vector<std::string>& keys);

void ops_to_wire(std::span<const tree::Op> ops, google::protobuf::RepeatedPtrField<v1::Op>& wire);

}  // namespace arbor::cli
