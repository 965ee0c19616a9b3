#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

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

TEST(StatusDeathTest, CheckAbortsOnViolatedInvariant) {
  EXPECT_DEATH(SENTRY_CHECK(1 + 1 == 3, "arithmetic"), "invariant failed");
}

}  // namespace
}  // namespace sentry
