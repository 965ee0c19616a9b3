// TlsStream: the server side of one TLS connection on a non-blocking socket,
// driven by the connection's network thread (no thread of its own, no
// blocking): each call does what the socket allows now and says what it is
// waiting for. The epoll loop is edge-triggered, so a caller goes on calling
// until it hears kWantRead / kWantWrite, as with read(2) and EAGAIN.
//
// Threads: its network thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

typedef struct ssl_st SSL;

namespace sentry::net {

class TlsStream {
 public:
  enum class Io {
    kOk,         // progress
    kWantRead,   // nothing more until the socket is readable
    kWantWrite,  // nothing more until the socket is writable
    kClosed,     // the peer closed (close_notify or EOF)
    kError,      // broken: close the connection (error() says why)
  };

  // Takes ownership of `ssl` (from TlsContext::NewSsl) for socket `fd`.
  TlsStream(SSL* ssl, int fd);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // One step of the handshake: kOk once it is done; kClosed with an empty
  // error() when the peer closed before sending a byte.
  Io Handshake();
  bool established() const { return established_; }
  // Decrypted bytes into buf: > 0 bytes, or 0 and *io says why not.
  size_t Read(uint8_t* buf, size_t n, Io* io);
  // Encrypts and sends from buf: > 0 bytes taken, or 0 and *io says why
  // not. After kWantWrite/kWantRead, call again with the same bytes.
  size_t Write(const uint8_t* buf, size_t n, Io* io);
  // True when the last Read stopped because TLS had to write (a key update
  // answered into a full socket): the socket's writability resumes reading.
  bool read_wants_write() const { return read_wants_write_; }
  // Sends close_notify if it can, without waiting.
  void Shutdown();

  // After the handshake: the client certificate's subject as RFC 2253
  // ("CN=alice,O=Example"), empty without one (Kafka's principal name).
  std::string PeerSubject() const;
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" after the handshake.
  std::string Describe() const;
  const std::string& error() const { return error_; }

 private:
  Io Classify(int ret);
  SSL* ssl_;
  bool established_ = false;
  bool read_wants_write_ = false;
  bool broken_ = false;  // a fatal error happened: no close_notify
  std::string error_;
};

}  // namespace sentry::net
