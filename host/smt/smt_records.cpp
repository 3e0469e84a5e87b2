#include "host/smt/smt_records.hpp"

#include <bit>

#include "absl/strings/str_cat.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"

namespace arbor::smt {

KeyBits key_bits(const Fr& key) {
  KeyBits bits;
  std::uint64_t limbs[4];
  field::to_canonical_limbs(key, limbs);
  for (int i = 0; i < 4; ++i) bits[i] = limbs[i];
  return bits;
}

std::array<std::uint64_t, 4> path_order(const KeyBits& bits) {
  auto reverse = [](std::uint64_t x) {
    x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
    x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
    x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(x);
  };
  return {reverse(bits[0]), reverse(bits[1]), reverse(bits[2]), reverse(bits[3])};
}

bool same_path(const KeyBits& a, const KeyBits& b, int depth) {
  for (int limb = 0; limb < 4 && depth > 0; ++limb, depth -= 64) {
    const std::uint64_t mask = depth >= 64 ? ~0ULL : ((1ULL << depth) - 1);
    if ((a[limb] ^ b[limb]) & mask) return false;
  }
  return true;
}

std::string node_key(int depth, const KeyBits& bits) {
  std::string key(kNodeKeyBytes, '\0');
  key[0] = static_cast<char>(depth);
  int remaining = depth;
  for (int limb = 0; limb < 4; ++limb, remaining -= 64) {
    std::uint64_t value = 0;
    if (remaining >= 64) {
      value = bits[limb];
    } else if (remaining > 0) {
      value = bits[limb] & ((1ULL << remaining) - 1);
    }
    for (int byte = 0; byte < 8; ++byte) {
      key[1 + (3 - limb) * 8 + (7 - byte)] = static_cast<char>(value >> (8 * byte));
    }
  }
  return key;
}

void append_fr(std::string& out, const Fr& value) {
  const auto bytes = field::to_bytes_be(value);
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string fr_bytes(const Fr& value) {
  std::string out;
  out.reserve(32);
  append_fr(out, value);
  return out;
}

std::string value_key(const Fr& key) { return fr_bytes(key); }

absl::StatusOr<Fr> wire_fr(std::string_view bytes, std::string_view field) {
  if (bytes.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", bytes.size(), " bytes, expected 32 (big-endian)"));
  }
  absl::StatusOr<Fr> value =
      field::from_bytes_be(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", std::string(value.status().message())));
  }
  return value;
}

absl::StatusOr<Fr> stored_fr(std::string_view bytes, std::string_view what) {
  absl::StatusOr<Fr> value =
      field::from_bytes_be(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!value.ok()) {
    return absl::DataLossError(
        absl::StrCat(std::string(what), " is corrupt: ", std::string(value.status().message())));
  }
  return value;
}

std::string encode_leaf(const Fr& key, const Fr& value) {
  std::string out;
  out.reserve(65);
  out.push_back(kLeafTag);
  append_fr(out, key);
  append_fr(out, value);
  return out;
}

std::string encode_internal(const Fr& left, const Fr& right) {
  std::string out;
  out.reserve(65);
  out.push_back(kInternalTag);
  append_fr(out, left);
  append_fr(out, right);
  return out;
}

absl::StatusOr<NodeRecord> decode_node(std::string_view bytes, std::string_view where) {
  if (bytes.size() != 65 || (bytes[0] != kLeafTag && bytes[0] != kInternalTag)) {
    return absl::DataLossError(absl::StrCat(std::string(where), " is corrupt: ", bytes.size(),
                                            "-byte record, expected 65 bytes tagged L or I"));
  }
  NodeRecord record;
  record.kind = bytes[0] == kLeafTag ? NodeRecord::Kind::kLeaf : NodeRecord::Kind::kInternal;
  absl::StatusOr<Fr> first = stored_fr(bytes.substr(1, 32), where);
  if (!first.ok()) return first.status();
  absl::StatusOr<Fr> second = stored_fr(bytes.substr(33, 32), where);
  if (!second.ok()) return second.status();
  record.first = *first;
  record.second = *second;
  return record;
}

std::string encode_params(const SmtParams& params) {
  return nlohmann::json{{"max_depth", params.max_depth}, {"page_levels", params.page_levels}}
      .dump();
}

absl::StatusOr<SmtParams> decode_params(std::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("max_depth") || !json["max_depth"].is_number_unsigned()) {
    return absl::DataLossError(
        absl::StrCat("SMT parameters are corrupt: ", std::string(text.substr(0, 80))));
  }
  SmtParams params;
  const auto depth = json["max_depth"].get<std::uint64_t>();
  if (depth < 1 || depth > kMaxDepthLimit) {
    return absl::DataLossError(absl::StrCat("SMT parameters are corrupt: max_depth ", depth));
  }
  params.max_depth = static_cast<int>(depth);
  if (json.contains("page_levels")) {
    const nlohmann::json& levels = json["page_levels"];
    if (!levels.is_number_unsigned() || levels.get<std::uint64_t>() < 1 ||
        levels.get<std::uint64_t>() > kMaxPageLevels) {
      return absl::DataLossError(
          absl::StrCat("SMT parameters are corrupt: page_levels ", levels.dump().substr(0, 40)));
    }
    params.page_levels = static_cast<int>(levels.get<std::uint64_t>());
  }
  return params;
}

}  // namespace arbor::smt
