#include "host/smt/smt_proof_codec.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::smt {
namespace {

using nlohmann::json;

absl::Status malformed(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed proof: ", std::string(why)));
}

std::string zero_beside_terminal(size_t i) {
  return absl::StrCat("sibling ", i,
                      " is 0 beside a leaf or an empty slot, which no tree has (the leaf would "
                      "have moved up, the empty slots merged)");
}

// The entries' shape, with its errors as decoding errors.
absl::StatusOr<MultiProofShape> shape_of(std::span<const MultiProofEntry> entries,
                                         const ProofLimits& limits) {
  absl::StatusOr<MultiProofShape> shape = multi_proof_shape(entries, limits);
  if (!shape.ok()) return malformed(std::string(shape.status().message()));
  return shape;
}

// The caps a decoder applies before allocating (multi_proof_shape applies the same).
size_t max_entries(const ProofLimits& limits) {
  return std::min<size_t>(limits.max_entries, kMaxMultiProofEntries);
}
int max_depth(const ProofLimits& limits) { return std::clamp(limits.max_depth, 0, kMaxDepthLimit); }

absl::Status check_nonzero(const MultiProofShape& shape, std::span<const Fr> siblings) {
  for (const size_t i : shape.nonzero_siblings) {
    if (siblings[i].is_zero()) return malformed(zero_beside_terminal(i));
  }
  return absl::OkStatus();
}

constexpr std::uint8_t kFlagExistence = 1;
constexpr std::uint8_t kFlagAux = 2;

std::uint8_t flags_of(bool existence, const std::optional<Leaf>& aux) {
  return (existence ? kFlagExistence : 0) | (aux ? kFlagAux : 0);
}

void append_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

// Zero siblings cost one bit each: a bitmap of the non-zero ones, then those.
void append_siblings(std::string& out, std::span<const Fr> siblings) {
  std::string bitmap((siblings.size() + 7) / 8, '\0');
  for (size_t i = 0; i < siblings.size(); ++i) {
    if (!siblings[i].is_zero()) bitmap[i / 8] = static_cast<char>(bitmap[i / 8] | (1 << (i % 8)));
  }
  out += bitmap;
  for (const Fr& sibling : siblings) {
    if (!sibling.is_zero()) append_fr(out, sibling);
  }
}

void append_claim(std::string& out, const Fr& key, bool existence, const Fr& value,
                  const std::optional<Leaf>& aux) {
  append_fr(out, key);
  if (existence) append_fr(out, value);
  if (aux) {
    append_fr(out, aux->key);
    append_fr(out, aux->value);
  }
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t remaining() const { return bytes_.size() - pos_; }

  absl::StatusOr<std::uint8_t> u8(std::string_view what) {
    if (remaining() < 1) return truncated(what);
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  absl::StatusOr<std::uint32_t> u32(std::string_view what) {
    if (remaining() < 4) return truncated(what);
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      value |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += 4;
    return value;
  }
  absl::StatusOr<Fr> fr(std::string_view what) {
    if (remaining() < 32) return truncated(what);
    absl::StatusOr<Fr> value =
        field::from_bytes_be(reinterpret_cast<const std::uint8_t*>(bytes_.data() + pos_), 32);
    if (!value.ok()) {
      return malformed(absl::StrCat(std::string(what), " at byte ", pos_, ": ",
                                    std::string(value.status().message())));
    }
    pos_ += 32;
    return value;
  }
  absl::StatusOr<std::string_view> take(size_t count, std::string_view what) {
    if (remaining() < count) return truncated(what);
    std::string_view out = bytes_.substr(pos_, count);
    pos_ += count;
    return out;
  }
  absl::Status finish() const {
    if (remaining() != 0) {
      return malformed(absl::StrCat(remaining(), " unexpected byte(s) after the proof"));
    }
    return absl::OkStatus();
  }

  absl::Status claim(Fr& key, bool& existence, Fr& value, std::optional<Leaf>& aux,
                     std::uint8_t flags) {
    if (flags & ~(kFlagExistence | kFlagAux)) {
      return malformed(absl::StrCat("unknown flag bits 0x", absl::Hex(flags)));
    }
    existence = flags & kFlagExistence;
    if (existence && (flags & kFlagAux)) {
      return malformed("an inclusion proof cannot also name another leaf");
    }
    absl::StatusOr<Fr> k = fr("key");
    if (!k.ok()) return k.status();
    key = *k;
    value = Fr::zero();
    if (existence) {
      absl::StatusOr<Fr> v = fr("value");
      if (!v.ok()) return v.status();
      value = *v;
    }
    aux.reset();
    if (flags & kFlagAux) {
      absl::StatusOr<Fr> aux_key = fr("aux key");
      if (!aux_key.ok()) return aux_key.status();
      absl::StatusOr<Fr> aux_value = fr("aux value");
      if (!aux_value.ok()) return aux_value.status();
      aux = Leaf{*aux_key, *aux_value};
    }
    return absl::OkStatus();
  }

  // `nonzero`: the siblings a tree never makes 0 (MultiProofShape), checked on the bitmap before
  // anything is allocated for them.
  absl::StatusOr<std::vector<Fr>> siblings(size_t count, std::span<const size_t> nonzero) {
    absl::StatusOr<std::string_view> bitmap = take((count + 7) / 8, "sibling bitmap");
    if (!bitmap.ok()) return bitmap.status();
    auto is_set = [&](size_t i) {
      return (static_cast<std::uint8_t>((*bitmap)[i / 8]) >> (i % 8)) & 1;
    };
    if (count % 8 != 0 && (static_cast<std::uint8_t>(bitmap->back()) >> (count % 8)) != 0) {
      return malformed("the sibling bitmap has bits set past the last sibling");
    }
    for (const size_t i : nonzero) {
      if (!is_set(i)) return malformed(zero_beside_terminal(i));
    }
    size_t stored = 0;
    for (const char byte : *bitmap) stored += std::popcount(static_cast<std::uint8_t>(byte));
    if (stored > remaining() / 32) {
      return truncated(absl::StrCat(stored, " non-zero siblings of 32 bytes"));
    }
    std::vector<Fr> out(count, Fr::zero());
    for (size_t i = 0; i < count; ++i) {
      if (is_set(i)) {
        absl::StatusOr<Fr> sibling = fr(absl::StrCat("sibling ", i));
        if (!sibling.ok()) return sibling.status();
        if (sibling->is_zero()) {
          return malformed(absl::StrCat("sibling ", i, " is marked non-zero but is zero"));
        }
        out[i] = *sibling;
      }
    }
    return out;
  }

 private:
  absl::Status truncated(std::string_view what) const {
    return malformed(absl::StrCat("truncated at byte ", pos_, " (", std::string(what), ")"));
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

absl::Status check_magic(Reader& reader, const char (&magic)[2], std::string_view kind) {
  absl::StatusOr<std::string_view> head = reader.take(3, "header");
  if (!head.ok()) return head.status();
  if ((*head)[0] != magic[0] || (*head)[1] != magic[1]) {
    return malformed(absl::StrCat("not an Arbor ", std::string(kind), " (bad magic)"));
  }
  if (static_cast<std::uint8_t>((*head)[2]) != kProofCodecVersion) {
    return malformed(
        absl::StrCat("encoding version ", static_cast<int>(static_cast<std::uint8_t>((*head)[2])),
                     " is not supported (this build reads version ", kProofCodecVersion, ")"));
  }
  return absl::OkStatus();
}

// ---- JSON ----

std::string hex(const Fr& value) { return field::to_hex(value); }

absl::Status check_fields(const json& object, std::string_view what,
                          std::initializer_list<std::string_view> required,
                          std::initializer_list<std::string_view> optional) {
  if (!object.is_object()) return malformed(absl::StrCat(std::string(what), " is not an object"));
  for (std::string_view name : required) {
    if (!object.contains(std::string(name))) {
      return malformed(absl::StrCat(std::string(what), " has no \"", std::string(name), "\""));
    }
  }
  for (const auto& [name, value] : object.items()) {
    bool known = false;
    for (std::string_view n : required) known |= n == name;
    for (std::string_view n : optional) known |= n == name;
    if (!known) {
      return malformed(absl::StrCat(std::string(what), " has an unknown field \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

// One pass before the parser, which would hold any token whole (and twice): no string, and no
// run of bytes between structural characters (a number, whitespace), longer than
// kMaxProofJsonToken.
absl::Status check_json_tokens(std::string_view text) {
  size_t run = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        run = 0;
        continue;
      }
    } else if (c == '"') {
      in_string = true;
      run = 0;
      continue;
    } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
      run = 0;
      continue;
    }
    if (++run > kMaxProofJsonToken) {
      return malformed(absl::StrCat("the JSON has a string or token of more than ",
                                    kMaxProofJsonToken, " bytes, more than any proof"));
    }
  }
  return absl::OkStatus();
}

// Builds a JSON value from the parser's events, refusing to grow past kMaxProofJsonValues
// values or kMaxProofJsonDepth levels: the plain DOM parser would first build whatever the text
// holds (16 bytes and more per value, so `[0,0,...]` costs eight times its size).
class BoundedJsonBuilder : public nlohmann::json_sax<json> {
 public:
  explicit BoundedJsonBuilder(json& root) : root_(root) {}
  const std::string& error() const { return error_; }

  bool null() override { return add(json(nullptr)) != nullptr; }
  bool boolean(bool value) override { return add(json(value)) != nullptr; }
  bool number_integer(number_integer_t value) override { return add(json(value)) != nullptr; }
  bool number_unsigned(number_unsigned_t value) override { return add(json(value)) != nullptr; }
  bool number_float(number_float_t value, const string_t&) override {
    return add(json(value)) != nullptr;
  }
  bool string(string_t& value) override { return add(json(std::move(value))) != nullptr; }
  bool binary(binary_t& value) override { return add(json::binary(std::move(value))) != nullptr; }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  json* add(json value) {
    if (++values_ > kMaxProofJsonValues) {
      error_ = absl::StrCat("the JSON holds more than ", kMaxProofJsonValues,
                            " values, more than any proof");
      return nullptr;
    }
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }
  bool open(json container) {
    if (open_.size() >= static_cast<size_t>(kMaxProofJsonDepth)) {
      error_ = absl::StrCat("the JSON nests deeper than ", kMaxProofJsonDepth,
                            " levels, more than any proof");
      return false;
    }
    json* added = add(std::move(container));
    if (added == nullptr) return false;
    // Only the innermost open container grows, so the pointers to the outer ones stay valid.
    open_.push_back(added);
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  std::vector<json*> open_;
  string_t key_;
  size_t values_ = 0;
  std::string error_;
};

// A non-negative JSON integer, whether nlohmann holds it signed (built in memory) or unsigned
// (parsed from text).
std::optional<std::uint64_t> json_uint(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

absl::StatusOr<Fr> json_fr(const json& value, std::string_view what) {
  if (const auto number = json_uint(value)) return field::from_u64(*number);
  if (!value.is_string()) {
    return malformed(absl::StrCat(std::string(what), " must be a string holding a number"));
  }
  absl::StatusOr<Fr> parsed = field::parse_fr(value.get_ref<const std::string&>());
  if (!parsed.ok()) {
    return malformed(absl::StrCat(std::string(what), ": ", std::string(parsed.status().message())));
  }
  return parsed;
}

absl::StatusOr<bool> json_bool(const json& value, std::string_view what) {
  if (!value.is_boolean())
    return malformed(absl::StrCat(std::string(what), " must be true or false"));
  return value.get<bool>();
}

absl::StatusOr<std::vector<Fr>> json_fr_list(const json& value, std::string_view what,
                                             size_t max_count) {
  if (!value.is_array()) return malformed(absl::StrCat(std::string(what), " must be an array"));
  if (value.size() > max_count) {
    return malformed(absl::StrCat(std::string(what), " has ", value.size(), " entries; at most ",
                                  max_count, " are possible"));
  }
  std::vector<Fr> out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    absl::StatusOr<Fr> element = json_fr(value[i], absl::StrCat(std::string(what), "[", i, "]"));
    if (!element.ok()) return element.status();
    out.push_back(*element);
  }
  return out;
}

// The claim fields shared by the single and multi JSON forms.
absl::Status json_claim(const json& object, std::string_view what, Fr& key, bool& existence,
                        Fr& value, std::optional<Leaf>& aux) {
  absl::StatusOr<Fr> k = json_fr(object["key"], absl::StrCat(std::string(what), ".key"));
  if (!k.ok()) return k.status();
  key = *k;
  absl::StatusOr<bool> exists =
      json_bool(object["existence"], absl::StrCat(std::string(what), ".existence"));
  if (!exists.ok()) return exists.status();
  existence = *exists;
  value = Fr::zero();
  if (existence) {
    if (!object.contains("value")) {
      return malformed(absl::StrCat(std::string(what), ": an inclusion proof needs \"value\""));
    }
    absl::StatusOr<Fr> v = json_fr(object["value"], absl::StrCat(std::string(what), ".value"));
    if (!v.ok()) return v.status();
    value = *v;
  } else if (object.contains("value")) {
    return malformed(absl::StrCat(std::string(what), ": a non-inclusion proof has no \"value\""));
  }
  aux.reset();
  if (object.contains("aux") && !object["aux"].is_null()) {
    if (existence) {
      return malformed(
          absl::StrCat(std::string(what), ": an inclusion proof cannot also name another leaf"));
    }
    const json& leaf = object["aux"];
    const std::string where = absl::StrCat(std::string(what), ".aux");
    if (absl::Status fields = check_fields(leaf, where, {"key", "value"}, {}); !fields.ok()) {
      return fields;
    }
    absl::StatusOr<Fr> aux_key = json_fr(leaf["key"], where + ".key");
    if (!aux_key.ok()) return aux_key.status();
    absl::StatusOr<Fr> aux_value = json_fr(leaf["value"], where + ".value");
    if (!aux_value.ok()) return aux_value.status();
    aux = Leaf{*aux_key, *aux_value};
  }
  return absl::OkStatus();
}

void put_claim(json& out, const Fr& key, bool existence, const Fr& value,
               const std::optional<Leaf>& aux) {
  out["key"] = hex(key);
  out["existence"] = existence;
  if (existence) out["value"] = hex(value);
  out["aux"] = aux ? json{{"key", hex(aux->key)}, {"value", hex(aux->value)}} : json(nullptr);
}

json hex_list(std::span<const Fr> values) {
  json out = json::array();
  for (const Fr& value : values) out.push_back(hex(value));
  return out;
}

absl::StatusOr<std::optional<Fr>> json_root(const json& object) {
  if (!object.contains("root") || object["root"].is_null()) return std::optional<Fr>();
  absl::StatusOr<Fr> root = json_fr(object["root"], "root");
  if (!root.ok()) return root.status();
  return std::optional<Fr>(*root);
}

absl::Status check_header(const json& object, std::string_view scheme) {
  if (!object["scheme"].is_string() || object["scheme"].get<std::string>() != scheme) {
    return malformed(absl::StrCat("\"scheme\" must be \"", std::string(scheme), "\""));
  }
  if (json_uint(object["version"]) != std::optional<std::uint64_t>(1)) {
    return malformed("\"version\" must be 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<DecodedProof> single_from_json(const json& object, const ProofLimits& limits) {
  if (absl::Status fields =
          check_fields(object, "the proof", {"scheme", "version", "key", "existence", "siblings"},
                       {"root", "value", "aux"});
      !fields.ok()) {
    return fields;
  }
  if (absl::Status header = check_header(object, "arbor-smt-proof"); !header.ok()) return header;
  DecodedProof decoded;
  decoded.format = ProofFormat::kJson;
  SmtProof proof;
  if (absl::Status claim =
          json_claim(object, "the proof", proof.key, proof.existence, proof.value, proof.aux);
      !claim.ok()) {
    return claim;
  }
  absl::StatusOr<std::vector<Fr>> siblings =
      json_fr_list(object["siblings"], "siblings", static_cast<size_t>(max_depth(limits)));
  if (!siblings.ok()) return siblings.status();
  proof.siblings = std::move(*siblings);
  const MultiProofEntry entry{proof.key, proof.existence, proof.value, proof.aux, proof.depth()};
  absl::StatusOr<MultiProofShape> shape = shape_of(std::span(&entry, 1), limits);
  if (!shape.ok()) return shape.status();
  if (absl::Status nonzero = check_nonzero(*shape, proof.siblings); !nonzero.ok()) return nonzero;
  absl::StatusOr<std::optional<Fr>> root = json_root(object);
  if (!root.ok()) return root.status();
  decoded.root = *root;
  decoded.proof = std::move(proof);
  return decoded;
}

absl::StatusOr<DecodedProof> multi_from_json(const json& object, const ProofLimits& limits) {
  if (absl::Status fields = check_fields(object, "the multi-proof",
                                         {"scheme", "version", "entries", "siblings"}, {"root"});
      !fields.ok()) {
    return fields;
  }
  if (absl::Status header = check_header(object, "arbor-smt-multiproof"); !header.ok()) {
    return header;
  }
  const json& entries = object["entries"];
  if (!entries.is_array() || entries.empty() || entries.size() > max_entries(limits)) {
    return malformed(
        absl::StrCat("\"entries\" must be an array of 1 to ", max_entries(limits), " entries"));
  }
  SmtMultiProof proof;
  proof.entries.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string what = absl::StrCat("entries[", i, "]");
    if (absl::Status fields =
            check_fields(entries[i], what, {"key", "existence", "depth"}, {"value", "aux"});
        !fields.ok()) {
      return fields;
    }
    MultiProofEntry entry;
    if (absl::Status claim =
            json_claim(entries[i], what, entry.key, entry.existence, entry.value, entry.aux);
        !claim.ok()) {
      return claim;
    }
    const json& depth = entries[i]["depth"];
    const std::optional<std::uint64_t> depth_value = json_uint(depth);
    if (!depth_value || *depth_value > kMaxDepthLimit) {
      return malformed(absl::StrCat(what, ".depth must be an integer 0..", kMaxDepthLimit));
    }
    entry.depth = static_cast<int>(*depth_value);
    proof.entries.push_back(entry);
  }
  absl::StatusOr<MultiProofShape> shape = shape_of(proof.entries, limits);
  if (!shape.ok()) return shape.status();
  const json& siblings = object["siblings"];
  if (!siblings.is_array()) return malformed("siblings must be an array");
  if (siblings.size() < shape->siblings) {
    return malformed(absl::StrCat("the proof has too few siblings (", siblings.size(),
                                  "; its entries' paths use ", shape->siblings, ")"));
  }
  if (siblings.size() > shape->siblings) {
    return malformed(absl::StrCat("the proof has ", siblings.size() - shape->siblings,
                                  " sibling(s) more than its paths use (", shape->siblings, ")"));
  }
  absl::StatusOr<std::vector<Fr>> parsed = json_fr_list(siblings, "siblings", shape->siblings);
  if (!parsed.ok()) return parsed.status();
  proof.siblings = std::move(*parsed);
  if (absl::Status nonzero = check_nonzero(*shape, proof.siblings); !nonzero.ok()) return nonzero;
  DecodedProof decoded;
  decoded.format = ProofFormat::kJson;
  absl::StatusOr<std::optional<Fr>> root = json_root(object);
  if (!root.ok()) return root.status();
  decoded.root = *root;
  decoded.proof = std::move(proof);
  return decoded;
}

absl::StatusOr<int> circom_flag(const json& value, std::string_view what) {
  absl::StatusOr<Fr> parsed = json_fr(value, what);
  if (!parsed.ok()) return parsed.status();
  if (*parsed == Fr::zero()) return 0;
  if (*parsed == Fr::one()) return 1;
  return malformed(absl::StrCat(std::string(what), " must be 0 or 1"));
}

absl::StatusOr<DecodedProof> circom_from_json(const json& object, const ProofLimits& limits) {
  if (absl::Status fields = check_fields(
          object, "the circom input",
          {"enabled", "fnc", "root", "siblings", "oldKey", "oldValue", "isOld0", "key", "value"},
          {});
      !fields.ok()) {
    return fields;
  }
  absl::StatusOr<int> enabled = circom_flag(object["enabled"], "enabled");
  if (!enabled.ok()) return enabled.status();
  if (*enabled != 1) return malformed("enabled must be 1: with 0 the circuit checks nothing");
  absl::StatusOr<int> fnc = circom_flag(object["fnc"], "fnc");
  if (!fnc.ok()) return fnc.status();
  absl::StatusOr<int> is_old0 = circom_flag(object["isOld0"], "isOld0");
  if (!is_old0.ok()) return is_old0.status();
  absl::StatusOr<Fr> root = json_fr(object["root"], "root");
  if (!root.ok()) return root.status();
  absl::StatusOr<Fr> key = json_fr(object["key"], "key");
  if (!key.ok()) return key.status();
  absl::StatusOr<Fr> value = json_fr(object["value"], "value");
  if (!value.ok()) return value.status();
  absl::StatusOr<Fr> old_key = json_fr(object["oldKey"], "oldKey");
  if (!old_key.ok()) return old_key.status();
  absl::StatusOr<Fr> old_value = json_fr(object["oldValue"], "oldValue");
  if (!old_value.ok()) return old_value.status();
  absl::StatusOr<std::vector<Fr>> siblings =
      json_fr_list(object["siblings"], "siblings", kMaxDepthLimit + 1);
  if (!siblings.ok()) return siblings.status();
  if (siblings->empty()) return malformed("siblings must have nLevels >= 1 entries");
  // The circuit's own rule: the last level's sibling is always 0.
  if (!siblings->back().is_zero()) return malformed("the last sibling must be 0 (circuit rule)");

  if (*fnc == 0 && *is_old0 == 1) {
    return malformed("isOld0 must be 0 in an inclusion proof (circuit rule)");
  }
  SmtProof proof;
  proof.key = *key;
  proof.existence = *fnc == 0;
  if (proof.existence) {
    proof.value = *value;
  } else if (*is_old0 == 0) {
    proof.aux = Leaf{*old_key, *old_value};
  }
  // The path ends below the last non-zero sibling (every real path's last sibling is non-zero).
  size_t depth = siblings->size();
  while (depth > 0 && (*siblings)[depth - 1].is_zero()) --depth;
  proof.siblings.assign(siblings->begin(), siblings->begin() + static_cast<long>(depth));
  const MultiProofEntry entry{proof.key, proof.existence, proof.value, proof.aux, proof.depth()};
  if (absl::StatusOr<MultiProofShape> shape = shape_of(std::span(&entry, 1), limits); !shape.ok()) {
    return shape.status();
  }

  DecodedProof decoded;
  decoded.format = ProofFormat::kCircom;
  decoded.root = *root;
  decoded.circom_levels = static_cast<int>(siblings->size());
  decoded.proof = std::move(proof);
  return decoded;
}

}  // namespace

absl::StatusOr<ProofFormat> parse_proof_format(std::string_view name) {
  if (name == "binary") return ProofFormat::kBinary;
  if (name == "json") return ProofFormat::kJson;
  if (name == "circom") return ProofFormat::kCircom;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown proof format \"", std::string(name), "\" (binary, json or circom)"));
}

std::string_view to_string(ProofFormat format) {
  switch (format) {
    case ProofFormat::kBinary:
      return "binary";
    case ProofFormat::kJson:
      return "json";
    case ProofFormat::kCircom:
      return "circom";
  }
  return "?";
}

std::string encode_proof_binary(const SmtProof& proof) {
  std::string out(kProofMagic, 2);
  out.push_back(static_cast<char>(kProofCodecVersion));
  out.push_back(static_cast<char>(flags_of(proof.existence, proof.aux)));
  out.push_back(static_cast<char>(proof.depth()));
  append_claim(out, proof.key, proof.existence, proof.value, proof.aux);
  append_siblings(out, proof.siblings);
  return out;
}

absl::StatusOr<SmtProof> decode_proof_binary(std::string_view bytes, const ProofLimits& limits) {
  Reader reader(bytes);
  if (absl::Status magic = check_magic(reader, kProofMagic, "SMT proof"); !magic.ok()) return magic;
  absl::StatusOr<std::uint8_t> flags = reader.u8("flags");
  if (!flags.ok()) return flags.status();
  absl::StatusOr<std::uint8_t> depth = reader.u8("depth");
  if (!depth.ok()) return depth.status();
  if (*depth > kMaxDepthLimit) {
    return malformed(absl::StrCat("depth ", static_cast<int>(*depth), " exceeds ", kMaxDepthLimit));
  }
  SmtProof proof;
  if (absl::Status claim = reader.claim(proof.key, proof.existence, proof.value, proof.aux, *flags);
      !claim.ok()) {
    return claim;
  }
  const MultiProofEntry entry{proof.key, proof.existence, proof.value, proof.aux, *depth};
  absl::StatusOr<MultiProofShape> shape = shape_of(std::span(&entry, 1), limits);
  if (!shape.ok()) return shape.status();
  absl::StatusOr<std::vector<Fr>> siblings = reader.siblings(*depth, shape->nonzero_siblings);
  if (!siblings.ok()) return siblings.status();
  proof.siblings = std::move(*siblings);
  if (absl::Status end = reader.finish(); !end.ok()) return end;
  return proof;
}

std::string encode_multi_proof_binary(const SmtMultiProof& proof) {
  std::string out(kMultiProofMagic, 2);
  out.push_back(static_cast<char>(kProofCodecVersion));
  append_u32(out, static_cast<std::uint32_t>(proof.entries.size()));
  for (const MultiProofEntry& entry : proof.entries) {
    out.push_back(static_cast<char>(flags_of(entry.existence, entry.aux)));
    out.push_back(static_cast<char>(entry.depth));
    append_claim(out, entry.key, entry.existence, entry.value, entry.aux);
  }
  append_u32(out, static_cast<std::uint32_t>(proof.siblings.size()));
  append_siblings(out, proof.siblings);
  return out;
}

absl::StatusOr<SmtMultiProof> decode_multi_proof_binary(std::string_view bytes,
                                                        const ProofLimits& limits) {
  Reader reader(bytes);
  if (absl::Status magic = check_magic(reader, kMultiProofMagic, "SMT multi-proof"); !magic.ok()) {
    return magic;
  }
  absl::StatusOr<std::uint32_t> count = reader.u32("entry count");
  if (!count.ok()) return count.status();
  // Each entry takes at least 34 bytes, so a count the data cannot hold is refused up front.
  if (*count == 0 || *count > max_entries(limits) || *count > reader.remaining() / 34) {
    return malformed(absl::StrCat("entry count ", *count, " is impossible here"));
  }
  SmtMultiProof proof;
  proof.entries.resize(*count);
  for (MultiProofEntry& entry : proof.entries) {
    absl::StatusOr<std::uint8_t> flags = reader.u8("entry flags");
    if (!flags.ok()) return flags.status();
    absl::StatusOr<std::uint8_t> depth = reader.u8("entry depth");
    if (!depth.ok()) return depth.status();
    if (*depth > kMaxDepthLimit) {
      return malformed(
          absl::StrCat("depth ", static_cast<int>(*depth), " exceeds ", kMaxDepthLimit));
    }
    entry.depth = *depth;
    if (absl::Status claim =
            reader.claim(entry.key, entry.existence, entry.value, entry.aux, *flags);
        !claim.ok()) {
      return claim;
    }
  }
  // Order, shape and caps, from the entries alone: the sibling count they need is known before
  // the bitmap is read.
  absl::StatusOr<MultiProofShape> shape = shape_of(proof.entries, limits);
  if (!shape.ok()) return shape.status();
  absl::StatusOr<std::uint32_t> sibling_count = reader.u32("sibling count");
  if (!sibling_count.ok()) return sibling_count.status();
  if (*sibling_count != shape->siblings) {
    return malformed(absl::StrCat("sibling count ", *sibling_count,
                                  " is impossible here: the entries' paths use ", shape->siblings));
  }
  absl::StatusOr<std::vector<Fr>> siblings =
      reader.siblings(*sibling_count, shape->nonzero_siblings);
  if (!siblings.ok()) return siblings.status();
  proof.siblings = std::move(*siblings);
  if (absl::Status end = reader.finish(); !end.ok()) return end;
  return proof;
}

nlohmann::json proof_to_json(const SmtProof& proof, const std::optional<Fr>& root) {
  json out = {{"scheme", "arbor-smt-proof"}, {"version", 1}};
  if (root) out["root"] = hex(*root);
  put_claim(out, proof.key, proof.existence, proof.value, proof.aux);
  out["siblings"] = hex_list(proof.siblings);
  return out;
}

nlohmann::json multi_proof_to_json(const SmtMultiProof& proof, const std::optional<Fr>& root) {
  json out = {{"scheme", "arbor-smt-multiproof"}, {"version", 1}};
  if (root) out["root"] = hex(*root);
  json entries = json::array();
  for (const MultiProofEntry& entry : proof.entries) {
    json item;
    put_claim(item, entry.key, entry.existence, entry.value, entry.aux);
    item["depth"] = entry.depth;
    entries.push_back(std::move(item));
  }
  out["entries"] = std::move(entries);
  out["siblings"] = hex_list(proof.siblings);
  return out;
}

absl::StatusOr<nlohmann::json> proof_to_circom(const SmtProof& proof, const Fr& root, int levels) {
  if (levels < 1 || levels > kMaxDepthLimit + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("circom levels must be 1..", kMaxDepthLimit + 1, ", got ", levels));
  }
  if (proof.depth() + 1 > levels) {
    return absl::OutOfRangeError(absl::StrCat(
        "the key's path is ", proof.depth(), " levels deep; SMTVerifier(nLevels) needs nLevels >= ",
        proof.depth() + 1, " for it (its last sibling must be 0), got ", levels));
  }
  if (proof.depth() > 0 && proof.siblings.back().is_zero()) {
    return absl::InvalidArgumentError(
        "the proof's last sibling is 0, which the circuit cannot place: not a proof from a tree");
  }
  auto dec = [](const Fr& value) { return field::to_decimal(value); };
  json siblings = json::array();
  for (int i = 0; i < levels; ++i) {
    siblings.push_back(i < proof.depth() ? dec(proof.siblings[i]) : std::string("0"));
  }
  const bool ends_at_leaf = proof.aux.has_value();
  return json{{"enabled", "1"},
              {"fnc", proof.existence ? "0" : "1"},
              {"root", dec(root)},
              {"siblings", std::move(siblings)},
              {"oldKey", ends_at_leaf ? dec(proof.aux->key) : "0"},
              {"oldValue", ends_at_leaf ? dec(proof.aux->value) : "0"},
              {"isOld0", proof.existence || ends_at_leaf ? "0" : "1"},
              {"key", dec(proof.key)},
              {"value", proof.existence ? dec(proof.value) : "0"}};
}

absl::StatusOr<DecodedProof> decode_proof_json(const nlohmann::json& object,
                                               const ProofLimits& limits) {
  if (!object.is_object()) return malformed("the proof is not a JSON object");
  if (object.contains("fnc") || object.contains("enabled")) return circom_from_json(object, limits);
  if (object.contains("entries")) return multi_from_json(object, limits);
  return single_from_json(object, limits);
}

absl::StatusOr<nlohmann::json> parse_proof_json(std::string_view text) {
  if (absl::Status tokens = check_json_tokens(text); !tokens.ok()) return tokens;
  json value;
  BoundedJsonBuilder builder(value);
  if (!json::sax_parse(text, &builder)) {
    if (!builder.error().empty()) return malformed(builder.error());
    return malformed("neither an Arbor binary proof nor valid JSON");
  }
  return value;
}

absl::StatusOr<DecodedProof> decode_any_proof(std::string_view bytes, const ProofLimits& limits) {
  if (bytes.size() >= 2 && bytes[0] == kProofMagic[0] && bytes[1] == kProofMagic[1]) {
    absl::StatusOr<SmtProof> proof = decode_proof_binary(bytes, limits);
    if (!proof.ok()) return proof.status();
    return DecodedProof{ProofFormat::kBinary, std::move(*proof), std::nullopt, 0};
  }
  if (bytes.size() >= 2 && bytes[0] == kMultiProofMagic[0] && bytes[1] == kMultiProofMagic[1]) {
    absl::StatusOr<SmtMultiProof> proof = decode_multi_proof_binary(bytes, limits);
    if (!proof.ok()) return proof.status();
    return DecodedProof{ProofFormat::kBinary, std::move(*proof), std::nullopt, 0};
  }
  absl::StatusOr<json> object = parse_proof_json(bytes);
  if (!object.ok()) return object.status();
  return decode_proof_json(*object, limits);
}

absl::Status verify_decoded(const Fr& root, const DecodedProof& decoded,
                            const ProofLimits& limits) {
  if (decoded.root && *decoded.root != root) {
    return absl::InvalidArgumentError(
        absl::StrCat("the proof is for root ", hex(*decoded.root), ", not ", hex(root)));
  }
  if (const auto* single = std::get_if<SmtProof>(&decoded.proof)) {
    return verify_proof(root, *single, limits);
  }
  return verify_multi_proof(root, std::get<SmtMultiProof>(decoded.proof), limits);
}

}  // namespace arbor::smt
