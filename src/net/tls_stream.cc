#include "net/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace sentry::net {

TlsStream::TlsStream(SSL* ssl, int fd) : ssl_(ssl) {
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

TlsStream::Io TlsStream::Classify(int ret) {
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ: return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE: return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return Io::kClosed;
    case SSL_ERROR_SYSCALL:
      broken_ = true;  // OpenSSL forbids SSL_shutdown after SSL_ERROR_SYSCALL
      if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
        ERR_clear_error();
        return Io::kClosed;
      }
      error_ = std::strerror(errno);
      ERR_clear_error();
      broken_ = true;
      return Io::kError;
    default: {
      char buf[256] = "TLS error";
      if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof(buf));
      error_ = buf;
      ERR_clear_error();
      broken_ = true;
      return Io::kError;
    }
  }
}

TlsStream::Io TlsStream::Handshake() {
  if (established_) return Io::kOk;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return Io::kOk;
  }
  const Io io = Classify(r);
  // EOF in the middle of a handshake is a failed handshake; EOF before any
  // byte (a TCP health check, a port scan) is just a close.
  if (io == Io::kClosed && error_.empty() && BIO_number_read(SSL_get_rbio(ssl_)) > 0) {
    error_ = "the peer closed during the handshake";
  }
  return io;
}

size_t TlsStream::Read(uint8_t* buf, size_t n, Io* io) {
  read_wants_write_ = false;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (r > 0) {
    *io = Io::kOk;
    return static_cast<size_t>(r);
  }
  *io = Classify(r);
  read_wants_write_ = *io == Io::kWantWrite;
  return 0;
}

size_t TlsStream::Write(const uint8_t* buf, size_t n, Io* io) {
  ERR_clear_error();
  errno = 0;
  const int r = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (r > 0) {
    *io = Io::kOk;
    return static_cast<size_t>(r);
  }
  *io = Classify(r);
  return 0;
}

void TlsStream::Shutdown() {
  // Not after a fatal error (OpenSSL forbids it), nor before a session.
  if (!established_ || broken_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // one try: the socket closes right after
  ERR_clear_error();
}

std::string TlsStream::PeerSubject() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "";
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string subject(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return subject;
}

std::string TlsStream::Describe() const {
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

}  // namespace sentry::net
