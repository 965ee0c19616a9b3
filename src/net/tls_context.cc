#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <iterator>

namespace sentry::net {

namespace {

// TLS 1.2 suites: ephemeral ECDH and AEAD only (forward secrecy, no CBC, no
// RSA key exchange), as Mozilla's "intermediate" profile. TLS 1.3 keeps
// OpenSSL's default suites, all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's error queue of this thread as one line (and emptied).
std::string OpenSslErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

}  // namespace

Result<TlsClientAuth> ParseTlsClientAuth(const std::string& text) {
  if (text == "none") return TlsClientAuth::kNone;
  if (text == "requested") return TlsClientAuth::kRequested;
  if (text == "required") return TlsClientAuth::kRequired;
  return Status::InvalidArgument("tls.client.auth: '" + text +
                                 "' is not none, requested or required");
}

Result<std::unique_ptr<TlsContext>> TlsContext::Create(TlsSettings settings) {
  std::unique_ptr<TlsContext> t(new TlsContext(std::move(settings)));
  SENTRY_RETURN_IF_ERROR(t->Reload());
  t->reloads.store(0);  // the first load is not a reload
  return t;
}

TlsContext::~TlsContext() = default;

Result<std::shared_ptr<SSL_CTX>> TlsContext::Build() const {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::IoError("TLS: " + OpenSslErrors());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                             SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes and a retry from a moved buffer: the connection writes
  // from its own staging buffer, non-blocking. Idle connections give their
  // record buffers back.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    return Status::IoError("TLS cipher list: " + OpenSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(c, settings_.cert_file.c_str()) != 1) {
    return Status::InvalidArgument("tls.cert.file " + settings_.cert_file + ": " +
                                   OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(c, settings_.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::InvalidArgument("tls.key.file " + settings_.key_file + ": " +
                                   OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return Status::InvalidArgument("tls.key.file " + settings_.key_file +
                                   " does not match tls.cert.file " + settings_.cert_file +
                                   ": " + OpenSslErrors());
  }
  if (!settings_.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, settings_.ca_file.c_str(), nullptr) != 1) {
      return Status::InvalidArgument("tls.ca.file " + settings_.ca_file + ": " +
                                     OpenSslErrors());
    }
    // The CA names a client is told it may present a certificate of.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings_.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(c, names);
    }
  }
  switch (settings_.client_auth) {
    case TlsClientAuth::kNone: SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr); break;
    case TlsClientAuth::kRequested: SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr); break;
    case TlsClientAuth::kRequired:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // One listener, no session cache shared between processes; TLS 1.3
  // tickets let a client resume cheaply.
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const unsigned char*>("sentry"), 6);
  return ctx;
}

std::string TlsContext::Fingerprint() const {
  std::string f;
  for (const std::string* path : {&settings_.cert_file, &settings_.key_file, &settings_.ca_file}) {
    struct stat st {};
    if (path->empty() || ::stat(path->c_str(), &st) != 0) {
      f += "-;";
      continue;
    }
    // The content too: a same-size rewrite in place within one timestamp
    // tick keeps inode, size and mtime (the files are a few KiB).
    std::ifstream in(*path, std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    f += fmt::format("{}:{}:{}.{}:{:x};", st.st_ino, st.st_size, st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec, std::hash<std::string>{}(content));
  }
  return f;
}

Status TlsContext::Reload() {
  const std::string fp = Fingerprint();
  auto built = Build();
  MutexLock l(&mu_);
  fingerprint_ = fp;  // a failed attempt is not retried until a file changes again
  if (!built.ok()) return built.status();
  ctx_ = std::move(*built);
  reloads.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status TlsContext::ReloadIfChanged(bool* reloaded) {
  *reloaded = false;
  {
    MutexLock l(&mu_);
    if (Fingerprint() == fingerprint_) return Status::OK();
  }
  SENTRY_RETURN_IF_ERROR(Reload());
  *reloaded = true;
  return Status::OK();
}

std::shared_ptr<SSL_CTX> TlsContext::Current() const {
  MutexLock l(&mu_);
  return ctx_;
}

SSL* TlsContext::NewSsl() const {
  return SSL_new(Current().get());  // holds its own reference to the context
}

std::string TlsContext::Describe() const {
  std::shared_ptr<SSL_CTX> ctx = Current();
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  if (!cert) return "no certificate";
  char subject[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  std::string serial = "?";
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  return fmt::format("certificate {} serial {}", subject, serial);
}

}  // namespace sentry::net
