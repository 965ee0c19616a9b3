#include "security/sasl_session.h"

#include <gtest/gtest.h>

#include <string>

#include "common/clock.h"
#include "test_util.h"

namespace sentry::security {
namespace {

using Begin = SaslSession::Begin;

class SaslSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = CredentialStore::Open(dir_.path()).value();
    ASSERT_TRUE(store_->Upsert("alice", MakeScramCredential(ScramMechanism::kSha512, "a-pw").value())
                    .ok());
    ASSERT_TRUE(store_->Upsert("bob", MakeScramCredential(ScramMechanism::kSha512, "b-pw").value())
                    .ok());
    policy_.mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};
    policy_.credentials = store_.get();
  }

  // A whole SCRAM-SHA-512 exchange through `s`, as ScramClient speaks it:
  // the status of the step that failed, or OK.
  Status Scram(SaslSession* s, const std::string& user, const std::string& password) {
    if (s->Start(policy_, "SCRAM-SHA-512") != Begin::kStarted) {
      return Status::InvalidArgument("not started");
    }
    ScramClient c(ScramMechanism::kSha512, user, password);
    bool done = true;
    std::string who;
    auto first = s->Step(policy_, c.First(), &done, &who);
    if (!first.ok()) return first.status();
    EXPECT_FALSE(done);
    auto final_message = c.Final(*first);
    if (!final_message.ok()) return final_message.status();
    auto last = s->Step(policy_, *final_message, &done, &who);
    if (!last.ok()) return last.status();
    EXPECT_TRUE(done);
    EXPECT_EQ(who, user);
    return c.Verify(*last);
  }

  testing::TempDir dir_;
  std::unique_ptr<CredentialStore> store_;
  SaslPolicy policy_;
};

TEST_F(SaslSessionTest, PlainIsOfferedOnlyOverTlsUnlessAllowed) {
  EXPECT_EQ(policy_.Offered(), (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"}));
  SaslSession s;
  EXPECT_EQ(s.Start(policy_, "PLAIN"), Begin::kUnsupported);
  EXPECT_EQ(s.Start(policy_, "GSSAPI"), Begin::kUnsupported);
  EXPECT_FALSE(s.exchanging());
  policy_.tls = true;
  EXPECT_EQ(policy_.Offered().size(), 3u);
  ASSERT_EQ(s.Start(policy_, "PLAIN"), Begin::kStarted);
  bool done = false;
  std::string user;
  auto answer = s.Step(policy_, std::string("\0bob\0b-pw", 9), &done, &user);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(done);
  EXPECT_TRUE(s.authenticated());
  EXPECT_EQ(s.principal(), "User:bob");
  EXPECT_EQ(s.mechanism(), "PLAIN");
  policy_.tls = false;
  policy_.plain_allow_plaintext = true;
  EXPECT_EQ(policy_.Offered().size(), 3u);
}

TEST_F(SaslSessionTest, ScramAuthenticatesAndAWrongPasswordEndsTheExchange) {
  SaslSession ok;
  ASSERT_TRUE(Scram(&ok, "alice", "a-pw").ok());
  EXPECT_EQ(ok.principal(), "User:alice");
  EXPECT_EQ(ok.expires_ms(), 0);  // no connections.max.reauth.ms: forever
  EXPECT_FALSE(ok.Expired(SteadyMillis() + 1000000));

  SaslSession bad;
  EXPECT_EQ(Scram(&bad, "alice", "wrong").code(), Status::Code::kPermissionDenied);
  EXPECT_FALSE(bad.authenticated());
  EXPECT_FALSE(bad.exchanging());
  EXPECT_TRUE(bad.principal().empty());
  // A step with no exchange in progress is refused, not a crash.
  bool done = false;
  std::string user;
  EXPECT_FALSE(bad.Step(policy_, "n,,n=alice,r=x", &done, &user).ok());
}

TEST_F(SaslSessionTest, AnAuthenticatedSessionMayNotStartAgainWithoutReauthentication) {
  SaslSession s;
  ASSERT_TRUE(Scram(&s, "alice", "a-pw").ok());
  EXPECT_EQ(s.Start(policy_, "SCRAM-SHA-512"), Begin::kIllegalState);
  EXPECT_EQ(s.principal(), "User:alice");
}

TEST_F(SaslSessionTest, ReauthenticationKeepsThePrincipalAndRenewsTheSession) {
  policy_.max_reauth_ms = 60000;
  SaslSession s;
  ASSERT_TRUE(Scram(&s, "alice", "a-pw").ok());
  const int64_t first_expiry = s.expires_ms();
  EXPECT_GT(first_expiry, SteadyMillis());
  EXPECT_TRUE(s.Expired(first_expiry));
  // A second exchange while one is in progress is refused.
  ASSERT_EQ(s.Start(policy_, "SCRAM-SHA-512"), Begin::kStarted);
  EXPECT_TRUE(s.reauthenticating());
  EXPECT_EQ(s.Start(policy_, "SCRAM-SHA-512"), Begin::kIllegalState);
  SaslSession fresh;  // (the first exchange above is abandoned with `s`)
  ASSERT_TRUE(Scram(&fresh, "alice", "a-pw").ok());
  const int64_t fresh_expiry = fresh.expires_ms();
  // Once the clock has moved, a re-authentication ends the session later.
  const int64_t at = SteadyMillis();
  while (SteadyMillis() == at) {
  }
  ASSERT_TRUE(Scram(&fresh, "alice", "a-pw").ok());  // same principal: renewed
  EXPECT_GT(fresh.expires_ms(), fresh_expiry);
  EXPECT_EQ(fresh.principal(), "User:alice");
  // Same user, another mechanism: refused too (KIP-368 keeps both).
  ASSERT_TRUE(store_->Upsert("alice", MakeScramCredential(ScramMechanism::kSha256, "a-pw").value())
                  .ok());
  ASSERT_EQ(fresh.Start(policy_, "SCRAM-SHA-256"), Begin::kStarted);
  ScramClient other_mechanism(ScramMechanism::kSha256, "alice", "a-pw");
  bool done = false;
  std::string who;
  auto first = fresh.Step(policy_, other_mechanism.First(), &done, &who);
  ASSERT_TRUE(first.ok());
  auto final_message = other_mechanism.Final(*first);
  ASSERT_TRUE(final_message.ok());
  EXPECT_EQ(fresh.Step(policy_, *final_message, &done, &who).status().code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(fresh.mechanism(), "SCRAM-SHA-512");
  // As another user, with a correct password, it is refused and changes
  // nothing.
  const Status other = Scram(&fresh, "bob", "b-pw");
  EXPECT_EQ(other.code(), Status::Code::kPermissionDenied) << other.ToString();
  EXPECT_EQ(fresh.principal(), "User:alice");
  EXPECT_FALSE(fresh.reauthenticating());
}

}  // namespace
}  // namespace sentry::security
