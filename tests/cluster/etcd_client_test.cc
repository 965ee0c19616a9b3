// EtcdClient against a real etcd (Debian's etcd-server), started by the test
// on loopback ports with a temporary data directory.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_client.h"
#include "test_util.h"

namespace sentry::cluster {
namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kEtcd, X_OK), 0) << kEtcd << " missing: install Debian's etcd-server";
    client_port_ = FreePort();
    const int peer = FreePort();
    const std::string c = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string p = "http://127.0.0.1:" + std::to_string(peer);
    std::vector<std::string> args = {kEtcd, "--name", "t", "--data-dir", dir_ / "etcd",
                                     "--listen-client-urls", c, "--advertise-client-urls", c,
                                     "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                                     "--initial-cluster", "t=" + p, "--log-level", "error"};
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::freopen("/dev/null", "w", stdout);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    auto client = EtcdClient::Create(c, 1000);
    ASSERT_TRUE(client.ok());
    client_ = std::move(client).value();
    // Ready when it answers (polled; its start takes a few hundred ms).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!client_->Get("probe").ok()) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid_, &status, WNOHANG), 0) << "etcd exited";
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "etcd did not answer in 30 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

  testing::TempDir dir_;
  pid_t pid_ = -1;
  int client_port_ = 0;
  std::unique_ptr<EtcdClient> client_;
};

TEST(EtcdClientUnitTest, Base64RoundTripsAndRfc4648Vectors) {
  EXPECT_EQ(EtcdClient::Base64Encode(""), "");
  EXPECT_EQ(EtcdClient::Base64Encode("f"), "Zg==");
  EXPECT_EQ(EtcdClient::Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(EtcdClient::Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(EtcdClient::Base64Encode("foobar"), "Zm9vYmFy");
  const std::string binary("\0\xff\x10 a", 5);
  EXPECT_EQ(EtcdClient::Base64Decode(EtcdClient::Base64Encode(binary)), binary);
  EXPECT_EQ(EtcdClient::Base64Decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(EtcdClient::Base64Decode("Zm9"));      // not a multiple of 4
  EXPECT_FALSE(EtcdClient::Base64Decode("Zm=v"));     // padding inside
  EXPECT_FALSE(EtcdClient::Base64Decode("Zm9v!A=="));  // not in the alphabet
}

TEST(EtcdClientUnitTest, EndpointsAreChecked) {
  EXPECT_FALSE(EtcdClient::Create("").ok());
  EXPECT_FALSE(EtcdClient::Create("127.0.0.1:2379").ok());  // no scheme
  EXPECT_FALSE(EtcdClient::Create("https://127.0.0.1:2379").ok());
  EXPECT_FALSE(EtcdClient::Create("http://127.0.0.1").ok());  // no port
  EXPECT_TRUE(EtcdClient::Create("http://127.0.0.1:2379,http://[::1]:2379/").ok());
}

TEST_F(EtcdTest, PutGetAndPrefixRoundTripBinaryKeysAndValues) {
  const std::string value("\0\x01\xfe\xff", 4);
  auto r1 = client_->Put("brokers/1", value);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  auto r2 = client_->Put("brokers/2", "two");
  ASSERT_TRUE(r2.ok());
  EXPECT_GT(*r2, *r1);  // revisions grow
  ASSERT_TRUE(client_->Put("brokersX", "not under the prefix").ok());
  auto got = client_->Get("brokers/1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, value);
  EXPECT_EQ((*got)->mod_revision, *r1);
  auto none = client_->Get("brokers/9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto all = client_->GetPrefix("brokers/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "brokers/1");
  EXPECT_EQ((*all)[1].key, "brokers/2");
}

TEST_F(EtcdTest, CompareAndSetLetsExactlyOneWriterWin) {
  auto created = client_->PutIf("controller", "broker-1", 0);  // only if absent
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(*created);
  auto again = client_->PutIf("controller", "broker-2", 0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto kv = client_->Get("controller");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->value, "broker-1");
  const int64_t rev = (*kv)->mod_revision;
  auto moved = client_->PutIf("controller", "broker-3", rev);
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(*moved);
  auto stale = client_->PutIf("controller", "broker-4", rev);  // read before the change
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  auto stale_delete = client_->DeleteIf("controller", rev);
  ASSERT_TRUE(stale_delete.ok());
  EXPECT_FALSE(*stale_delete);
  auto now = client_->Get("controller");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->value, "broker-3");
  auto deleted = client_->DeleteIf("controller", (*now)->mod_revision);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(client_->Get("controller")->has_value());
}

TEST_F(EtcdTest, KeysGoWithTheirExpiredLeaseAndStayWhileKeptAlive) {
  auto lease = client_->GrantLease(2);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_TRUE(client_->Put("brokers/live", "x", *lease).ok());
  auto kv = client_->Get("brokers/live");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_EQ((*kv)->lease, *lease);
  // Kept alive for longer than its TTL: the key stays.
  const auto keep_until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < keep_until) {
    auto ttl = client_->KeepAlive(*lease);
    ASSERT_TRUE(ttl.ok());
    ASSERT_GT(*ttl, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the renewal cadence
  }
  ASSERT_TRUE(client_->Get("brokers/live")->has_value());
  // No more renewals: the key goes once the lease expires.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (client_->Get("brokers/live")->has_value()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "lease never expired";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto ttl = client_->KeepAlive(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 0);
  EXPECT_TRUE(client_->RevokeLease(*lease).ok());  // already gone: fine
  // Revoking a live lease removes its keys at once.
  auto l2 = client_->GrantLease(60);
  ASSERT_TRUE(l2.ok());
  ASSERT_TRUE(client_->Put("brokers/other", "y", *l2).ok());
  ASSERT_TRUE(client_->RevokeLease(*l2).ok());
  EXPECT_FALSE(client_->Get("brokers/other")->has_value());
}

TEST_F(EtcdTest, DeadEndpointsAreSkippedAndNoneAnsweringIsUnavailable) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  auto failover = EtcdClient::Create(dead + "," + Url(), 1000);
  ASSERT_TRUE(failover.ok());
  EXPECT_TRUE((*failover)->Put("k", "v").ok());
  auto only_dead = EtcdClient::Create(dead, 500);
  ASSERT_TRUE(only_dead.ok());
  auto r = (*only_dead)->Get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
}

}  // namespace
}  // namespace sentry::cluster
