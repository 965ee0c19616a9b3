#include "security/scram.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "security/credential_store.h"
#include "security/plain.h"
#include "common/file_util.h"
#include "test_util.h"

namespace sentry::security {
namespace {

// RFC 7677 section 3: user "user", password "pencil", SCRAM-SHA-256.
constexpr const char* kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

ScramCredential Pencil() {
  auto c = MakeScramCredential(ScramMechanism::kSha256, "pencil", 4096,
                               Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==").value());
  EXPECT_TRUE(c.ok());
  return c.value();
}

ScramServer::Lookup Only(const std::string& name, const ScramCredential& c) {
  return [name, c](const std::string& user) -> std::optional<ScramCredential> {
    if (user == name) return c;
    return std::nullopt;
  };
}

TEST(ScramTest, Rfc7677ExchangeGivesTheRfcsMessages) {
  ScramServer s(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  auto first = s.Start(kClientFirst);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, kServerFirst);
  auto last = s.Finish(kClientFinal);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(*last, kServerFinal);
  EXPECT_EQ(s.user(), "user");
}

TEST(ScramClientTest, SpeaksTheRfc7677ExchangeByteForByte) {
  ScramClient c(ScramMechanism::kSha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  EXPECT_EQ(c.First(), kClientFirst);
  auto final_message = c.Final(kServerFirst);
  ASSERT_TRUE(final_message.ok()) << final_message.status().ToString();
  EXPECT_EQ(*final_message, kClientFinal);
  EXPECT_TRUE(c.Verify(kServerFinal).ok());
  std::string forged = kServerFinal;
  forged[4] = forged[4] == 'A' ? 'B' : 'A';
  EXPECT_EQ(c.Verify(forged).code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(c.Verify("e=invalid-proof").code(), Status::Code::kPermissionDenied);
}

TEST(ScramClientTest, RefusesAServerFirstItCannotTrust) {
  ScramClient c(ScramMechanism::kSha512, "a,b=c", "pw", "abc");
  EXPECT_EQ(c.First(), "n,,n=a=2Cb=3Dc,r=abc");
  EXPECT_FALSE(c.Final("r=xyz1,s=QUJD,i=4096").ok()) << "the nonce must extend ours";
  EXPECT_FALSE(c.Final("r=abc,s=QUJD,i=4096").ok()) << "and add to it";
  EXPECT_FALSE(c.Final("r=abcd,s=QUJD,i=1").ok()) << "too few iterations";
  EXPECT_FALSE(c.Final("r=abcd,s=!!,i=4096").ok());
  EXPECT_FALSE(c.Verify("v=AAAA").ok()) << "no exchange yet";
  // Against our own server, with a stored credential.
  auto cred = MakeScramCredential(ScramMechanism::kSha512, "pw").value();
  ScramServer s(ScramMechanism::kSha512, Only("a,b=c", cred));
  ScramClient ok(ScramMechanism::kSha512, "a,b=c", "pw");
  auto server_first = s.Start(ok.First());
  ASSERT_TRUE(server_first.ok());
  auto client_final = ok.Final(*server_first);
  ASSERT_TRUE(client_final.ok());
  auto server_final = s.Finish(*client_final);
  ASSERT_TRUE(server_final.ok()) << server_final.status().ToString();
  EXPECT_TRUE(ok.Verify(*server_final).ok());
}

TEST(ScramTest, AWrongProofIsPermissionDenied) {
  ScramServer s(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  ASSERT_TRUE(s.Start(kClientFirst).ok());
  std::string bad = kClientFinal;
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(s.Finish(bad).status().code(), Status::Code::kPermissionDenied);
  // An exchange that failed stays failed.
  EXPECT_FALSE(s.Finish(kClientFinal).ok());
}

TEST(ScramTest, AnUnknownUserLooksLikeAWrongPasswordUntilTheEnd) {
  ScramServer a(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  ScramServer b(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  auto first_a = a.Start("n,,n=nobody,r=abc");
  auto first_b = b.Start("n,,n=nobody,r=abc");
  ASSERT_TRUE(first_a.ok());
  EXPECT_EQ(*first_a, *first_b) << "the made-up salt is stable for a name";
  EXPECT_NE(first_a->find(",i=4096"), std::string::npos);
  std::string final = "c=biws,r=abc" + std::string(kServerNonce) + ",p=" +
                      Base64Encode(std::string(32, 'x'));
  EXPECT_EQ(a.Finish(final).status().code(), Status::Code::kPermissionDenied);
}

TEST(ScramTest, AnotherMechanismsCredentialDoesNotCount) {
  ScramServer s(ScramMechanism::kSha512, Only("user", Pencil()), kServerNonce);
  ASSERT_TRUE(s.Start(kClientFirst).ok());
  EXPECT_FALSE(s.Finish(kClientFinal).ok());
}

TEST(ScramTest, MalformedMessagesAreInvalidArguments) {
  for (const char* bad : {"", "n", "p=tls-unique,,n=user,r=x", "n,,r=x,n=user", "n,,n=user",
                          "n,,n=us=er,r=x", "n,,n=user,r=x,e=ext", "n,,n=user,r=a,b",
                          "x,,n=user,r=x", "n,a=other,n=user,r=x"}) {
    ScramServer s(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
    EXPECT_EQ(s.Start(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  for (const char* bad : {"", "c=biws", "c=biws,r=wrong,p=AAAA",
                          "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",
                          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!"}) {
    ScramServer s(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
    ASSERT_TRUE(s.Start(kClientFirst).ok());
    EXPECT_EQ(s.Finish(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  ScramServer s(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  EXPECT_EQ(s.Finish(kClientFinal).status().code(), Status::Code::kInvalidArgument)
      << "client-final before client-first";
}

// librdkafka sends its client nonce twice in client-final ("r=" + cnonce +
// the server's r); Kafka accepts a nonce that ends with the server-first
// nonce, and so do we (the proof covers the message as sent). That a real
// librdkafka then authenticates is tests/security/kafka_sasl_test.py's part.
TEST(ScramTest, AClientFinalNonceMustEndWithTheServersNonce) {
  const std::string cnonce = "rOprNGfwEbeRWgbNEkqO";
  const std::string proof = ",p=" + Base64Encode(std::string(32, 'x'));
  ScramServer doubled(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  ASSERT_TRUE(doubled.Start(kClientFirst).ok());
  EXPECT_EQ(doubled.Finish("c=biws,r=" + cnonce + cnonce + kServerNonce + proof).status().code(),
            Status::Code::kPermissionDenied)
      << "passes the nonce check, fails only on the proof";
  ScramServer other(ScramMechanism::kSha256, Only("user", Pencil()), kServerNonce);
  ASSERT_TRUE(other.Start(kClientFirst).ok());
  EXPECT_EQ(other.Finish("c=biws,r=" + cnonce + kServerNonce + "y" + proof).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(ScramTest, EscapedNamesAndAnAuthzidOfTheSameUser) {
  auto c = Pencil();
  ScramServer s(ScramMechanism::kSha256, Only("a,b=c", c), kServerNonce);
  ASSERT_TRUE(s.Start("n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=x").ok());
  EXPECT_EQ(s.user(), "a,b=c");
}

TEST(ScramTest, PasswordCheckAndIterationLimits) {
  auto c = Pencil();
  EXPECT_TRUE(ScramPasswordMatches(c, "pencil"));
  EXPECT_FALSE(ScramPasswordMatches(c, "pencil2"));
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha512, "p", 4095).ok());
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha512, "p", 16385).ok());
  EXPECT_FALSE(MakeScramCredential(ScramMechanism::kSha512, "", 4096).ok());
  auto a = MakeScramCredential(ScramMechanism::kSha512, "p");
  auto b = MakeScramCredential(ScramMechanism::kSha512, "p");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->salt, b->salt) << "a random salt each time";
  EXPECT_EQ(a->stored_key.size(), 64u);
}

TEST(ScramTest, Base64RoundTripsAndRefusesGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                    std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("ab!=").has_value());
}

TEST(CredentialStoreTest, ChangesAreOnDiskAndReadBack) {
  testing::TempDir dir;
  {
    auto store = CredentialStore::Open(dir.path()).value();
    EXPECT_TRUE(store->List().empty());
    ASSERT_TRUE(store->Upsert("alice", Pencil()).ok());
    ASSERT_TRUE(store->Upsert("bob smith", MakeScramCredential(ScramMechanism::kSha512,
                                                               "secret").value())
                    .ok());
    ASSERT_TRUE(store->Upsert("bob smith", MakeScramCredential(ScramMechanism::kSha256,
                                                               "secret").value())
                    .ok());
    EXPECT_EQ(store->Remove("carol", std::nullopt).code(), Status::Code::kNotFound);
  }
  const auto path = std::filesystem::path(dir.path()) / CredentialStore::kFileName;
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto store = CredentialStore::Open(dir.path()).value();
  auto list = store->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].first, "alice");
  EXPECT_EQ(list[1].second.size(), 2u);
  auto alice = store->Find("alice", ScramMechanism::kSha256);
  ASSERT_TRUE(alice.has_value());
  EXPECT_TRUE(ScramPasswordMatches(*alice, "pencil"));
  EXPECT_FALSE(store->Find("alice", ScramMechanism::kSha512).has_value());
  ASSERT_TRUE(store->Remove("bob smith", ScramMechanism::kSha512).ok());
  EXPECT_FALSE(CredentialStore::Open(dir.path()).value()->Find("bob smith",
                                                               ScramMechanism::kSha512));
}

TEST(CredentialStoreTest, AnUnreadableLineIsCorruptionNamingIt) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir.path() + "/" + CredentialStore::kFileName,
                                  "YWxpY2U= SCRAM-SHA-256 4096 AAAA AAAA AAAA\nnonsense\n")
                  .ok());
  auto store = CredentialStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("line 2"), std::string::npos)
      << store.status().ToString();
}

using namespace std::string_literals;  // "\0" inside literals

TEST(PlainTest, ChecksThePasswordAgainstTheStoredScramCredential) {
  testing::TempDir dir;
  auto store = CredentialStore::Open(dir.path()).value();
  ASSERT_TRUE(store->Upsert("alice", Pencil()).ok());  // SCRAM-SHA-256 only
  ASSERT_TRUE(
      store->Upsert("bob", MakeScramCredential(ScramMechanism::kSha512, "b-secret").value()).ok());
  EXPECT_EQ(CheckPlain("\0alice\0pencil"s, *store).value(), "alice");
  EXPECT_EQ(CheckPlain("alice\0alice\0pencil"s, *store).value(), "alice");  // authzid = user
  EXPECT_EQ(CheckPlain("\0bob\0b-secret"s, *store).value(), "bob");
  EXPECT_EQ(CheckPlain("\0alice\0pencil2"s, *store).status().code(),
            Status::Code::kPermissionDenied);
  EXPECT_EQ(CheckPlain("\0carol\0pencil"s, *store).status().code(),
            Status::Code::kPermissionDenied);  // unknown: like a wrong password
  EXPECT_EQ(CheckPlain("bob\0alice\0pencil"s, *store).status().code(),
            Status::Code::kPermissionDenied);  // another authorization id
}

TEST(PlainTest, MalformedMessagesAreInvalid) {
  testing::TempDir dir;
  auto store = CredentialStore::Open(dir.path()).value();
  ASSERT_TRUE(store->Upsert("alice", Pencil()).ok());
  for (const std::string& m : {""s, "alice"s, "\0alice"s, "\0alice\0pencil\0"s,
                               "\0alice\0pencil\0x"s, "\0\0pencil"s, "\0alice\0"s}) {
    EXPECT_EQ(CheckPlain(m, *store).status().code(), Status::Code::kInvalidArgument)
        << ::testing::PrintToString(m);
  }
}

}  // namespace
}  // namespace sentry::security
