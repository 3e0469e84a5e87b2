// The execution witness codecs (verkle_witness.hpp): go-verkle's JSON and Arbor's binary form.
// Both check syntax only (types, hex, lengths, counts, the hard limits); the meaning of the content
// is the stateless verifier's business.
#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "host/verkle/verkle_witness.hpp"
#include "nlohmann/json.hpp"

namespace arbor::verkle {
namespace {

using nlohmann::json;

constexpr std::string_view kMagic = kBinaryWitnessMagic;
constexpr std::uint8_t kFlagCurrent = 1;
constexpr std::uint8_t kFlagNext = 2;
constexpr std::size_t kMaxSuffixes = 256;

// ---- hex ----------------------------------------------------------------------------------------

constexpr char kHexDigits[] = "0123456789abcdef";

std::string hex_of(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(2 + 2 * bytes.size());
  out += "0x";
  for (std::uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 15]);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ---- JSON reading -------------------------------------------------------------------------------

absl::Status field_error(const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string index(const std::string& path, std::size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

// What a JSON value is, for messages: numbers by value (they are short), the rest by type.
std::string describe(const json& value) {
  if (value.is_number()) return value.dump();
  return value.type_name();
}

// The member `key` of `object` (an object), or nullptr when it is absent.
const json* member(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<const json*> required(const json& object, const std::string& path,
                                     const std::string& key) {
  const json* value = member(object, key);
  if (value == nullptr) return field_error(join(path, key), "missing");
  return value;
}

absl::Status expect_type(const json& value, const std::string& path, json::value_t type,
                         const std::string& what) {
  if (value.type() != type) {
    return field_error(path, absl::StrCat("expected ", what, ", got ", describe(value)));
  }
  return absl::OkStatus();
}

// 0x-prefixed hex (either case) into `out`. go-verkle always writes the 0x, so it is required
// here. `expected` is the exact byte count, or -1 for any.
absl::Status parse_hex_into(const json& value, const std::string& path, long expected,
                            std::vector<std::uint8_t>& out) {
  const std::string what =
      expected < 0 ? std::string("a hex string") : absl::StrCat(expected, " bytes of hex");
  if (!value.is_string()) {
    return field_error(path, absl::StrCat("expected ", what, ", got ", describe(value)));
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return field_error(path, absl::StrCat("expected ", what, " with a 0x prefix"));
  }
  const std::string_view digits = std::string_view(text).substr(2);
  if (digits.size() % 2 != 0) {
    return field_error(path, absl::StrCat("expected ", what, ", got an odd number of hex digits (",
                                          digits.size(), ")"));
  }
  const std::size_t count = digits.size() / 2;
  if (expected >= 0 && count != static_cast<std::size_t>(expected)) {
    return field_error(path, absl::StrCat("expected ", what, ", got ", count));
  }
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int hi = hex_digit(digits[2 * i]);
    const int lo = hex_digit(digits[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const std::size_t at = hi < 0 ? 2 * i : 2 * i + 1;
      return field_error(path, absl::StrCat("expected ", what, ", got a non-hex character at ",
                                            "position ", at + 2));
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return absl::OkStatus();
}

template <std::size_t N>
absl::Status parse_fixed(const json& value, const std::string& path,
                         std::array<std::uint8_t, N>& out) {
  std::vector<std::uint8_t> bytes;
  if (absl::Status s = parse_hex_into(value, path, static_cast<long>(N), bytes); !s.ok()) return s;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return absl::OkStatus();
}

// null, a missing key or 32 bytes of hex.
absl::Status parse_optional_value(const json& object, const std::string& path,
                                  const std::string& key, std::optional<Value32>& out) {
  out.reset();
  const json* value = member(object, key);
  if (value == nullptr || value->is_null()) return absl::OkStatus();
  const std::string field = join(path, key);
  if (!value->is_string()) {
    return field_error(field,
                       absl::StrCat("expected null or 32 bytes of hex, got ", describe(*value)));
  }
  Value32 bytes{};
  if (absl::Status s = parse_fixed(*value, field, bytes); !s.ok()) return s;
  out = bytes;
  return absl::OkStatus();
}

absl::Status check_count(std::size_t count, std::size_t limit, const std::string& path,
                         const std::string& what) {
  if (count > limit) {
    return field_error(path, absl::StrCat(count, " ", what, " exceed the limit of ", limit));
  }
  return absl::OkStatus();
}

absl::Status parse_suffix_diff(const json& entry, const std::string& path, SuffixDiff& out) {
  if (absl::Status s = expect_type(entry, path, json::value_t::object, "an object"); !s.ok()) {
    return s;
  }
  absl::StatusOr<const json*> suffix = required(entry, path, "suffix");
  if (!suffix.ok()) return suffix.status();
  // An integer 0..255: nlohmann holds non-negative integers read from text as unsigned, negative
  // ones as signed and anything with a fraction or an exponent as a float.
  const json& s = **suffix;
  const bool in_range = (s.is_number_unsigned() && s.get<std::uint64_t>() <= 255) ||
                        (s.is_number_integer() && !s.is_number_unsigned() &&
                         s.get<std::int64_t>() >= 0 && s.get<std::int64_t>() <= 255);
  if (!in_range) {
    return field_error(join(path, "suffix"),
                       absl::StrCat("expected an integer 0..255, got ", describe(s)));
  }
  out.suffix = static_cast<std::uint8_t>(s.is_number_unsigned() ? s.get<std::uint64_t>()
                                                                : s.get<std::int64_t>());
  if (absl::Status st = parse_optional_value(entry, path, "currentValue", out.current); !st.ok()) {
    return st;
  }
  return parse_optional_value(entry, path, "newValue", out.next);
}

absl::Status parse_stem_diff(const json& entry, const std::string& path, StemDiff& out) {
  if (absl::Status s = expect_type(entry, path, json::value_t::object, "an object"); !s.ok()) {
    return s;
  }
  absl::StatusOr<const json*> stem = required(entry, path, "stem");
  if (!stem.ok()) return stem.status();
  if (absl::Status s = parse_fixed(**stem, join(path, "stem"), out.stem); !s.ok()) return s;
  absl::StatusOr<const json*> suffixes = required(entry, path, "suffixDiffs");
  if (!suffixes.ok()) return suffixes.status();
  const std::string suffixes_path = join(path, "suffixDiffs");
  const json& list = **suffixes;
  if (absl::Status s = expect_type(list, suffixes_path, json::value_t::array, "an array");
      !s.ok()) {
    return s;
  }
  // The binary form carries 1..256 suffixes per stem; hold the JSON to the same count.
  if (list.empty() || list.size() > kMaxSuffixes) {
    return field_error(suffixes_path,
                       absl::StrCat("expected 1..", kMaxSuffixes, " entries, got ", list.size()));
  }
  out.suffixes.resize(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = parse_suffix_diff(list[i], index(suffixes_path, i), out.suffixes[i]);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

template <std::size_t N>
absl::Status parse_hex_array(const json& list, const std::string& path, std::size_t limit,
                             const std::string& what,
                             std::vector<std::array<std::uint8_t, N>>& out) {
  if (absl::Status s = expect_type(list, path, json::value_t::array, "an array"); !s.ok()) return s;
  if (absl::Status s = check_count(list.size(), limit, path, what); !s.ok()) return s;
  out.resize(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = parse_fixed(list[i], index(path, i), out[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status parse_rounds(const json& object, const std::string& path, const std::string& key,
                          std::array<PointBytes, kIpaRounds>& out) {
  absl::StatusOr<const json*> value = required(object, path, key);
  if (!value.ok()) return value.status();
  const std::string field = join(path, key);
  const json& list = **value;
  if (absl::Status s = expect_type(list, field, json::value_t::array, "an array"); !s.ok()) {
    return s;
  }
  if (list.size() != kIpaRounds) {
    return field_error(field, absl::StrCat("expected ", kIpaRounds, " entries, got ", list.size()));
  }
  for (std::size_t i = 0; i < kIpaRounds; ++i) {
    if (absl::Status s = parse_fixed(list[i], index(field, i), out[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status parse_proof(const json& proof, const std::string& path, VerkleWitness& out) {
  if (absl::Status s = expect_type(proof, path, json::value_t::object, "an object"); !s.ok()) {
    return s;
  }
  // Some producers write an empty otherStems as null or leave it out.
  if (const json* other = member(proof, "otherStems"); other != nullptr && !other->is_null()) {
    if (absl::Status s = parse_hex_array(*other, join(path, "otherStems"), kMaxWitnessStems,
                                         "stems", out.other_stems);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<const json*> ext = required(proof, path, "depthExtensionPresent");
  if (!ext.ok()) return ext.status();
  // Any length: that it has one byte per stem is for the verifier to check.
  if (absl::Status s =
          parse_hex_into(**ext, join(path, "depthExtensionPresent"), -1, out.extension_statuses);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<const json*> commitments = required(proof, path, "commitmentsByPath");
  if (!commitments.ok()) return commitments.status();
  if (absl::Status s =
          parse_hex_array(**commitments, join(path, "commitmentsByPath"), kMaxWitnessCommitments,
                          "commitments", out.commitments_by_path);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<const json*> d = required(proof, path, "d");
  if (!d.ok()) return d.status();
  if (absl::Status s = parse_fixed(**d, join(path, "d"), out.d); !s.ok()) return s;

  absl::StatusOr<const json*> ipa = required(proof, path, "ipaProof");
  if (!ipa.ok()) return ipa.status();
  const std::string ipa_path = join(path, "ipaProof");
  if (absl::Status s = expect_type(**ipa, ipa_path, json::value_t::object, "an object"); !s.ok()) {
    return s;
  }
  if (absl::Status s = parse_rounds(**ipa, ipa_path, "cl", out.cl); !s.ok()) return s;
  if (absl::Status s = parse_rounds(**ipa, ipa_path, "cr", out.cr); !s.ok()) return s;
  absl::StatusOr<const json*> final_eval = required(**ipa, ipa_path, "finalEvaluation");
  if (!final_eval.ok()) return final_eval.status();
  std::array<std::uint8_t, 32> big_endian{};
  if (absl::Status s = parse_fixed(**final_eval, join(ipa_path, "finalEvaluation"), big_endian);
      !s.ok()) {
    return s;
  }
  std::reverse_copy(big_endian.begin(), big_endian.end(), out.final_evaluation_le.begin());
  return absl::OkStatus();
}

absl::Status parse_witness_object(const json& object, const std::string& path, VerkleWitness& out) {
  absl::StatusOr<const json*> diff = required(object, path, "stateDiff");
  if (!diff.ok()) return diff.status();
  const std::string diff_path = join(path, "stateDiff");
  const json& list = **diff;
  if (absl::Status s = expect_type(list, diff_path, json::value_t::array, "an array"); !s.ok()) {
    return s;
  }
  if (absl::Status s = check_count(list.size(), kMaxWitnessStems, diff_path, "stems"); !s.ok()) {
    return s;
  }
  out.state_diff.resize(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = parse_stem_diff(list[i], index(diff_path, i), out.state_diff[i]);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<const json*> proof = required(object, path, "verkleProof");
  if (!proof.ok()) return proof.status();
  if (absl::Status s = parse_proof(**proof, join(path, "verkleProof"), out); !s.ok()) return s;

  if (const json* root = member(object, "parentStateRoot"); root != nullptr && !root->is_null()) {
    RootCommitment bytes{};
    if (absl::Status s = parse_fixed(*root, join(path, "parentStateRoot"), bytes); !s.ok()) {
      return s;
    }
    out.parent_state_root = bytes;
  }
  return absl::OkStatus();
}

// ---- binary -------------------------------------------------------------------------------------

void append_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void append_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void append_bytes(std::string& out, std::span<const std::uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

absl::Status binary_error(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("witness (binary): ", why));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }

  absl::Status take(void* out, std::size_t count, const std::string& what) {
    if (remaining() < count) return truncated(what);
    if (count != 0) std::memcpy(out, bytes_.data() + pos_, count);
    pos_ += count;
    return absl::OkStatus();
  }
  absl::StatusOr<std::uint8_t> u8(const std::string& what) {
    std::uint8_t v = 0;
    if (absl::Status s = take(&v, 1, what); !s.ok()) return s;
    return v;
  }
  absl::StatusOr<std::uint16_t> u16(const std::string& what) {
    std::uint8_t b[2] = {};
    if (absl::Status s = take(b, 2, what); !s.ok()) return s;
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  absl::StatusOr<std::uint32_t> u32(const std::string& what) {
    std::uint8_t b[4] = {};
    if (absl::Status s = take(b, 4, what); !s.ok()) return s;
    return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
           static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
  }
  template <std::size_t N>
  absl::Status array(std::array<std::uint8_t, N>& out, const std::string& what) {
    return take(out.data(), N, what);
  }

  // `count` items of at least `min_each` bytes, followed by at least `tail` more bytes, must fit
  // in what is left; checked before anything is allocated.
  absl::Status fits(std::uint64_t count, std::uint64_t min_each, std::uint64_t tail,
                    const std::string& what) const {
    const std::uint64_t need = count * min_each + tail;  // count < 2^32, min_each < 2^8: no wrap
    if (need > remaining()) {
      return binary_error(absl::StrCat(what, " count ", count, " at byte ", pos_,
                                       " exceeds the bytes left (needs at least ", need, ", ",
                                       remaining(), " left)"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status truncated(const std::string& what) const {
    return binary_error(absl::StrCat("truncated at byte ", bytes_.size(), " (reading ", what,
                                     " at byte ", pos_, ")"));
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// Smallest encodings, for the count checks: a stem with one suffix and no values (31 + 2 + 2) plus
// its depthExtensionPresent byte; what follows the stems (two counts and the multiproof).
constexpr std::uint64_t kMinStemBytes = kStemBytes + 2 + 2 + 1;
constexpr std::uint64_t kMinSuffixBytes = 2;
constexpr std::uint64_t kTailBytes = 4 + 4 + kMultiproofBytes;

absl::Status read_binary(Reader& in, VerkleWitness& out) {
  std::array<std::uint8_t, 4> magic{};
  if (absl::Status s = in.array(magic, "magic"); !s.ok()) return s;
  if (std::memcmp(magic.data(), kMagic.data(), 4) != 0) return binary_error("bad magic");

  absl::StatusOr<std::uint32_t> stems = in.u32("stem count");
  if (!stems.ok()) return stems.status();
  if (*stems > kMaxWitnessStems) {
    return binary_error(
        absl::StrCat("stem count ", *stems, " exceeds the limit of ", kMaxWitnessStems));
  }
  if (absl::Status s = in.fits(*stems, kMinStemBytes, kTailBytes, "stem"); !s.ok()) return s;
  out.state_diff.resize(*stems);
  for (std::uint32_t i = 0; i < *stems; ++i) {
    StemDiff& diff = out.state_diff[i];
    const std::string where = absl::StrCat("stem[", i, "]");
    if (absl::Status s = in.array(diff.stem, where); !s.ok()) return s;
    absl::StatusOr<std::uint16_t> count = in.u16(absl::StrCat(where, " suffix count"));
    if (!count.ok()) return count.status();
    if (*count == 0 || *count > kMaxSuffixes) {
      return binary_error(absl::StrCat(where, ": suffix count ", *count, " at byte ", in.pos() - 2,
                                       " is not in 1..", kMaxSuffixes));
    }
    if (absl::Status s = in.fits(*count, kMinSuffixBytes, 0, absl::StrCat(where, " suffix"));
        !s.ok()) {
      return s;
    }
    diff.suffixes.resize(*count);
    for (std::uint16_t j = 0; j < *count; ++j) {
      SuffixDiff& sd = diff.suffixes[j];
      const std::string at = absl::StrCat(where, ".suffix[", j, "]");
      absl::StatusOr<std::uint8_t> suffix = in.u8(at);
      if (!suffix.ok()) return suffix.status();
      sd.suffix = *suffix;
      absl::StatusOr<std::uint8_t> flags = in.u8(absl::StrCat(at, " flags"));
      if (!flags.ok()) return flags.status();
      if ((*flags & ~(kFlagCurrent | kFlagNext)) != 0) {
        return binary_error(absl::StrCat(at, ": bad flags 0x", absl::Hex(*flags, absl::kZeroPad2),
                                         " at byte ", in.pos() - 1,
                                         " (only bits 0 and 1 are defined)"));
      }
      if (*flags & kFlagCurrent) {
        Value32 v{};
        if (absl::Status s = in.array(v, absl::StrCat(at, " currentValue")); !s.ok()) return s;
        sd.current = v;
      }
      if (*flags & kFlagNext) {
        Value32 v{};
        if (absl::Status s = in.array(v, absl::StrCat(at, " newValue")); !s.ok()) return s;
        sd.next = v;
      }
    }
  }
  if (absl::Status s = in.fits(*stems, 1, kTailBytes, "depthExtensionPresent"); !s.ok()) return s;
  out.extension_statuses.resize(*stems);
  if (absl::Status s = in.take(out.extension_statuses.data(), *stems, "depthExtensionPresent");
      !s.ok()) {
    return s;
  }

  absl::StatusOr<std::uint32_t> others = in.u32("otherStems count");
  if (!others.ok()) return others.status();
  if (*others > kMaxWitnessStems) {
    return binary_error(
        absl::StrCat("otherStems count ", *others, " exceeds the limit of ", kMaxWitnessStems));
  }
  if (absl::Status s = in.fits(*others, kStemBytes, 4 + kMultiproofBytes, "otherStems"); !s.ok()) {
    return s;
  }
  out.other_stems.resize(*others);
  for (std::uint32_t i = 0; i < *others; ++i) {
    if (absl::Status s = in.array(out.other_stems[i], absl::StrCat("otherStems[", i, "]"));
        !s.ok()) {
      return s;
    }
  }

  absl::StatusOr<std::uint32_t> commitments = in.u32("commitmentsByPath count");
  if (!commitments.ok()) return commitments.status();
  if (*commitments > kMaxWitnessCommitments) {
    return binary_error(absl::StrCat("commitmentsByPath count ", *commitments,
                                     " exceeds the limit of ", kMaxWitnessCommitments));
  }
  if (absl::Status s = in.fits(*commitments, 32, kMultiproofBytes, "commitmentsByPath"); !s.ok()) {
    return s;
  }
  out.commitments_by_path.resize(*commitments);
  for (std::uint32_t i = 0; i < *commitments; ++i) {
    if (absl::Status s =
            in.array(out.commitments_by_path[i], absl::StrCat("commitmentsByPath[", i, "]"));
        !s.ok()) {
      return s;
    }
  }

  MultiproofBytes proof{};
  if (absl::Status s = in.array(proof, "multiproof"); !s.ok()) return s;
  out.set_multiproof(proof);

  if (in.remaining() != 0) {
    return binary_error(
        absl::StrCat(in.remaining(), " trailing byte(s) after the witness at byte ", in.pos()));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- VerkleWitness ------------------------------------------------------------------------------

MultiproofBytes VerkleWitness::multiproof_bytes() const {
  MultiproofBytes out{};
  std::uint8_t* p = out.data();
  p = std::copy(d.begin(), d.end(), p);
  for (const PointBytes& l : cl) p = std::copy(l.begin(), l.end(), p);
  for (const PointBytes& r : cr) p = std::copy(r.begin(), r.end(), p);
  std::copy(final_evaluation_le.begin(), final_evaluation_le.end(), p);
  return out;
}

void VerkleWitness::set_multiproof(const MultiproofBytes& bytes) {
  const std::uint8_t* p = bytes.data();
  std::copy(p, p + 32, d.begin());
  p += 32;
  for (PointBytes& l : cl) {
    std::copy(p, p + 32, l.begin());
    p += 32;
  }
  for (PointBytes& r : cr) {
    std::copy(p, p + 32, r.begin());
    p += 32;
  }
  std::copy(p, p + 32, final_evaluation_le.begin());
}

std::size_t VerkleWitness::key_count() const {
  std::size_t count = 0;
  for (const StemDiff& diff : state_diff) count += diff.suffixes.size();
  return count;
}

// ---- JSON ---------------------------------------------------------------------------------------

std::string witness_to_json(const VerkleWitness& witness) {
  using ordered = nlohmann::ordered_json;
  auto optional_hex = [](const std::optional<Value32>& v) -> ordered {
    return v ? ordered(hex_of(*v)) : ordered(nullptr);
  };
  ordered diff = ordered::array();
  for (const StemDiff& stem : witness.state_diff) {
    ordered suffixes = ordered::array();
    for (const SuffixDiff& sd : stem.suffixes) {
      ordered entry = ordered::object();
      entry["suffix"] = static_cast<unsigned>(sd.suffix);
      entry["currentValue"] = optional_hex(sd.current);
      entry["newValue"] = optional_hex(sd.next);
      suffixes.push_back(std::move(entry));
    }
    ordered entry = ordered::object();
    entry["stem"] = hex_of(stem.stem);
    entry["suffixDiffs"] = std::move(suffixes);
    diff.push_back(std::move(entry));
  }
  ordered other = ordered::array();
  for (const Stem& stem : witness.other_stems) other.push_back(hex_of(stem));
  ordered commitments = ordered::array();
  for (const PointBytes& c : witness.commitments_by_path) commitments.push_back(hex_of(c));
  ordered cl = ordered::array();
  for (const PointBytes& l : witness.cl) cl.push_back(hex_of(l));
  ordered cr = ordered::array();
  for (const PointBytes& r : witness.cr) cr.push_back(hex_of(r));
  std::array<std::uint8_t, 32> big_endian{};
  std::reverse_copy(witness.final_evaluation_le.begin(), witness.final_evaluation_le.end(),
                    big_endian.begin());

  ordered ipa = ordered::object();
  ipa["cl"] = std::move(cl);
  ipa["cr"] = std::move(cr);
  ipa["finalEvaluation"] = hex_of(big_endian);
  ordered proof = ordered::object();
  proof["otherStems"] = std::move(other);
  proof["depthExtensionPresent"] = hex_of(witness.extension_statuses);
  proof["commitmentsByPath"] = std::move(commitments);
  proof["d"] = hex_of(witness.d);
  proof["ipaProof"] = std::move(ipa);
  ordered out = ordered::object();
  out["stateDiff"] = std::move(diff);
  out["verkleProof"] = std::move(proof);
  if (witness.parent_state_root) out["parentStateRoot"] = hex_of(*witness.parent_state_root);
  return out.dump();  // only ASCII strings: dump cannot throw
}

absl::StatusOr<VerkleWitness> witness_from_json(std::string_view text) {
  try {
    const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return absl::InvalidArgumentError("witness: not valid JSON");
    if (!doc.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("witness: expected a JSON object, got ", describe(doc)));
    }
    // A block file wraps the witness: {"header": ..., "executionWitness": {...}}.
    const json* object = &doc;
    std::string path;
    if (!doc.contains("stateDiff")) {
      if (const json* wrapped = member(doc, "executionWitness"); wrapped != nullptr) {
        path = "executionWitness";
        if (absl::Status s = expect_type(*wrapped, path, json::value_t::object, "an object");
            !s.ok()) {
          return s;
        }
        object = wrapped;
      }
    }
    VerkleWitness witness;
    if (absl::Status s = parse_witness_object(*object, path, witness); !s.ok()) return s;
    return witness;
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("witness: out of memory");
  } catch (const std::exception& e) {
    // Not expected (types are checked before every get), but never let one escape.
    return absl::InternalError(absl::StrCat("witness: ", e.what()));
  }
}

// ---- binary -------------------------------------------------------------------------------------

std::string witness_to_binary(const VerkleWitness& witness) {
  std::string out;
  std::size_t size = kMagic.size() + 4 + witness.state_diff.size() * (kStemBytes + 2 + 1) + 8 +
                     witness.other_stems.size() * kStemBytes +
                     witness.commitments_by_path.size() * 32 + kMultiproofBytes;
  for (const StemDiff& diff : witness.state_diff) size += diff.suffixes.size() * (2 + 64);
  out.reserve(size);

  out += kMagic;
  append_u32(out, static_cast<std::uint32_t>(witness.state_diff.size()));
  for (const StemDiff& diff : witness.state_diff) {
    append_bytes(out, diff.stem);
    // A stem with more than 256 suffixes cannot be a witness: write 257 of them, which the reader
    // rejects, rather than a count that wraps.
    const std::size_t count = std::min(diff.suffixes.size(), kMaxSuffixes + 1);
    append_u16(out, static_cast<std::uint16_t>(count));
    for (std::size_t j = 0; j < count; ++j) {
      const SuffixDiff& sd = diff.suffixes[j];
      out.push_back(static_cast<char>(sd.suffix));
      out.push_back(static_cast<char>((sd.current ? kFlagCurrent : 0) | (sd.next ? kFlagNext : 0)));
      if (sd.current) append_bytes(out, *sd.current);
      if (sd.next) append_bytes(out, *sd.next);
    }
  }
  // One byte per stem, no count. A witness whose depthExtensionPresent does not have one byte per
  // stem (the JSON codec lets that through for the verifier to reject) cannot be written as it is:
  // every byte is then written as 0xff (status 7, which no verifier accepts) so that it stays
  // invalid.
  if (witness.extension_statuses.size() == witness.state_diff.size()) {
    append_bytes(out, witness.extension_statuses);
  } else {
    out.append(witness.state_diff.size(), '\xff');
  }
  append_u32(out, static_cast<std::uint32_t>(witness.other_stems.size()));
  for (const Stem& stem : witness.other_stems) append_bytes(out, stem);
  append_u32(out, static_cast<std::uint32_t>(witness.commitments_by_path.size()));
  for (const PointBytes& c : witness.commitments_by_path) append_bytes(out, c);
  append_bytes(out, witness.multiproof_bytes());
  return out;
}

absl::StatusOr<VerkleWitness> witness_from_binary(std::string_view bytes) {
  Reader in(bytes);
  VerkleWitness witness;
  if (absl::Status s = read_binary(in, witness); !s.ok()) return s;
  return witness;
}

absl::StatusOr<VerkleWitness> parse_witness(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) == kMagic) return witness_from_binary(bytes);
  return witness_from_json(bytes);
}

}  // namespace arbor::verkle
