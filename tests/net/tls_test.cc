// TLS in the network layer, end to end over loopback: a Server with a
// TlsContext, one NetworkThread, and a front end that answers each frame
// with as many bytes as it asks for (some from a shared "mapped" payload,
// as fetches send them). The client is OpenSSL's, blocking, with a tiny
// receive buffer so that the broker's writes must stop at WANT_WRITE and
// resume with the same bytes many times over. Certificates are made here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/endian.h"
#include "net/network_thread.h"
#include "net/server.h"
#include "net/tls_context.h"
#include "net/sized_answers.h"
#include "test_util.h"

namespace sentry::net {
namespace {

// A self-signed P-256 certificate for CN=`cn` with serial `serial`.
void WriteCertificate(const std::string& cert_path, const std::string& key_path,
                      const char* cn, long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As sentryd does: a peer that closes while the broker writes (here,
    // TLS 1.3 session tickets to a client that hung up) is an EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    WriteCertificate(dir_ / "cert.pem", dir_ / "key.pem", "sentry-test", 1);
    TlsSettings s;
    s.cert_file = dir_ / "cert.pem";
    s.key_file = dir_ / "key.pem";
    auto ctx = TlsContext::Create(s);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    tls_ = std::move(*ctx);
    thread_ = std::make_unique<NetworkThread>(0, NetOptions{}, &open_);
    thread_->Start();
    server_ = std::make_unique<Server>(std::vector<NetworkThread*>{thread_.get()}, 100, &open_);
    ASSERT_TRUE(server_->Listen("127.0.0.1", 0).ok());
    server_->Start(&handler_, tls_.get());
    client_ctx_ = SSL_CTX_new(TLS_client_method());
  }
  void TearDown() override {
    server_->Stop();
    thread_->Stop(0);
    SSL_CTX_free(client_ctx_);
  }

  // A connected socket; `rcvbuf` > 0 shrinks its receive buffer first.
  int Dial(int rcvbuf = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server_->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }
  SSL* Handshake(int fd) {
    SSL* ssl = SSL_new(client_ctx_);
    SSL_set_fd(ssl, fd);
    EXPECT_EQ(SSL_connect(ssl), 1) << ERR_error_string(ERR_get_error(), nullptr);
    return ssl;
  }
  static bool ReadExactly(SSL* ssl, uint8_t* p, size_t n) {
    while (n > 0) {
      const int r = SSL_read(ssl, p, static_cast<int>(std::min<size_t>(n, 1 << 16)));
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  // The serial of the certificate a new connection is served.
  long ServedSerial() {
    const int fd = Dial();
    SSL* ssl = Handshake(fd);
    X509* cert = SSL_get1_peer_certificate(ssl);
    const long serial = cert ? ASN1_INTEGER_get(X509_get_serialNumber(cert)) : -1;
    X509_free(cert);
    SSL_free(ssl);
    ::close(fd);
    return serial;
  }

  testing::TempDir dir_;
  std::unique_ptr<TlsContext> tls_;
  std::atomic<int64_t> open_{0};
  SizedAnswers handler_;
  std::unique_ptr<NetworkThread> thread_;
  std::unique_ptr<Server> server_;
  SSL_CTX* client_ctx_ = nullptr;
};

TEST_F(TlsTest, PipelinedAnswersArriveWholeThroughATinyReceiveBuffer) {
  const int fd = Dial(/*rcvbuf=*/4096);
  SSL* ssl = Handshake(fd);
  // 40 requests at once, up to 1 MiB each: 20 MiB of answers that the
  // broker can write only a few KiB at a time.
  std::vector<uint32_t> sizes;
  std::vector<uint8_t> requests;
  for (int i = 0; i < 40; i++) {
    sizes.push_back(i % 2 ? (1u << 20) : static_cast<uint32_t>(i * 997));
    uint8_t frame[8];
    PutU32(frame, 4);
    PutU32(frame + 4, sizes.back());
    requests.insert(requests.end(), frame, frame + 8);
  }
  ASSERT_EQ(SSL_write(ssl, requests.data(), static_cast<int>(requests.size())),
            static_cast<int>(requests.size()));
  auto payload = Payload();
  std::vector<uint8_t> got;
  for (uint32_t want : sizes) {
    uint8_t len[4];
    ASSERT_TRUE(ReadExactly(ssl, len, 4));
    ASSERT_EQ(GetU32(len), want);
    got.resize(want);
    ASSERT_TRUE(ReadExactly(ssl, got.data(), want));
    ASSERT_TRUE(std::equal(got.begin(), got.end(), payload->begin())) << "answer of " << want;
  }
  EXPECT_EQ(handler_.established.load(), 1);
  EXPECT_EQ(tls_->handshakes.load(), 1u);
  SSL_free(ssl);
  ::close(fd);
}

TEST_F(TlsTest, GarbageFailsTheHandshakeAndClosesOnlyThatConnection) {
  const int good = Dial();
  SSL* ssl = Handshake(good);
  const int bad = Dial();
  const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::write(bad, garbage, sizeof(garbage)), static_cast<ssize_t>(sizeof(garbage)));
  char c;
  // The broker closes it (after a TLS alert): read returns 0 once it has.
  while (::read(bad, &c, 1) > 0) {
  }
  EXPECT_EQ(tls_->handshake_failures.load(), 1u);
  uint8_t frame[8];
  PutU32(frame, 4);
  PutU32(frame + 4, 5);
  ASSERT_EQ(SSL_write(ssl, frame, 8), 8);
  uint8_t answer[9];
  ASSERT_TRUE(ReadExactly(ssl, answer, 9)) << "the good connection must still be served";
  EXPECT_EQ(GetU32(answer), 5u);
  SSL_free(ssl);
  ::close(good);
  ::close(bad);
}

TEST_F(TlsTest, AClientThatClosesBeforeAnyByteIsNotAFailedHandshake) {
  ::close(Dial());  // a TCP health check
  for (int i = 0; i < 10000 && (server_->accepted_connections() == 0 || open_.load() != 0); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(open_.load(), 0) << "the broker did not close its side";
  EXPECT_EQ(tls_->handshake_failures.load(), 0u);
  const int cut = Dial();  // half a ClientHello, then gone: that one is a failure
  const uint8_t hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
  ASSERT_EQ(::write(cut, hello_start, sizeof(hello_start)),
            static_cast<ssize_t>(sizeof(hello_start)));
  ::close(cut);
  for (int i = 0; i < 10000 && tls_->handshake_failures.load() == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(tls_->handshake_failures.load(), 1u);
}

TEST_F(TlsTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  bool reloaded = true;
  ASSERT_TRUE(tls_->ReloadIfChanged(&reloaded).ok());
  EXPECT_FALSE(reloaded) << "nothing changed";
  EXPECT_EQ(ServedSerial(), 1);
  const int fd = Dial();
  SSL* before = Handshake(fd);
  WriteCertificate(dir_ / "cert.pem", dir_ / "key.pem", "sentry-test", 2);
  ASSERT_TRUE(tls_->ReloadIfChanged(&reloaded).ok());
  EXPECT_TRUE(reloaded);
  EXPECT_EQ(ServedSerial(), 2);
  // The connection made before still works.
  uint8_t frame[8];
  PutU32(frame, 4);
  PutU32(frame + 4, 3);
  ASSERT_EQ(SSL_write(before, frame, 8), 8);
  uint8_t answer[7];
  EXPECT_TRUE(ReadExactly(before, answer, 7));
  // A key that does not match: refused, the old pair stays.
  WriteCertificate(dir_ / "other.pem", dir_ / "key.pem", "other", 3);
  Status s = tls_->ReloadIfChanged(&reloaded);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(reloaded);
  EXPECT_EQ(ServedSerial(), 2);
  EXPECT_EQ(tls_->reloads.load(), 1u);
  SSL_free(before);
  ::close(fd);
}

TEST(TlsContextTest, MissingFilesAndBadClientAuthAreClearErrors) {
  testing::TempDir dir;
  TlsSettings s;
  s.cert_file = dir / "missing.pem";
  s.key_file = dir / "missing.key";
  auto ctx = TlsContext::Create(s);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("tls.cert.file " + (dir / "missing.pem")),
            std::string::npos)
      << ctx.status().message();
  EXPECT_FALSE(ParseTlsClientAuth("sometimes").ok());
  EXPECT_EQ(ParseTlsClientAuth("required").value(), TlsClientAuth::kRequired);
}

}  // namespace
}  // namespace sentry::net
