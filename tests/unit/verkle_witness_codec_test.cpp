// The execution witness codecs (host/verkle/verkle_witness.hpp): go-verkle's JSON against the
// witnesses in ../shared/vectors/verkle (a Kaustinen block's witness and rust-verkle-java's block
// files), Arbor's binary form, round trips of both on those and on random witnesses, and malformed
// input of every kind rejected with INVALID_ARGUMENT naming the field.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "host/verkle/verkle_witness.hpp"
#include "nlohmann/json.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using nlohmann::json;
using testing::bytes_from_hex;
using testing::hex_of;

std::filesystem::path verkle_dir() { return testing::vectors_dir() / "verkle"; }

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct VectorFile {
  const char* name;  // relative to verkle_dir()
  bool block;        // {"header": ..., "executionWitness": {...}}
};

const VectorFile kVectorFiles[] = {
    {"kaustinen_block_0x62_execution_witness.json", false},
    {"rust-verkle-java-resources/valid_block_1.json", true},
    {"rust-verkle-java-resources/valid_block_72.json", true},
    {"rust-verkle-java-resources/valid_block_73.json", true},
    {"rust-verkle-java-resources/invalid_block_72.json", true},
    {"rust-verkle-java-resources/invalid_block_73.json", true},
};

// The witness object of a vector file, as plain JSON.
json witness_json(const VectorFile& file) {
  json doc = testing::read_json(verkle_dir() / file.name);
  return file.block ? doc["executionWitness"] : doc;
}

VerkleWitness parse_ok(std::string_view text) {
  absl::StatusOr<VerkleWitness> w = witness_from_json(text);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *w : VerkleWitness{};
}

VerkleWitness kaustinen() {
  return parse_ok(read_text(verkle_dir() / "kaustinen_block_0x62_execution_witness.json"));
}

void expect_same(const VerkleWitness& a, const VerkleWitness& b) {
  ASSERT_EQ(a.state_diff.size(), b.state_diff.size());
  for (std::size_t i = 0; i < a.state_diff.size(); ++i) {
    const StemDiff& x = a.state_diff[i];
    const StemDiff& y = b.state_diff[i];
    EXPECT_EQ(x.stem, y.stem) << "stem " << i;
    ASSERT_EQ(x.suffixes.size(), y.suffixes.size()) << "stem " << i;
    for (std::size_t j = 0; j < x.suffixes.size(); ++j) {
      EXPECT_EQ(x.suffixes[j].suffix, y.suffixes[j].suffix) << i << "/" << j;
      EXPECT_EQ(x.suffixes[j].current, y.suffixes[j].current) << i << "/" << j;
      EXPECT_EQ(x.suffixes[j].next, y.suffixes[j].next) << i << "/" << j;
    }
  }
  EXPECT_EQ(a.other_stems, b.other_stems);
  EXPECT_EQ(a.extension_statuses, b.extension_statuses);
  EXPECT_EQ(a.commitments_by_path, b.commitments_by_path);
  EXPECT_EQ(a.d, b.d);
  EXPECT_EQ(a.cl, b.cl);
  EXPECT_EQ(a.cr, b.cr);
  EXPECT_EQ(a.final_evaluation_le, b.final_evaluation_le);
  EXPECT_EQ(a.parent_state_root, b.parent_state_root);
}

// INVALID_ARGUMENT whose message contains `needle`.
void expect_invalid(const absl::StatusOr<VerkleWitness>& result, const std::string& needle) {
  ASSERT_FALSE(result.ok()) << "accepted; expected an error naming " << needle;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_NE(result.status().message().find(needle), std::string::npos)
      << "message \"" << result.status().message() << "\" does not contain \"" << needle << "\"";
}

// Hex strings lowercased everywhere in a JSON value (the codec writes lowercase).
json lowercase_hex(const json& value) {
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }
  json out = value;
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) out[i] = lowercase_hex(value[i]);
  } else if (value.is_object()) {
    for (const auto& [k, v] : value.items()) out[k] = lowercase_hex(v);
  }
  return out;
}

// The same JSON without the "comment" keys the invalid block files add (the codec ignores them).
json without_comments(const json& value) {
  if (value.is_array()) {
    json out = json::array();
    for (const json& v : value) out.push_back(without_comments(v));
    return out;
  }
  if (!value.is_object()) return value;
  json out = json::object();
  for (const auto& [k, v] : value.items()) {
    if (k != "comment") out[k] = without_comments(v);
  }
  return out;
}

// The same JSON with every object's keys in reverse order.
nlohmann::ordered_json reversed_keys(const nlohmann::ordered_json& value) {
  if (value.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& v : value) out.push_back(reversed_keys(v));
    return out;
  }
  if (!value.is_object()) return value;
  std::vector<std::pair<std::string, nlohmann::ordered_json>> items;
  for (const auto& [k, v] : value.items()) items.emplace_back(k, reversed_keys(v));
  std::reverse(items.begin(), items.end());
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (auto& [k, v] : items) out[k] = std::move(v);
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_bytes(std::mt19937_64& rng) {
  std::array<std::uint8_t, N> out{};
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

VerkleWitness random_witness(std::mt19937_64& rng) {
  VerkleWitness w;
  const std::size_t stems = rng() % 12;
  for (std::size_t i = 0; i < stems; ++i) {
    StemDiff diff;
    diff.stem = random_bytes<kStemBytes>(rng);
    // Mostly a few suffixes, sometimes all 256.
    const std::size_t count = rng() % 8 == 0 ? 256 : 1 + rng() % 16;
    for (std::size_t j = 0; j < count; ++j) {
      SuffixDiff sd;
      sd.suffix = static_cast<std::uint8_t>(count == 256 ? j : rng());
      if (rng() % 2) sd.current = random_bytes<32>(rng);
      if (rng() % 2) sd.next = random_bytes<32>(rng);
      diff.suffixes.push_back(sd);
    }
    w.state_diff.push_back(std::move(diff));
    w.extension_statuses.push_back(
        extension_byte(static_cast<int>(1 + rng() % 31), static_cast<StemStatus>(rng() % 3)));
  }
  const std::size_t others = rng() % 4;
  for (std::size_t i = 0; i < others; ++i) w.other_stems.push_back(random_bytes<kStemBytes>(rng));
  const std::size_t commitments = rng() % 40;
  for (std::size_t i = 0; i < commitments; ++i) {
    w.commitments_by_path.push_back(random_bytes<32>(rng));
  }
  w.set_multiproof(random_bytes<kMultiproofBytes>(rng));
  if (rng() % 2) w.parent_state_root = random_bytes<32>(rng);
  return w;
}

// A small witness whose binary layout the malformed-binary tests edit by offset: one stem with
// one suffix (no values), no other stems, no commitments.
VerkleWitness tiny_witness() {
  VerkleWitness w;
  StemDiff diff;
  diff.stem.fill(0x11);
  SuffixDiff sd;
  sd.suffix = 5;
  diff.suffixes.push_back(sd);
  w.state_diff.push_back(diff);
  w.extension_statuses.push_back(extension_byte(1, StemStatus::kPresent));
  w.d.fill(0x22);
  return w;
}
// Offsets in witness_to_binary(tiny_witness()).
constexpr std::size_t kTinyStemCount = 4;
constexpr std::size_t kTinySuffixCount = 4 + 4 + 31;
constexpr std::size_t kTinyFlags = kTinySuffixCount + 2 + 1;
constexpr std::size_t kTinyOtherCount = kTinyFlags + 1 + 1;
constexpr std::size_t kTinyCommitmentCount = kTinyOtherCount + 4;
constexpr std::size_t kTinySize = kTinyCommitmentCount + 4 + kMultiproofBytes;

void put_u16(std::string& bytes, std::size_t at, std::uint16_t v) {
  bytes[at] = static_cast<char>(v & 0xff);
  bytes[at + 1] = static_cast<char>(v >> 8);
}
void put_u32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
}

// ---- the vectors --------------------------------------------------------------------------------

TEST(VerkleWitnessJson, EveryVectorParses) {
  for (const VectorFile& file : kVectorFiles) {
    SCOPED_TRACE(file.name);
    const json expected = witness_json(file);
    const VerkleWitness w = parse_ok(read_text(verkle_dir() / file.name));
    const json& proof = expected["verkleProof"];
    EXPECT_EQ(w.state_diff.size(), expected["stateDiff"].size());
    EXPECT_EQ(w.other_stems.size(), proof["otherStems"].size());
    EXPECT_EQ(w.commitments_by_path.size(), proof["commitmentsByPath"].size());
    EXPECT_EQ(w.extension_statuses.size(),
              (proof["depthExtensionPresent"].get<std::string>().size() - 2) / 2);
    EXPECT_EQ(w.extension_statuses.size(), w.state_diff.size());
    std::size_t keys = 0;
    for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
      const json& diff = expected["stateDiff"][i];
      EXPECT_EQ(hex_of(w.state_diff[i].stem), diff["stem"].get<std::string>().substr(2));
      ASSERT_EQ(w.state_diff[i].suffixes.size(), diff["suffixDiffs"].size());
      for (std::size_t j = 0; j < diff["suffixDiffs"].size(); ++j) {
        const json& sd = diff["suffixDiffs"][j];
        const SuffixDiff& got = w.state_diff[i].suffixes[j];
        EXPECT_EQ(got.suffix, sd["suffix"].get<int>());
        EXPECT_EQ(got.current.has_value(), !sd["currentValue"].is_null());
        EXPECT_EQ(got.next.has_value(), !sd["newValue"].is_null());
        if (got.current) {
          EXPECT_EQ(hex_of(*got.current), sd["currentValue"].get<std::string>().substr(2));
        }
      }
      keys += diff["suffixDiffs"].size();
    }
    EXPECT_EQ(w.key_count(), keys);
    EXPECT_FALSE(w.parent_state_root.has_value());
  }
}

TEST(VerkleWitnessJson, KnownCounts) {
  const VerkleWitness k = kaustinen();
  EXPECT_EQ(k.state_diff.size(), 1u);
  EXPECT_EQ(k.other_stems.size(), 0u);
  EXPECT_EQ(k.commitments_by_path.size(), 3u);
  EXPECT_EQ(k.extension_statuses, std::vector<std::uint8_t>{0x12});
  EXPECT_EQ(k.key_count(), 1u);
  ASSERT_EQ(k.state_diff[0].suffixes.size(), 1u);
  EXPECT_EQ(k.state_diff[0].suffixes[0].suffix, 97);
  EXPECT_FALSE(k.state_diff[0].suffixes[0].current.has_value());
  EXPECT_TRUE(k.state_diff[0].suffixes[0].next.has_value());

  const VerkleWitness b73 =
      parse_ok(read_text(verkle_dir() / "rust-verkle-java-resources/valid_block_73.json"));
  EXPECT_EQ(b73.state_diff.size(), 91u);
  EXPECT_EQ(b73.other_stems.size(), 18u);
  EXPECT_EQ(b73.commitments_by_path.size(), 69u);
}

TEST(VerkleWitnessJson, FinalEvaluationIsBigEndianInJson) {
  const VerkleWitness k = kaustinen();
  const std::vector<std::uint8_t> be =
      bytes_from_hex("0x07ca48ff9f0fb458967f070c18e5cdf180e93212bf3efba6378384c5703a61fe");
  ASSERT_EQ(be.size(), 32u);
  EXPECT_EQ(k.final_evaluation_le[0], 0xfe);
  EXPECT_EQ(k.final_evaluation_le[1], 0x61);
  EXPECT_EQ(k.final_evaluation_le[31], 0x07);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ(k.final_evaluation_le[i], be[31 - i]) << i;
  // And the multiproof ends with it, little-endian, after D, L[8], R[8].
  const MultiproofBytes mp = k.multiproof_bytes();
  EXPECT_EQ(hex_of(std::span(mp).subspan(0, 32)), hex_of(k.d));
  EXPECT_EQ(hex_of(std::span(mp).subspan(32, 32)), hex_of(k.cl[0]));
  EXPECT_EQ(hex_of(std::span(mp).subspan(32 * 8, 32)), hex_of(k.cl[7]));
  EXPECT_EQ(hex_of(std::span(mp).subspan(32 * 9, 32)), hex_of(k.cr[0]));
  EXPECT_EQ(hex_of(std::span(mp).subspan(32 * 16, 32)), hex_of(k.cr[7]));
  EXPECT_EQ(hex_of(std::span(mp).subspan(32 * 17, 32)), hex_of(k.final_evaluation_le));
  // Written back big-endian.
  const json out = json::parse(witness_to_json(k));
  EXPECT_EQ(out["verkleProof"]["ipaProof"]["finalEvaluation"],
            "0x07ca48ff9f0fb458967f070c18e5cdf180e93212bf3efba6378384c5703a61fe");
}

TEST(VerkleWitnessJson, MultiproofBytesRoundTrip) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessJson.MultiproofBytesRoundTrip");
  const MultiproofBytes bytes = random_bytes<kMultiproofBytes>(rng);
  VerkleWitness w;
  w.set_multiproof(bytes);
  EXPECT_EQ(w.multiproof_bytes(), bytes);
  EXPECT_EQ(w.d[0], bytes[0]);
  EXPECT_EQ(w.cl[1][0], bytes[64]);
  EXPECT_EQ(w.cr[0][0], bytes[32 * 9]);
  EXPECT_EQ(w.final_evaluation_le[31], bytes[575]);
}

TEST(VerkleWitnessJson, RoundTripOfEveryVector) {
  for (const VectorFile& file : kVectorFiles) {
    SCOPED_TRACE(file.name);
    const VerkleWitness w = parse_ok(read_text(verkle_dir() / file.name));
    const std::string text = witness_to_json(w);
    EXPECT_EQ(text.find_first_of(" \n\t"), std::string::npos) << "not compact";
    expect_same(parse_ok(text), w);
    // The re-emitted JSON is the original (minus keys the codec ignores, such as
    // invalid_block_73's "comment"), modulo hex case.
    const json original = without_comments(witness_json(file));
    EXPECT_EQ(lowercase_hex(json::parse(text)), lowercase_hex(original));
  }
}

TEST(VerkleWitnessJson, KaustinenReEmittedEqualsOriginal) {
  const std::string original_text =
      read_text(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  const std::string text = witness_to_json(parse_ok(original_text));
  EXPECT_EQ(lowercase_hex(json::parse(text)), lowercase_hex(json::parse(original_text)));
}

TEST(VerkleWitnessJson, WriterKeyOrder) {
  VerkleWitness w = kaustinen();
  w.parent_state_root = RootCommitment{};
  w.parent_state_root->fill(0xab);
  const std::string text = witness_to_json(w);
  auto at = [&](const std::string& key) {
    const std::size_t pos = text.find("\"" + key + "\"");
    EXPECT_NE(pos, std::string::npos) << key;
    return pos;
  };
  EXPECT_LT(at("stateDiff"), at("verkleProof"));
  EXPECT_LT(at("stem"), at("suffixDiffs"));
  EXPECT_LT(at("suffix"), at("currentValue"));
  EXPECT_LT(at("currentValue"), at("newValue"));
  EXPECT_LT(at("verkleProof"), at("otherStems"));
  EXPECT_LT(at("otherStems"), at("depthExtensionPresent"));
  EXPECT_LT(at("depthExtensionPresent"), at("commitmentsByPath"));
  EXPECT_LT(at("commitmentsByPath"), at("d"));
  EXPECT_LT(at("d"), at("ipaProof"));
  EXPECT_LT(at("cl"), at("cr"));
  EXPECT_LT(at("cr"), at("finalEvaluation"));
  EXPECT_LT(at("finalEvaluation"), at("parentStateRoot"));
  std::string root_hex;
  for (int i = 0; i < 32; ++i) root_hex += "ab";
  EXPECT_NE(text.find("\"parentStateRoot\":\"0x" + root_hex + "\"}"), std::string::npos) << text;
  EXPECT_EQ(parse_ok(text).parent_state_root, w.parent_state_root);
  // Absent: not written.
  EXPECT_EQ(witness_to_json(kaustinen()).find("parentStateRoot"), std::string::npos);
}

TEST(VerkleWitnessJson, RandomRoundTrip) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessJson.RandomRoundTrip");
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE(round);
    const VerkleWitness w = random_witness(rng);
    expect_same(parse_ok(witness_to_json(w)), w);
  }
}

TEST(VerkleWitnessJson, AcceptsUppercaseHexAndWrapperAndExtras) {
  json doc = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  const VerkleWitness expected = kaustinen();
  json upper = doc;
  upper["verkleProof"]["d"] = "0X5C6E856174962F2786F0711288C8DDD90B0C317DB7769AB3485818460421F08C";
  expect_same(parse_ok(upper.dump()), expected);

  json wrapped = {{"header", {{"blockNumber", "0x62"}}}, {"executionWitness", doc}};
  expect_same(parse_ok(wrapped.dump()), expected);

  json extras = doc;
  extras["somethingElse"] = {1, 2, 3};
  extras["verkleProof"]["comment"] = "ignored";
  extras["stateDiff"][0]["suffixDiffs"][0]["extra"] = nullptr;
  expect_same(parse_ok(extras.dump()), expected);

  // otherStems null or missing: empty.
  json null_other = doc;
  null_other["verkleProof"]["otherStems"] = nullptr;
  expect_same(parse_ok(null_other.dump()), expected);
  json no_other = doc;
  no_other["verkleProof"].erase("otherStems");
  expect_same(parse_ok(no_other.dump()), expected);

  // A missing currentValue / newValue is null.
  json no_values = doc;
  no_values["stateDiff"][0]["suffixDiffs"][0].erase("currentValue");
  expect_same(parse_ok(no_values.dump()), expected);
  no_values["stateDiff"][0]["suffixDiffs"][0].erase("newValue");
  const VerkleWitness w = parse_ok(no_values.dump());
  ASSERT_EQ(w.key_count(), 1u);
  EXPECT_FALSE(w.state_diff[0].suffixes[0].next.has_value());

  // parentStateRoot at the witness's top level.
  json with_root = doc;
  with_root["parentStateRoot"] = "0x" + std::string(62, '0') + "01";
  const VerkleWitness rooted = parse_ok(with_root.dump());
  ASSERT_TRUE(rooted.parent_state_root.has_value());
  EXPECT_EQ((*rooted.parent_state_root)[31], 1);
  EXPECT_EQ((*rooted.parent_state_root)[0], 0);

  // depthExtensionPresent of any length (the verifier compares it with the stems), even empty.
  json ext = doc;
  ext["verkleProof"]["depthExtensionPresent"] = "0x";
  EXPECT_TRUE(parse_ok(ext.dump()).extension_statuses.empty());
  ext["verkleProof"]["depthExtensionPresent"] = "0x121212";
  EXPECT_EQ(parse_ok(ext.dump()).extension_statuses.size(), 3u);
}

TEST(VerkleWitnessJson, KeysInAnyOrder) {
  for (const VectorFile& file : kVectorFiles) {
    SCOPED_TRACE(file.name);
    const std::string text = read_text(verkle_dir() / file.name);
    const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text);
    const std::string reordered = reversed_keys(doc).dump();
    ASSERT_NE(reordered, doc.dump());
    expect_same(parse_ok(reordered), parse_ok(text));
  }
}

// ---- malformed JSON -----------------------------------------------------------------------------

class VerkleWitnessBadJson : public ::testing::Test {
 protected:
  json doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  json& proof() { return doc_["verkleProof"]; }
  json& suffix_diff() { return doc_["stateDiff"][0]["suffixDiffs"][0]; }
  void expect(const std::string& needle) { expect_invalid(witness_from_json(doc_.dump()), needle); }
};

TEST_F(VerkleWitnessBadJson, NotJson) {
  expect_invalid(witness_from_json(""), "witness: not valid JSON");
  expect_invalid(witness_from_json("{\"stateDiff\": ["), "witness: not valid JSON");
  expect_invalid(witness_from_json("not json"), "witness: not valid JSON");
  expect_invalid(witness_from_json(doc_.dump() + "x"), "witness: not valid JSON");
  expect_invalid(witness_from_json("[1,2]"), "witness: expected a JSON object, got array");
  expect_invalid(witness_from_json("\"0x00\""), "witness: expected a JSON object");
  expect_invalid(witness_from_json("null"), "witness: expected a JSON object");
  expect_invalid(witness_from_json("{}"), "stateDiff: missing");
  expect_invalid(witness_from_json("{\"executionWitness\": 3}"), "executionWitness: expected");
  expect_invalid(witness_from_json("{\"executionWitness\": {}}"),
                 "executionWitness.stateDiff: missing");
  // Deep nesting is parsed iteratively: no stack overflow, just a wrong type.
  expect_invalid(witness_from_json(std::string(100000, '[') + std::string(100000, ']')),
                 "expected a JSON object");
}

TEST_F(VerkleWitnessBadJson, MissingFields) {
  doc_.erase("stateDiff");
  expect("stateDiff: missing");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  doc_.erase("verkleProof");
  expect("verkleProof: missing");
}

TEST_F(VerkleWitnessBadJson, MissingProofFields) {
  for (const char* key : {"depthExtensionPresent", "commitmentsByPath", "d", "ipaProof"}) {
    json saved = proof()[key];
    proof().erase(key);
    expect(std::string("verkleProof.") + key + ": missing");
    proof()[key] = saved;
  }
  for (const char* key : {"cl", "cr", "finalEvaluation"}) {
    json saved = proof()["ipaProof"][key];
    proof()["ipaProof"].erase(key);
    expect(std::string("verkleProof.ipaProof.") + key + ": missing");
    proof()["ipaProof"][key] = saved;
  }
  doc_["stateDiff"][0].erase("stem");
  expect("stateDiff[0].stem: missing");
  doc_["stateDiff"][0]["stem"] = "0x" + std::string(62, 'a');
  doc_["stateDiff"][0].erase("suffixDiffs");
  expect("stateDiff[0].suffixDiffs: missing");
  doc_["stateDiff"][0]["suffixDiffs"] = json::array({{{"currentValue", nullptr}}});
  expect("stateDiff[0].suffixDiffs[0].suffix: missing");
}

TEST_F(VerkleWitnessBadJson, WrongContainerTypes) {
  doc_["stateDiff"] = json::object();
  expect("stateDiff: expected an array, got object");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  doc_["stateDiff"][0] = "x";
  expect("stateDiff[0]: expected an object, got string");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  doc_["stateDiff"][0]["suffixDiffs"] = json::array();
  expect("stateDiff[0].suffixDiffs: expected 1..256 entries, got 0");
  doc_["stateDiff"][0]["suffixDiffs"] = nullptr;
  expect("stateDiff[0].suffixDiffs: expected an array, got null");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  proof() = json::array();
  expect("verkleProof: expected an object, got array");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  proof()["ipaProof"] = "0x00";
  expect("verkleProof.ipaProof: expected an object, got string");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  proof()["otherStems"] = "0x00";
  expect("verkleProof.otherStems: expected an array, got string");
  proof()["otherStems"] = json::array({"0x" + std::string(60, '0')});
  expect("verkleProof.otherStems[0]: expected 31 bytes of hex, got 30");
  doc_ = testing::read_json(verkle_dir() / "kaustinen_block_0x62_execution_witness.json");
  proof()["commitmentsByPath"] = nullptr;
  expect("verkleProof.commitmentsByPath: expected an array, got null");
  proof()["commitmentsByPath"] = json::array({"0x00"});
  expect("verkleProof.commitmentsByPath[0]: expected 32 bytes of hex, got 1");
}

TEST_F(VerkleWitnessBadJson, RoundCounts) {
  for (const char* key : {"cl", "cr"}) {
    json saved = proof()["ipaProof"][key];
    json seven = saved;
    seven.erase(7);
    proof()["ipaProof"][key] = seven;
    expect(std::string("verkleProof.ipaProof.") + key + ": expected 8 entries, got 7");
    json nine = saved;
    nine.push_back(saved[0]);
    proof()["ipaProof"][key] = nine;
    expect(std::string("verkleProof.ipaProof.") + key + ": expected 8 entries, got 9");
    proof()["ipaProof"][key] = json::object();
    expect(std::string("verkleProof.ipaProof.") + key + ": expected an array");
    json bad = saved;
    bad[3] = 7;
    proof()["ipaProof"][key] = bad;
    expect(std::string("verkleProof.ipaProof.") + key + "[3]: expected 32 bytes of hex, got 7");
    proof()["ipaProof"][key] = saved;
  }
}

TEST_F(VerkleWitnessBadJson, HexSyntax) {
  json& stem = doc_["stateDiff"][0]["stem"];
  const std::string good = stem.get<std::string>();
  stem = good.substr(0, good.size() - 2);
  expect("stateDiff[0].stem: expected 31 bytes of hex, got 30");
  stem = good + "00";
  expect("stateDiff[0].stem: expected 31 bytes of hex, got 32");
  stem = good.substr(2);
  expect("stateDiff[0].stem: expected 31 bytes of hex with a 0x prefix");
  stem = good.substr(0, good.size() - 1);
  expect("stateDiff[0].stem: expected 31 bytes of hex, got an odd number of hex digits");
  stem = good.substr(0, good.size() - 1) + "g";
  expect("stateDiff[0].stem: expected 31 bytes of hex, got a non-hex character");
  stem = "0x" + std::string(60, '0') + " 1";
  expect("stateDiff[0].stem: expected 31 bytes of hex, got a non-hex character");
  stem = "";
  expect("stateDiff[0].stem: expected 31 bytes of hex with a 0x prefix");
  stem = "0x";
  expect("stateDiff[0].stem: expected 31 bytes of hex, got 0");
  stem = 12;
  expect("stateDiff[0].stem: expected 31 bytes of hex, got 12");
  stem = good;

  proof()["d"] = "0x" + std::string(63, '1');
  expect("verkleProof.d: expected 32 bytes of hex, got an odd number");
  proof()["d"] = "5c6e856174962f2786f0711288c8ddd90b0c317db7769ab3485818460421f08c";
  expect("verkleProof.d: expected 32 bytes of hex with a 0x prefix");
  proof()["d"] = nullptr;
  expect("verkleProof.d: expected 32 bytes of hex, got null");
  proof()["d"] = "0x" + std::string(64, '0');

  proof()["ipaProof"]["finalEvaluation"] = "0x" + std::string(66, '0');
  expect("verkleProof.ipaProof.finalEvaluation: expected 32 bytes of hex, got 33");
  proof()["ipaProof"]["finalEvaluation"] = "0x" + std::string(64, '0');

  proof()["depthExtensionPresent"] = json::array({0x12});
  expect("verkleProof.depthExtensionPresent: expected a hex string, got array");
  proof()["depthExtensionPresent"] = 18;
  expect("verkleProof.depthExtensionPresent: expected a hex string, got 18");
  proof()["depthExtensionPresent"] = "12";
  expect("verkleProof.depthExtensionPresent: expected a hex string with a 0x prefix");
  proof()["depthExtensionPresent"] = "0x123";
  expect("verkleProof.depthExtensionPresent: expected a hex string, got an odd number");
  proof()["depthExtensionPresent"] = "0x1z";
  expect("verkleProof.depthExtensionPresent: expected a hex string, got a non-hex character");
  proof()["depthExtensionPresent"] = "0x12";

  doc_["parentStateRoot"] = "0x00";
  expect("parentStateRoot: expected 32 bytes of hex, got 1");
  doc_["parentStateRoot"] = true;
  expect("parentStateRoot: expected 32 bytes of hex, got boolean");
}

TEST_F(VerkleWitnessBadJson, Suffix) {
  const std::string path = "stateDiff[0].suffixDiffs[0].suffix: expected an integer 0..255, got ";
  suffix_diff()["suffix"] = 256;
  expect(path + "256");
  suffix_diff()["suffix"] = -1;
  expect(path + "-1");
  suffix_diff()["suffix"] = 1.5;
  expect(path + "1.5");
  suffix_diff()["suffix"] = 3.0;
  expect(path);
  suffix_diff()["suffix"] = "3";
  expect(path + "string");
  suffix_diff()["suffix"] = nullptr;
  expect(path + "null");
  suffix_diff()["suffix"] = true;
  expect(path + "boolean");
  for (const char* text : {"1e2", "18446744073709551616", "-0.0"}) {
    std::string dumped = doc_.dump();
    const std::string key = "\"suffix\":";
    const std::size_t at = dumped.find(key) + key.size();
    dumped.replace(at, dumped.find_first_of(",}", at) - at, text);
    expect_invalid(witness_from_json(dumped), "stateDiff[0].suffixDiffs[0].suffix: expected");
  }
  suffix_diff()["suffix"] = 255;
  EXPECT_EQ(parse_ok(doc_.dump()).state_diff[0].suffixes[0].suffix, 255);
  suffix_diff()["suffix"] = 0;
  EXPECT_EQ(parse_ok(doc_.dump()).state_diff[0].suffixes[0].suffix, 0);
}

TEST_F(VerkleWitnessBadJson, Values) {
  suffix_diff()["currentValue"] = 5;
  expect("stateDiff[0].suffixDiffs[0].currentValue: expected null or 32 bytes of hex, got 5");
  suffix_diff()["currentValue"] = json::object();
  expect("stateDiff[0].suffixDiffs[0].currentValue: expected null or 32 bytes of hex, got object");
  suffix_diff()["currentValue"] = "0x" + std::string(62, '0');
  expect("stateDiff[0].suffixDiffs[0].currentValue: expected 32 bytes of hex, got 31");
  suffix_diff()["currentValue"] = nullptr;
  suffix_diff()["newValue"] = "0x" + std::string(66, '0');
  expect("stateDiff[0].suffixDiffs[0].newValue: expected 32 bytes of hex, got 33");
  suffix_diff()["newValue"] = false;
  expect("stateDiff[0].suffixDiffs[0].newValue: expected null or 32 bytes of hex, got boolean");
}

TEST_F(VerkleWitnessBadJson, DeepPathsNameTheEntry) {
  json doc = witness_json(kVectorFiles[3]);  // valid_block_73
  ASSERT_GT(doc["stateDiff"].size(), 3u);
  doc["stateDiff"][3]["suffixDiffs"][0]["currentValue"] = "0x" + std::string(62, '0');
  expect_invalid(witness_from_json(doc.dump()),
                 "stateDiff[3].suffixDiffs[0].currentValue: expected 32 bytes of hex, got 31");
  json block = {{"header", json::object()}, {"executionWitness", doc}};
  expect_invalid(witness_from_json(block.dump()),
                 "executionWitness.stateDiff[3].suffixDiffs[0].currentValue: expected 32 bytes");
}

TEST_F(VerkleWitnessBadJson, Limits) {
  // The count is checked before any entry is read, so the entries need not be stems.
  std::string many = "{\"stateDiff\":[0";
  for (std::size_t i = 0; i < kMaxWitnessStems; ++i) many += ",0";
  many += "]}";
  expect_invalid(witness_from_json(many), "stateDiff: 1048577 stems exceed the limit of 1048576");

  std::string other = "{\"stateDiff\":[],\"verkleProof\":{\"otherStems\":[0";
  for (std::size_t i = 0; i < kMaxWitnessStems; ++i) other += ",0";
  other += "]}}";
  expect_invalid(witness_from_json(other), "verkleProof.otherStems: 1048577 stems exceed");

  std::string commitments =
      "{\"stateDiff\":[],\"verkleProof\":{\"depthExtensionPresent\":\"0x\","
      "\"commitmentsByPath\":[0";
  for (std::size_t i = 0; i < kMaxWitnessCommitments; ++i) commitments += ",0";
  commitments += "]}}";
  expect_invalid(witness_from_json(commitments),
                 "verkleProof.commitmentsByPath: 4194305 commitments exceed the limit of 4194304");

  doc_["stateDiff"][0]["suffixDiffs"] = json::array();
  for (int i = 0; i < 257; ++i) {
    doc_["stateDiff"][0]["suffixDiffs"].push_back({{"suffix", i % 256}, {"newValue", nullptr}});
  }
  expect("stateDiff[0].suffixDiffs: expected 1..256 entries, got 257");
  doc_["stateDiff"][0]["suffixDiffs"].erase(256);
  EXPECT_EQ(parse_ok(doc_.dump()).key_count(), 256u);
}

// ---- binary -------------------------------------------------------------------------------------

TEST(VerkleWitnessBinary, RoundTripOfEveryVector) {
  for (const VectorFile& file : kVectorFiles) {
    SCOPED_TRACE(file.name);
    const VerkleWitness w = parse_ok(read_text(verkle_dir() / file.name));
    const std::string bytes = witness_to_binary(w);
    EXPECT_EQ(bytes.substr(0, 4), "AVW1");
    absl::StatusOr<VerkleWitness> back = witness_from_binary(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    expect_same(*back, w);
    EXPECT_EQ(witness_to_binary(*back), bytes);
    EXPECT_EQ(witness_to_json(*back), witness_to_json(w));
  }
}

TEST(VerkleWitnessBinary, Layout) {
  const VerkleWitness w = tiny_witness();
  const std::string bytes = witness_to_binary(w);
  ASSERT_EQ(bytes.size(), kTinySize);
  EXPECT_EQ(bytes.substr(0, 4), "AVW1");
  EXPECT_EQ(bytes.substr(kTinyStemCount, 4), std::string("\x01\0\0\0", 4));
  EXPECT_EQ(bytes.substr(8, 31), std::string(31, '\x11'));
  EXPECT_EQ(bytes.substr(kTinySuffixCount, 2), std::string("\x01\0", 2));
  EXPECT_EQ(bytes[kTinySuffixCount + 2], 5);
  EXPECT_EQ(bytes[kTinyFlags], 0);
  EXPECT_EQ(static_cast<std::uint8_t>(bytes[kTinyFlags + 1]), 0x0a);  // depth 1, present
  EXPECT_EQ(bytes.substr(kTinyOtherCount, 8), std::string(8, '\0'));
  EXPECT_EQ(bytes.substr(kTinyCommitmentCount + 4, 32), std::string(32, '\x22'));

  // Both values present: flags 3, current then new.
  VerkleWitness both = w;
  both.state_diff[0].suffixes[0].current = Value32{};
  both.state_diff[0].suffixes[0].current->fill(0x33);
  both.state_diff[0].suffixes[0].next = Value32{};
  both.state_diff[0].suffixes[0].next->fill(0x44);
  const std::string b = witness_to_binary(both);
  ASSERT_EQ(b.size(), kTinySize + 64);
  EXPECT_EQ(b[kTinyFlags], 3);
  EXPECT_EQ(b.substr(kTinyFlags + 1, 32), std::string(32, '\x33'));
  EXPECT_EQ(b.substr(kTinyFlags + 33, 32), std::string(32, '\x44'));
  // Only the new value: flags 2.
  VerkleWitness next_only = both;
  next_only.state_diff[0].suffixes[0].current.reset();
  const std::string n = witness_to_binary(next_only);
  EXPECT_EQ(n[kTinyFlags], 2);
  EXPECT_EQ(n.substr(kTinyFlags + 1, 32), std::string(32, '\x44'));
  for (const VerkleWitness* x : {&both, &next_only}) {
    absl::StatusOr<VerkleWitness> back = witness_from_binary(witness_to_binary(*x));
    ASSERT_TRUE(back.ok()) << back.status();
    expect_same(*back, *x);
  }
}

TEST(VerkleWitnessBinary, RandomRoundTrip) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessBinary.RandomRoundTrip");
  for (int round = 0; round < 100; ++round) {
    SCOPED_TRACE(round);
    VerkleWitness w = random_witness(rng);
    w.parent_state_root.reset();  // the binary form does not carry it
    const std::string bytes = witness_to_binary(w);
    absl::StatusOr<VerkleWitness> back = witness_from_binary(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    expect_same(*back, w);
    absl::StatusOr<VerkleWitness> detected = parse_witness(bytes);
    ASSERT_TRUE(detected.ok()) << detected.status();
    expect_same(*detected, w);
  }
}

TEST(VerkleWitnessBinary, EmptyWitness) {
  const VerkleWitness w;
  const std::string bytes = witness_to_binary(w);
  EXPECT_EQ(bytes.size(), 4u + 4 + 4 + 4 + kMultiproofBytes);
  absl::StatusOr<VerkleWitness> back = witness_from_binary(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  expect_same(*back, w);
  expect_same(parse_ok(witness_to_json(w)), w);
}

TEST(VerkleWitnessBinary, ParseWitnessDetectsBoth) {
  const std::string text =
      read_text(verkle_dir() / "rust-verkle-java-resources/valid_block_72.json");
  const VerkleWitness w = parse_ok(text);
  absl::StatusOr<VerkleWitness> from_text = parse_witness(text);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  expect_same(*from_text, w);
  absl::StatusOr<VerkleWitness> from_bytes = parse_witness(witness_to_binary(w));
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status();
  expect_same(*from_bytes, w);
  expect_invalid(parse_witness(""), "witness: not valid JSON");
  expect_invalid(parse_witness("AVW"), "witness: not valid JSON");
  expect_invalid(parse_witness("AVW1"), "witness (binary): truncated");
  expect_invalid(parse_witness("AVW2xxxx"), "witness: not valid JSON");
  expect_invalid(witness_from_binary("AVW2" + witness_to_binary(w).substr(4)),
                 "witness (binary): bad magic");
  expect_invalid(witness_from_binary(text), "witness (binary): bad magic");
}

TEST(VerkleWitnessBinary, EveryTruncationFails) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessBinary.EveryTruncationFails");
  std::vector<std::string> encodings = {
      witness_to_binary(tiny_witness()),
      witness_to_binary(
          parse_ok(read_text(verkle_dir() / "rust-verkle-java-resources/valid_block_73.json")))};
  VerkleWitness random = random_witness(rng);
  random.parent_state_root.reset();
  encodings.push_back(witness_to_binary(random));
  for (const std::string& bytes : encodings) {
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      const absl::StatusOr<VerkleWitness> r =
          witness_from_binary(std::string_view(bytes).substr(0, len));
      ASSERT_FALSE(r.ok()) << "prefix of " << len << " of " << bytes.size() << " bytes accepted";
      ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      ASSERT_EQ(r.status().message().rfind("witness (binary): ", 0), 0u) << r.status();
    }
    ASSERT_TRUE(witness_from_binary(bytes).ok());
  }
}

TEST(VerkleWitnessBinary, TrailingByte) {
  const std::string bytes = witness_to_binary(tiny_witness());
  expect_invalid(witness_from_binary(bytes + '\0'), "witness (binary): 1 trailing byte");
  expect_invalid(witness_from_binary(bytes + "xyz"), "witness (binary): 3 trailing byte");
}

TEST(VerkleWitnessBinary, HostileCountsFailFast) {
  const std::string good = witness_to_binary(tiny_witness());
  const auto start = std::chrono::steady_clock::now();
  for (std::uint32_t count : {0xffffffffu, static_cast<std::uint32_t>(kMaxWitnessStems + 1)}) {
    std::string bytes = good;
    put_u32(bytes, kTinyStemCount, count);
    expect_invalid(
        witness_from_binary(bytes),
        "witness (binary): stem count " + std::to_string(count) + " exceeds the limit of 1048576");
  }
  // Within the limit but more than the bytes left.
  std::string bytes = good;
  put_u32(bytes, kTinyStemCount, static_cast<std::uint32_t>(kMaxWitnessStems));
  expect_invalid(witness_from_binary(bytes), "witness (binary): stem count 1048576");
  expect_invalid(witness_from_binary(bytes), "exceeds the bytes left");
  put_u32(bytes, kTinyStemCount, 2);
  expect_invalid(witness_from_binary(bytes), "exceeds the bytes left");

  for (std::uint32_t count : {0xffffffffu, 1000u, 1u}) {
    bytes = good;
    put_u32(bytes, kTinyOtherCount, count);
    expect_invalid(witness_from_binary(bytes), "witness (binary): otherStems count");
    bytes = good;
    put_u32(bytes, kTinyCommitmentCount, count);
    expect_invalid(witness_from_binary(bytes), "witness (binary): commitmentsByPath count");
  }
  bytes = good;
  put_u32(bytes, kTinyCommitmentCount, static_cast<std::uint32_t>(kMaxWitnessCommitments + 1));
  expect_invalid(witness_from_binary(bytes), "exceeds the limit of 4194304");
  bytes = good;
  put_u32(bytes, kTinyOtherCount, static_cast<std::uint32_t>(kMaxWitnessStems + 1));
  expect_invalid(witness_from_binary(bytes), "exceeds the limit of 1048576");

  // A suffix count within 1..256 but beyond the bytes left.
  bytes = good;
  put_u16(bytes, kTinySuffixCount, 256);
  expect_invalid(witness_from_binary(bytes.substr(0, kTinyFlags + 1)), "exceeds the bytes left");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(VerkleWitnessBinary, SuffixCountOutOfRange) {
  std::string bytes = witness_to_binary(tiny_witness());
  put_u16(bytes, kTinySuffixCount, 0);
  expect_invalid(witness_from_binary(bytes), "witness (binary): stem[0]: suffix count 0");
  put_u16(bytes, kTinySuffixCount, 257);
  expect_invalid(witness_from_binary(bytes), "witness (binary): stem[0]: suffix count 257");
  put_u16(bytes, kTinySuffixCount, 0xffff);
  expect_invalid(witness_from_binary(bytes), "suffix count 65535 at byte 39 is not in 1..256");

  // A struct with more than 256 suffixes is written so that the reader rejects it.
  VerkleWitness w = tiny_witness();
  w.state_diff[0].suffixes.assign(300, SuffixDiff{});
  expect_invalid(witness_from_binary(witness_to_binary(w)), "suffix count 257");
  w.state_diff[0].suffixes.assign(70000, SuffixDiff{});
  expect_invalid(witness_from_binary(witness_to_binary(w)), "suffix count 257");
  // With none, the stem is shorter than the smallest valid one.
  w.state_diff[0].suffixes.clear();
  expect_invalid(witness_from_binary(witness_to_binary(w)), "witness (binary): stem count 1");
}

TEST(VerkleWitnessBinary, BadFlags) {
  for (int flags : {4, 8, 0x10, 0x80, 0xff, 0x07}) {
    SCOPED_TRACE(flags);
    std::string bytes = witness_to_binary(tiny_witness());
    bytes[kTinyFlags] = static_cast<char>(flags);
    expect_invalid(witness_from_binary(bytes), "witness (binary): stem[0].suffix[0]: bad flags");
  }
}

TEST(VerkleWitnessBinary, MismatchedExtensionStatusesStayInvalid) {
  VerkleWitness w = tiny_witness();
  w.extension_statuses = {0x0a, 0x0a};
  absl::StatusOr<VerkleWitness> back = witness_from_binary(witness_to_binary(w));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->extension_statuses, std::vector<std::uint8_t>{0xff});
  w.extension_statuses.clear();
  back = witness_from_binary(witness_to_binary(w));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->extension_statuses, std::vector<std::uint8_t>{0xff});
}

// Random corruption of either form: parsed or rejected with INVALID_ARGUMENT, never anything else.
TEST(VerkleWitnessBinary, RandomCorruptionIsHandled) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessBinary.RandomCorruptionIsHandled");
  const std::string text =
      read_text(verkle_dir() / "rust-verkle-java-resources/valid_block_72.json");
  const std::string bytes = witness_to_binary(parse_ok(text));
  for (int round = 0; round < 3000; ++round) {
    for (const std::string* original : {&text, &bytes}) {
      std::string input = *original;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        input[rng() % input.size()] = static_cast<char>(rng());
      }
      const absl::StatusOr<VerkleWitness> r = parse_witness(input);
      if (!r.ok()) {
        ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      }
    }
  }
}

}  // namespace
}  // namespace arbor::verkle
