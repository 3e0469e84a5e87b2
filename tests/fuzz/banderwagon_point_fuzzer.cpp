// Banderwagon point decoding (kernels/verkle/banderwagon.hpp): the 32-byte compressed form of
// proofs and requests, and the 64-byte x || y form of the store's records.
//
// The input is cut into 32-byte points (at most 8). Properties:
//  - deserialize, batch_deserialize and deserialize_trusted agree: the same verdicts and
//    messages, the same points; the trusted decoder accepts everything the checked one does and
//    differs only by the subgroup test;
//  - an accepted point re-serializes to its input, lies on the curve and (checked decoder) in the
//    subgroup; refusals are INVALID_ARGUMENT with a message;
//  - the group law holds on accepted points: p + q = q + p, (p + q) - q = p, 2p = p + p, and the
//    sum decodes again (the subgroup is closed); batch serialization and map-to-field agree with
//    the one-point versions;
//  - any length other than 32 is refused; a 64-byte record decodes to a point that encodes back
//    to it, or is refused with DATA_LOSS.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "host/verkle/verkle_records.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using verkle::Point;
using Encoded = std::array<std::uint8_t, 32>;

std::string_view view(const Encoded& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void check_agreement(const Encoded& bytes, const absl::StatusOr<Point>& checked,
                     const absl::StatusOr<Point>& batched) {
  const absl::StatusOr<Point> trusted = verkle::deserialize_trusted(bytes);
  check(checked.status() == batched.status(), "deserialize and batch_deserialize agree",
        checked.status().ToString() + " vs " + batched.status().ToString());
  if (!trusted.ok()) {
    check(!checked.ok(), "the trusted decoder accepts what the checked one does");
    check_refusal(trusted.status(), "deserialize_trusted", {absl::StatusCode::kInvalidArgument});
  } else {
    check(verkle::serialize(*trusted) == bytes, "a trusted decode re-serializes to its input");
    check(verkle::is_on_curve(*trusted), "a trusted decode is on the curve");
  }
  if (!checked.ok()) {
    check_refusal(checked.status(), "deserialize", {absl::StatusCode::kInvalidArgument});
    if (trusted.ok()) {
      check(checked.status().message().find("subgroup") != absl::string_view::npos,
            "only the subgroup test separates the decoders", checked.status().ToString());
    }
    return;
  }
  check(*checked == *batched && *checked == *trusted, "the decoders give the same point");
  check(verkle::serialize(*checked) == bytes, "a decode re-serializes to its input",
        shown(view(bytes)));
  check(verkle::is_on_curve(*checked), "a decoded point is on the curve");
  check(verkle::subgroup_check(verkle::to_affine(*checked).x),
        "a decoded point is in the subgroup");
}

void check_group_law(const Point& p, const Point& q) {
  const Point sum = verkle::add(p, q);
  check(verkle::serialize(sum) == verkle::serialize(verkle::add(q, p)), "p + q = q + p");
  check(verkle::sub(sum, q) == p, "(p + q) - q = p");
  check(verkle::dbl(p) == verkle::add(p, p), "2p = p + p");
  check(verkle::is_on_curve(sum), "p + q is on the curve");
  const Encoded encoded = verkle::serialize(sum);
  const absl::StatusOr<Point> again = verkle::deserialize(encoded);
  check(again.ok() && *again == sum, "p + q decodes again", again.status().ToString());
  const std::vector<Point> points = {p, q, sum};
  const std::vector<Encoded> batch = verkle::batch_serialize(points);
  const std::vector<verkle::Fr> mapped = verkle::batch_map_to_scalar_field(points);
  for (std::size_t i = 0; i < points.size(); ++i) {
    check(batch[i] == verkle::serialize(points[i]), "batch_serialize agrees with serialize");
    std::array<std::uint8_t, 32> one_le{};
    verkle::write_bytes_le(mapped[i], one_le.data());
    check(one_le == verkle::map_to_scalar_field_bytes(points[i]),
          "batch map-to-field agrees with the one-point map");
  }
}

}  // namespace

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  const Point g = Point::generator();
  const Point points[] = {Point::identity(), g, verkle::dbl(g), verkle::add(verkle::dbl(g), g),
                          verkle::neg(g)};
  std::string all;
  for (const Point& p : points) {
    const Encoded e = verkle::serialize(p);
    out.emplace_back(view(e));
    all += view(e);
  }
  out.push_back(all);
  std::string record;
  verkle::encode_point(verkle::dbl(g), record);
  out.push_back(record);
  return out;
}

void test_one(std::string_view input) {
  const std::size_t size = input.size();
  const auto* data = reinterpret_cast<const std::uint8_t*>(input.data());
  if (size != 32) {
    const absl::StatusOr<Point> whole =
        verkle::deserialize(std::span<const std::uint8_t>(data, size));
    check_refusal(whole.status(), "deserialize of a wrong length",
                  {absl::StatusCode::kInvalidArgument});
  }
  if (size >= 64) {
    const absl::StatusOr<Point> record = verkle::decode_point_record(input.substr(0, 64));
    if (record.ok()) {
      std::string again;
      verkle::encode_point(*record, again);
      check(again == input.substr(0, 64), "a point record re-encodes to its input", shown(again));
    } else {
      check_refusal(record.status(), "decode_point_record", {absl::StatusCode::kDataLoss});
    }
  }
  std::vector<Encoded> encoded;
  for (std::size_t at = 0; at + 32 <= size && encoded.size() < 8; at += 32) {
    Encoded e;
    std::copy_n(data + at, 32, e.begin());
    encoded.push_back(e);
  }
  const std::vector<absl::StatusOr<Point>> batched = verkle::batch_deserialize(encoded);
  check(batched.size() == encoded.size(), "batch_deserialize answers every point");
  std::vector<Point> good;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const absl::StatusOr<Point> checked = verkle::deserialize(encoded[i]);
    check_agreement(encoded[i], checked, batched[i]);
    if (checked.ok()) good.push_back(*checked);
  }
  if (!good.empty()) check_group_law(good.front(), good.back());
}

}  // namespace arbor::fuzz
