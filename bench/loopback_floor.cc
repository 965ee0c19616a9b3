// loopback_floor: the latency floor of this machine for scenario (e).
//
// A trivial server thread (blocking read, answer every frame with a 10-byte
// response, write) and a client paced exactly like `sentry-bench produce
// --rate` (requests due at start + k * interval, latency from the intended
// send time, ppoll with nanosecond timeouts, 1 ns timer slack). No broker
// code is involved, so what this prints is what the kernel, the scheduler
// and the VM cost at that rate: a broker cannot do better than this on the
// same machine. bench/compare.sh prints it beside Sentry's (e).
//
// usage: loopback_floor [--requests N] [--rate R] [--request-bytes B] [--json]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// Answers every length-prefixed frame with one 10-byte frame, until EOF.
void Serve(int listen_fd) {
  int c = ::accept(listen_fd, nullptr, nullptr);
  if (c < 0) Die("accept");
  int one = 1;
  ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<uint8_t> in(1 << 20), out;
  size_t have = 0;
  while (true) {
    ssize_t n = ::read(c, in.data() + have, in.size() - have);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    size_t pos = 0;
    out.clear();
    while (have - pos >= 4 && have - pos >= 4 + LoadBe32(in.data() + pos)) {
      const uint8_t resp[14] = {0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
      out.insert(out.end(), resp, resp + sizeof(resp));
      pos += 4 + LoadBe32(in.data() + pos);
    }
    std::memmove(in.data(), in.data() + pos, have - pos);
    have -= pos;
    if (!out.empty() && ::write(c, out.data(), out.size()) < 0) break;
  }
  ::close(c);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t requests = 100000;
  double rate = 20000;
  size_t request_bytes = 170;  // about one 100-byte-record PRODUCE frame
  bool json = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--requests" && i + 1 < argc) requests = std::atoll(argv[++i]);
    else if (a == "--rate" && i + 1 < argc) rate = std::atof(argv[++i]);
    else if (a == "--request-bytes" && i + 1 < argc) request_bytes = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: %s [--requests N] [--rate R] [--request-bytes B] [--json]\n",
                   argv[0]);
      return 2;
    }
  }
  if (requests <= 0 || rate <= 0 || request_bytes < 8) {
    std::fprintf(stderr, "loopback_floor: --requests and --rate must be > 0, --request-bytes >= 8\n");
    return 2;
  }
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(l, 1) != 0 || ::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen");
  }
  std::thread server(Serve, l);
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("connect");
  int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  std::vector<uint8_t> req(request_bytes, 0);
  const uint32_t frame_len = htonl(static_cast<uint32_t>(request_bytes - 4));
  std::memcpy(req.data(), &frame_len, 4);
  const int64_t interval = static_cast<int64_t>(1e9 / rate);
  std::deque<int64_t> due_times;
  std::vector<int64_t> lat;
  lat.reserve(static_cast<size_t>(requests));
  std::vector<uint8_t> in(1 << 16);
  size_t have = 0;
  const int64_t start = NowNs();
  int64_t issued = 0;
  while (static_cast<int64_t>(lat.size()) < requests) {
    const int64_t now = NowNs();
    while (issued < requests && start + issued * interval <= now) {
      if (::send(s, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        Die("send");
      }
      due_times.push_back(start + issued * interval);
      issued++;
    }
    int64_t wait = issued < requests ? std::max<int64_t>(0, start + issued * interval - NowNs())
                                     : 100'000'000;
    pollfd p{s, POLLIN, 0};
    timespec ts{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    ::ppoll(&p, 1, &ts, nullptr);
    ssize_t n = ::recv(s, in.data() + have, in.size() - have, MSG_DONTWAIT);
    if (n == 0) Die("server closed");
    if (n < 0) continue;
    have += static_cast<size_t>(n);
    size_t pos = 0;
    while (have - pos >= 14) {
      lat.push_back(NowNs() - due_times.front());
      due_times.pop_front();
      pos += 14;
    }
    std::memmove(in.data(), in.data() + pos, have - pos);
    have -= pos;
  }
  ::close(s);
  server.join();
  ::close(l);
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    size_t i = static_cast<size_t>(q / 100.0 * static_cast<double>(lat.size()));
    return static_cast<double>(lat[std::min(i, lat.size() - 1)]) / 1e6;
  };
  if (json) {
    std::printf("{\"requests\":%zu,\"rate\":%.0f,\"latency_ms\":{\"p50\":%.4f,\"p99\":%.4f,"
                "\"p999\":%.4f,\"max\":%.4f}}\n",
                lat.size(), rate, pct(50), pct(99), pct(99.9),
                static_cast<double>(lat.back()) / 1e6);
  } else {
    std::printf("loopback floor (%zu requests at %.0f/s): p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms"
                "  max %.3f ms\n",
                lat.size(), rate, pct(50), pct(99), pct(99.9),
                static_cast<double>(lat.back()) / 1e6);
  }
  return 0;
}
