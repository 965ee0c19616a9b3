#include "security/authorizer.h"

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "test_util.h"

namespace sentry::security {
namespace {

using Op = AclOperation;
using RT = ResourceType;

AclBinding Acl(RT type, std::string name, PatternType pattern, std::string principal, Op op,
               AclPermission perm = AclPermission::kAllow, std::string host = "*") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), std::move(host), op,
                    perm};
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = Authorizer::Open(dir_.path(), {"User:admin"}).value();
  }
  void Add(const AclBinding& b) {
    auto r = auth_->Add({b});
    ASSERT_EQ(r.size(), 1u);
    ASSERT_TRUE(r[0].ok()) << r[0].ToString();
  }
  bool May(const std::string& who, Op op, RT type, const std::string& name,
           const std::string& host = "10.0.0.1") {
    return auth_->Authorize(who, host, op, type, name);
  }
  testing::TempDir dir_;
  std::unique_ptr<Authorizer> auth_;
};

TEST_F(AuthorizerTest, NothingIsAllowedWithoutAnAclButSuperUsersMayDoAnything) {
  EXPECT_FALSE(May("User:alice", Op::kRead, RT::kTopic, "t"));
  EXPECT_FALSE(May("User:ANONYMOUS", Op::kDescribe, RT::kCluster, "kafka-cluster"));
  EXPECT_TRUE(May("User:admin", Op::kDelete, RT::kTopic, "t"));
  EXPECT_TRUE(May("User:admin", Op::kAlter, RT::kCluster, "kafka-cluster"));
  Add(Acl(RT::kTopic, "t", PatternType::kLiteral, "User:admin", Op::kAll, AclPermission::kDeny));
  EXPECT_TRUE(May("User:admin", Op::kRead, RT::kTopic, "t")) << "super users bypass ACLs";
}

TEST_F(AuthorizerTest, LiteralPrefixedAndWildcardPatterns) {
  Add(Acl(RT::kTopic, "orders", PatternType::kLiteral, "User:alice", Op::kRead));
  Add(Acl(RT::kTopic, "logs.", PatternType::kPrefixed, "User:alice", Op::kWrite));
  Add(Acl(RT::kGroup, "*", PatternType::kLiteral, "User:alice", Op::kRead));
  EXPECT_TRUE(May("User:alice", Op::kRead, RT::kTopic, "orders"));
  EXPECT_FALSE(May("User:alice", Op::kRead, RT::kTopic, "orders2")) << "literal is exact";
  EXPECT_FALSE(May("User:alice", Op::kWrite, RT::kTopic, "orders"));
  EXPECT_TRUE(May("User:alice", Op::kWrite, RT::kTopic, "logs.app"));
  EXPECT_TRUE(May("User:alice", Op::kWrite, RT::kTopic, "logs."));
  EXPECT_FALSE(May("User:alice", Op::kWrite, RT::kTopic, "logs"));
  EXPECT_TRUE(May("User:alice", Op::kRead, RT::kGroup, "any-group"));
  EXPECT_FALSE(May("User:alice", Op::kRead, RT::kTopic, "any-group")) << "types are separate";
  EXPECT_FALSE(May("User:bob", Op::kRead, RT::kTopic, "orders"));
}

TEST_F(AuthorizerTest, DenyBeatsAllowAndOnlyDeniesWhatItNames) {
  Add(Acl(RT::kTopic, "*", PatternType::kLiteral, "User:*", Op::kAll));
  Add(Acl(RT::kTopic, "secret.", PatternType::kPrefixed, "User:bob", Op::kRead,
          AclPermission::kDeny));
  EXPECT_TRUE(May("User:bob", Op::kRead, RT::kTopic, "public"));
  EXPECT_FALSE(May("User:bob", Op::kRead, RT::kTopic, "secret.plans"));
  EXPECT_TRUE(May("User:bob", Op::kWrite, RT::kTopic, "secret.plans"));
  EXPECT_TRUE(May("User:bob", Op::kDescribe, RT::kTopic, "secret.plans"));
  EXPECT_TRUE(May("User:alice", Op::kRead, RT::kTopic, "secret.plans"));
  Add(Acl(RT::kTopic, "secret.plans", PatternType::kLiteral, "User:*", Op::kAll,
          AclPermission::kDeny));
  EXPECT_FALSE(May("User:alice", Op::kDescribe, RT::kTopic, "secret.plans"));
  EXPECT_FALSE(May("User:bob", Op::kWrite, RT::kTopic, "secret.plans"));
}

TEST_F(AuthorizerTest, ImpliedOperationsAndHosts) {
  Add(Acl(RT::kTopic, "t", PatternType::kLiteral, "User:alice", Op::kWrite));
  Add(Acl(RT::kTopic, "c", PatternType::kLiteral, "User:alice", Op::kAlterConfigs));
  EXPECT_TRUE(May("User:alice", Op::kDescribe, RT::kTopic, "t")) << "write implies describe";
  EXPECT_FALSE(May("User:alice", Op::kRead, RT::kTopic, "t"));
  EXPECT_TRUE(May("User:alice", Op::kDescribeConfigs, RT::kTopic, "c"));
  EXPECT_FALSE(May("User:alice", Op::kDescribe, RT::kTopic, "c"));
  Add(Acl(RT::kTopic, "h", PatternType::kLiteral, "User:alice", Op::kRead, AclPermission::kAllow,
          "10.0.0.7"));
  EXPECT_TRUE(May("User:alice", Op::kRead, RT::kTopic, "h", "10.0.0.7"));
  EXPECT_FALSE(May("User:alice", Op::kRead, RT::kTopic, "h", "10.0.0.8"));
}

TEST_F(AuthorizerTest, InvalidBindingsAreRefusedOneByOne) {
  auto r = auth_->Add({
      Acl(RT::kAny, "t", PatternType::kLiteral, "User:a", Op::kRead),
      Acl(RT::kTopic, "t", PatternType::kMatch, "User:a", Op::kRead),
      Acl(RT::kTopic, "t", PatternType::kLiteral, "alice", Op::kRead),
      Acl(RT::kTopic, "t", PatternType::kLiteral, "User:a", Op::kAny),
      Acl(RT::kCluster, "other", PatternType::kLiteral, "User:a", Op::kAlter),
      Acl(RT::kTopic, "*", PatternType::kPrefixed, "User:a", Op::kRead),
      Acl(RT::kTopic, "t", PatternType::kLiteral, "User:a", Op::kRead),  // the only good one
  });
  ASSERT_EQ(r.size(), 7u);
  for (size_t i = 0; i + 1 < r.size(); i++) {
    EXPECT_EQ(r[i].code(), Status::Code::kInvalidArgument) << i;
  }
  EXPECT_TRUE(r.back().ok());
  EXPECT_EQ(auth_->List(AclFilter{}).size(), 1u);
}

TEST_F(AuthorizerTest, FiltersMatchAndRemoveDurably) {
  Add(Acl(RT::kTopic, "orders", PatternType::kLiteral, "User:alice", Op::kRead));
  Add(Acl(RT::kTopic, "ord", PatternType::kPrefixed, "User:bob", Op::kWrite));
  Add(Acl(RT::kTopic, "*", PatternType::kLiteral, "User:carol", Op::kDescribe));
  Add(Acl(RT::kGroup, "g", PatternType::kLiteral, "User:alice", Op::kRead));
  Add(Acl(RT::kGroup, "g", PatternType::kLiteral, "User:alice", Op::kRead));  // no duplicate
  EXPECT_EQ(auth_->List(AclFilter{}).size(), 4u);
  AclFilter match;
  match.resource_type = RT::kTopic;
  match.resource_name = "orders";
  match.pattern_type = PatternType::kMatch;
  EXPECT_EQ(auth_->List(match).size(), 3u) << "literal, prefix and wildcard all apply";
  AclFilter exact = match;
  exact.pattern_type = PatternType::kLiteral;
  EXPECT_EQ(auth_->List(exact).size(), 1u);
  AclFilter alice;
  alice.principal = "User:alice";
  const uint64_t gen = auth_->generation();
  auto removed = auth_->Remove({alice, alice});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed.value()[0].size(), 2u);
  EXPECT_EQ(removed.value()[1].size(), 2u) << "each filter reports what it matched";
  EXPECT_GT(auth_->generation(), gen);
  auto reopened = Authorizer::Open(dir_.path(), {}).value();
  EXPECT_EQ(reopened->List(AclFilter{}).size(), 2u);
  EXPECT_TRUE(reopened->Authorize("User:bob", "h", Op::kWrite, RT::kTopic, "orders"));
  EXPECT_FALSE(reopened->Authorize("User:alice", "h", Op::kRead, RT::kTopic, "orders"));
}

TEST_F(AuthorizerTest, TheCacheForgetsDecisionsWhenAclsOrThePrincipalChange) {
  AuthCache cache;
  const std::string alice = "User:alice";
  EXPECT_FALSE(auth_->Authorize(&cache, alice, "h", Op::kRead, RT::kTopic, "t"));
  EXPECT_FALSE(auth_->Authorize(&cache, alice, "h", Op::kRead, RT::kTopic, "t"));
  EXPECT_EQ(auth_->stats().cache_hits.load(), 1u);
  Add(Acl(RT::kTopic, "t", PatternType::kLiteral, alice, Op::kRead));
  EXPECT_TRUE(auth_->Authorize(&cache, alice, "h", Op::kRead, RT::kTopic, "t"));
  EXPECT_FALSE(auth_->Authorize(&cache, "User:bob", "h", Op::kRead, RT::kTopic, "t"));
  AclFilter all;
  ASSERT_TRUE(auth_->Remove({all}).ok());
  EXPECT_FALSE(auth_->Authorize(&cache, alice, "h", Op::kRead, RT::kTopic, "t"));
}

TEST_F(AuthorizerTest, AnUnreadableLineIsCorruptionNamingIt) {
  Add(Acl(RT::kTopic, "t", PatternType::kLiteral, "User:a", Op::kRead));
  const std::string path = dir_.path() + "/" + Authorizer::kFileName;
  std::string text = ReadFile(path).value();
  ASSERT_TRUE(WriteFileAtomically(path, text + "topic literal dA== nonsense\n").ok());
  auto r = Authorizer::Open(dir_.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().ToString();
}

TEST_F(AuthorizerTest, MayOnSomeIsKafkasRuleByResourceType) {
  EXPECT_FALSE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kTopic));
  EXPECT_TRUE(auth_->MayOnSome("User:admin", "h", Op::kWrite, RT::kTopic));
  Add(Acl(RT::kTopic, "orders", PatternType::kLiteral, "User:alice", Op::kWrite));
  EXPECT_TRUE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kTopic));
  EXPECT_FALSE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kGroup));
  // A deny of the same literal, or of a prefix of it, covers the allow.
  Add(Acl(RT::kTopic, "ord", PatternType::kPrefixed, "User:alice", Op::kWrite,
          AclPermission::kDeny));
  EXPECT_FALSE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kTopic));
  Add(Acl(RT::kTopic, "logs.", PatternType::kPrefixed, "User:alice", Op::kAll));
  EXPECT_TRUE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kTopic)) << "logs. is not covered";
  Add(Acl(RT::kTopic, "*", PatternType::kLiteral, "User:*", Op::kWrite, AclPermission::kDeny));
  EXPECT_FALSE(auth_->MayOnSome("User:alice", "h", Op::kWrite, RT::kTopic));
}

TEST(AuthorizerNamesTest, AclHostsAreHowClientsConnect) {
  EXPECT_EQ(AclHost("/10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(AclHost("::ffff:10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(AclHost("/::1"), "::1");
  EXPECT_EQ(AclHost("fe80::1"), "fe80::1");
}

TEST(AuthorizerNamesTest, SuperUsersAndNamesParse) {
  EXPECT_EQ(Authorizer::ParseSuperUsers("User:a, User:b"),
            (std::vector<std::string>{"User:a", "User:b"}));
  EXPECT_EQ(Authorizer::ParseSuperUsers("User:CN=x,O=y;User:admin"),
            (std::vector<std::string>{"User:CN=x,O=y", "User:admin"}));
  EXPECT_TRUE(Authorizer::ParseSuperUsers("").empty());
  EXPECT_EQ(ParseAclOperation("DESCRIBE-CONFIGS"), AclOperation::kDescribeConfigs);
  EXPECT_EQ(ParseAclOperation("Read"), AclOperation::kRead);
  EXPECT_FALSE(ParseAclOperation("fly").has_value());
  EXPECT_EQ(Name(ResourceType::kGroup), "group");
  EXPECT_EQ(Describe(AclBinding{ResourceType::kTopic, "t", PatternType::kPrefixed, "User:a", "*",
                                AclOperation::kWrite, AclPermission::kDeny}),
            "DENY User:a from * to write topic:t (prefixed)");
}

}  // namespace
}  // namespace sentry::security
