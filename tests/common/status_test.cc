#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace sentry {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrnoNoSpaceMapsToNoSpace) {
  EXPECT_TRUE(Status::FromErrno(ENOSPC, "fallocate").IsNoSpace());
  Status io = Status::FromErrno(EIO, "msync");
  EXPECT_EQ(io.code(), Status::Code::kIoError);
  EXPECT_NE(io.message().find("msync"), std::string::npos);
}

TEST(StatusTest, ResultCarriesValueOrError) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 7);
  Result<int> bad(Status::NotFound("x"));
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsNotFound());
}

Result<std::unique_ptr<int>> MakeBox(bool ok, int v) {
  if (!ok) return Status::NotFound("no box");
  return std::make_unique<int>(v);
}

// Declares one box, assigns a second into an existing variable, and adds
// them; any error returns from here before the addition.
Result<int> SumOfBoxes(bool first_ok, bool second_ok, int* steps) {
  SENTRY_ASSIGN_OR_RETURN(auto a, MakeBox(first_ok, 2));
  (*steps)++;
  std::unique_ptr<int> b;
  SENTRY_ASSIGN_OR_RETURN(b, MakeBox(second_ok, 5));
  (*steps)++;
  return *a + *b;
}

TEST(StatusTest, AssignOrReturnMovesTheValueOrReturnsTheError) {
  int steps = 0;
  auto sum = SumOfBoxes(true, true, &steps);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum.value(), 7);
  EXPECT_EQ(steps, 2);
  steps = 0;
  auto early = SumOfBoxes(false, true, &steps);
  EXPECT_TRUE(early.status().IsNotFound());
  EXPECT_EQ(steps, 0) << "returned at the first error";
  steps = 0;
  auto late = SumOfBoxes(true, false, &steps);
  EXPECT_TRUE(late.status().IsNotFound());
  EXPECT_EQ(steps, 1);
}

TEST(StatusDeathTest, CheckAbortsOnViolatedInvariant) {
  EXPECT_DEATH(SENTRY_CHECK(1 + 1 == 3, "arithmetic"), "invariant failed");
}

}  // namespace
}  // namespace sentry
