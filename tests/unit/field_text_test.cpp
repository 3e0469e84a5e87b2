// parse_fr on long text (issue 16, finding 8): text that is not a number is INVALID_ARGUMENT
// however long it is and wherever the garbage sits; a well-formed number >= p is OUT_OF_RANGE
// (kernels/field/bn254_fr_text.hpp); the time is linear in the length.
#include <gtest/gtest.h>
#include <time.h>

#include <string>

#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::field {
namespace {

absl::StatusCode code_of(const std::string& text) { return parse_fr(text).status().code(); }

// This thread's CPU time: other load on the machine does not inflate it.
double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

TEST(FieldText, GarbageAnywhereIsInvalidArgumentWhateverTheLength) {
  for (const std::size_t length : {1u, 76u, 77u, 78u, 100u, 300u, 100000u}) {
    const std::string nines(length, '9');
    EXPECT_EQ(code_of(nines + "x"), absl::StatusCode::kInvalidArgument) << length;
    EXPECT_EQ(code_of("x" + nines), absl::StatusCode::kInvalidArgument) << length;
    EXPECT_EQ(code_of(nines + " "), absl::StatusCode::kInvalidArgument) << length;
    EXPECT_EQ(code_of(nines + "-" + nines), absl::StatusCode::kInvalidArgument) << length;
    const std::string fs(length, 'f');
    EXPECT_EQ(code_of("0x" + fs + "g"), absl::StatusCode::kInvalidArgument) << length;
    EXPECT_EQ(code_of("0x" + fs + "0x1"), absl::StatusCode::kInvalidArgument) << length;
  }
  const absl::Status status = parse_fr(std::string(300, '9') + "x").status();
  EXPECT_NE(status.message().find("is not a number"), std::string::npos) << status;
  EXPECT_LT(status.message().size(), 200u) << "the message quotes a bounded prefix";
}

TEST(FieldText, WellFormedButTooLargeIsOutOfRange) {
  // p has 77 decimal digits: the first 78-digit number is above it, and so is p itself.
  EXPECT_EQ(code_of("1" + std::string(77, '0')), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(
      code_of("21888242871839275222246405745257275088548364400416034343698204186575808495617"),
      absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(
      parse_fr("21888242871839275222246405745257275088548364400416034343698204186575808495616")
          .ok());
  EXPECT_EQ(code_of(std::string(100000, '9')), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(code_of("0x1" + std::string(64, '0')), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(code_of("0x" + std::string(100000, 'f')), absl::StatusCode::kOutOfRange);
}

TEST(FieldText, LeadingZerosDoNotCount) {
  EXPECT_EQ(*parse_fr(std::string(100000, '0') + "42"), from_u64(42));
  EXPECT_EQ(*parse_fr("0x" + std::string(100000, '0') + "2a"), from_u64(42));
  EXPECT_EQ(*parse_fr(std::string(1000, '0')), Fr::zero());
  EXPECT_EQ(*parse_fr("0x" + std::string(1000, '0')), Fr::zero());
  const std::string p_minus_1 =
      "21888242871839275222246405745257275088548364400416034343698204186575808495616";
  EXPECT_EQ(*parse_fr(std::string(500, '0') + p_minus_1), *parse_fr(p_minus_1));
}

// 64 MiB of digits (the gRPC message limit): one pass over the text.
TEST(FieldText, TimeIsLinearInTheLength) {
  const std::size_t size = 64u << 20;
  for (const std::string& text : {std::string(size, '7'), std::string(size, '7') + "x",
                                  std::string(size, '0') + "1", "0x" + std::string(size, '0')}) {
    const double start = cpu_seconds();
    const absl::StatusOr<Fr> parsed = parse_fr(text);
    EXPECT_LT(cpu_seconds() - start, 1.0) << parsed.status();
  }
}

}  // namespace
}  // namespace arbor::field
