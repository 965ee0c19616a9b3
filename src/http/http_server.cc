#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <chrono>
#include <optional>
#include <type_traits>

namespace sentry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class HttpServer::Impl {
 public:
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer retry{ioc};  // after a failed accept (EMFILE): try again later
  int64_t last_accept_error_log_ms = 0;
};

// One connection: (a TLS handshake,) read a request, answer it, again while
// the client keeps the connection alive. Lives as long as an operation of it
// is pending. Stream: beast::tcp_stream, or TlsStream over one.
template <typename Stream>
class HttpServer::Session : public std::enable_shared_from_this<HttpServer::Session<Stream>> {
 public:
  template <typename... Args>
  Session(HttpServer* server, Args&&... stream_args)
      : server_(server), stream_(std::forward<Args>(stream_args)...) {}
  ~Session() { server_->open_.fetch_sub(1, std::memory_order_relaxed); }

  void Begin() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // The handshake has the request's deadline: a client that stalls in
      // it is closed like one that stalls in its request.
      beast::get_lowest_layer(stream_).expires_after(
          std::chrono::milliseconds(server_->opt_.request_timeout_ms));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                // A close without a handshake (a TCP health
                                // check) is no failure.
                                const bool closed = ec == asio::error::eof ||
                                                    ec == asio::ssl::error::stream_truncated;
                                if (self->server_->opt_.on_handshake && !closed) {
                                  self->server_->opt_.on_handshake(!ec, ec.message());
                                }
                                if (!ec) self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

  void ReadRequest() {
    const HttpOptions& o = server_->opt_;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    // One deadline for the whole request (a trickle of bytes does not
    // extend it), and for an idle keep-alive connection too.
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(o.request_timeout_ms));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->OnRead(ec);
                      });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      return;  // closed, or too slow (the stream closed the socket)
    }
    if (ec == bhttp::error::header_limit) return Fail(431, "request header too large\n");
    if (ec == bhttp::error::body_limit) return Fail(413, "request body too large\n");
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        return Fail(400, "malformed request: " + ec.message() + "\n");
      }
      return;  // reset by the peer and the like: nobody to answer
    }
    const auto& req = parser_->get();
    HttpRequest r;
    r.method = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    const size_t q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    HttpResponse out;
    if (req.method() != bhttp::verb::get) {
      out = {405, "text/plain; charset=utf-8", "only GET is served\n", {{"Allow", "GET"}}};
    } else {
      try {
        out = server_->handler_(r);
      } catch (const std::exception& e) {
        spdlog::error("http: {} failed: {}", r.path, e.what());
        out = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n",
               {}};
      }
    }
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    Send(std::move(out), !req.keep_alive());
  }

  void Fail(int status, std::string message) {
    res_ = {};
    res_.version(11);
    res_.keep_alive(false);
    Send(HttpResponse{status, "text/plain; charset=utf-8", std::move(message), {}}, true);
  }

  void Send(HttpResponse out, bool close) {
    res_.result(static_cast<unsigned>(out.status));
    res_.set(bhttp::field::server, "sentryd");
    res_.set(bhttp::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) res_.set(k, v);
    res_.body() = std::move(out.body);
    res_.prepare_payload();
    server_->Count(out.status);
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_->opt_.write_timeout_ms));
    bhttp::async_write(stream_, res_,
                       [self = this->shared_from_this(), close](beast::error_code ec, size_t) {
                         if (ec || close) {
                           beast::error_code ignored;
                           beast::get_lowest_layer(self->stream_).socket().shutdown(
                               tcp::socket::shutdown_send, ignored);
                           return;
                         }
                         self->ReadRequest();
                       });
  }

  HttpServer* const server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
};

HttpServer::HttpServer(HttpOptions opt, Handler handler)
    : opt_(std::move(opt)), handler_(std::move(handler)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() {
  Stop();
  impl_.reset();  // pending sessions go here, while the counters still exist
}

Status HttpServer::Listen() {
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(opt_.host, std::to_string(opt_.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("http.host " + opt_.host + ": " + ec.message());
  }
  const tcp::endpoint ep = results.begin()->endpoint();
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IoError("cannot listen for HTTP on " + opt_.host + ":" +
                           std::to_string(opt_.port) + ": " + ec.message());
  }
  port_ = a.local_endpoint().port();
  return Status::OK();
}

void HttpServer::Count(int status) {
  std::lock_guard<std::mutex> l(mu_);
  responses_[status]++;
}

std::map<int, uint64_t> HttpServer::responses() const {
  std::lock_guard<std::mutex> l(mu_);
  return responses_;
}

void HttpServer::Start() {
  // The accept loop: a connection over the limit is told 503 and closed
  // at once (one non-blocking write into an empty socket buffer).
  auto accept = std::make_shared<std::function<void()>>();
  *accept = [this, accept] {
    impl_->acceptor.async_accept([this, accept](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !impl_->acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors and the like: say so now and then, retry soon.
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
        if (now - impl_->last_accept_error_log_ms > 5000) {
          spdlog::warn("http: accept failed: {}", ec.message());
          impl_->last_accept_error_log_ms = now;
        }
        impl_->retry.expires_after(std::chrono::milliseconds(100));
        impl_->retry.async_wait([accept](beast::error_code e) {
          if (!e) (*accept)();
        });
        return;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      if (open_.load(std::memory_order_relaxed) >= opt_.max_connections) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";
        beast::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ignored);
        socket.close(ignored);
        Count(503);
      } else {
        open_.fetch_add(1, std::memory_order_relaxed);
        if (opt_.tls_context) {
          // Asio's context owns (frees) the handle it is given: give it a
          // reference of its own. The connection's SSL holds another.
          std::shared_ptr<SSL_CTX> current = opt_.tls_context();
          SSL_CTX_up_ref(current.get());
          asio::ssl::context ctx(current.get());
          std::make_shared<Session<TlsStream>>(this, std::move(socket), ctx)->Begin();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(this, std::move(socket))->Begin();
        }
      }
      (*accept)();
    });
  };
  (*accept)();
  thread_ = std::thread([this, accept] {
    impl_->ioc.run();
    // Break the accept loop's self-reference once nothing runs any more.
    *accept = nullptr;
  });
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->retry.cancel();
  });
  impl_->ioc.stop();
  thread_.join();
}

}  // namespace sentry::http
