#include "net/network_thread.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/clock.h"
#include "common/thread_priority.h"
#include "protocol/frame_layout.h"

namespace sentry::net {

namespace {
std::atomic<uint64_t> g_next_conn_id{1};  // 0 is the eventfd's epoll tag
constexpr size_t kReadChunk = 64 << 10;
// Receive blocks kept for reuse per network thread (256 KiB each).
constexpr size_t kMaxSpareBlocks = 16;
constexpr int kMaxEvents = 256;
constexpr size_t kInboxBulk = 128;
constexpr int64_t kIdleCheckEveryMs = 1000;
constexpr int64_t kMaxSleepMs = 1000;  // the loop wakes at least this often
constexpr int64_t kDrainPollMs = 5;    // while stopping
// While spinning, how long to watch the inbox with plain loads between two
// epoll_wait(0) calls. Each epoll_wait is a syscall (~1 us on this VM; 1.28 M
// of them in 2 s of scenario (b)); most spins end with a completion in the
// inbox, not a socket event. 5 us: (b) 1.01-1.10 M -> 1.10-1.20 M rec/s, (e)
// unchanged (same binary, back to back; 10 us gave (b) 1.20-1.24 M but a
// new request may then wait up to 10 us to be seen).
constexpr auto kSpinSyscallGap = std::chrono::microseconds(5);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace

NetworkThread::NetworkThread(uint32_t index, const NetOptions& opt,
                             std::atomic<int64_t>* open_connections)
    : index_(index), opt_(opt), open_connections_(open_connections) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  evfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  SENTRY_CHECK(epfd_ >= 0 && evfd_ >= 0, "epoll/eventfd creation failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
}

NetworkThread::~NetworkThread() {
  Stop(0);
  DrainLateCompletions();
  ::close(epfd_);
  ::close(evfd_);
}

void NetworkThread::Start() { thread_ = std::thread([this] { Run(); }); }

Status NetworkThread::SetRealtimePriority(int priority) {
  return sentry::SetRealtimePriority(thread_, priority);
}

void NetworkThread::Stop(int64_t grace_ms) {
  if (!thread_.joinable()) return;
  drain_deadline_ms_ = SteadyMillis() + grace_ms;
  draining_.store(true);
  stop_.store(true);
  Post(Message{});  // wake; an empty connection message is ignored
  thread_.join();
}

void NetworkThread::Post(Message m) {
  inbox_.enqueue(std::move(m));
  Wake();
}

void NetworkThread::Wake() {
  if (!evfd_armed_.exchange(true, std::memory_order_acq_rel)) {
    uint64_t one = 1;
    ssize_t r = ::write(evfd_, &one, sizeof(one));
    (void)r;
  }
}

size_t NetworkThread::DrainLateCompletions() {
  SENTRY_CHECK(!thread_.joinable(), "DrainLateCompletions while the thread runs");
  Message msgs[kInboxBulk];
  size_t completions = 0;
  while (size_t n = inbox_.try_dequeue_bulk(msgs, kInboxBulk)) {
    for (size_t i = 0; i < n; i++) {
      Message& m = msgs[i];
      if (m.kind == Message::Kind::kConnection && m.fd >= 0) {
        ::close(m.fd);
        open_connections_->fetch_sub(1);
      } else if (m.kind == Message::Kind::kCompletion && m.completion) {
        m.completion->Finish();  // its side effects hold without a connection
        completions++;
      }
      m = Message{};
    }
  }
  return completions;
}

void NetworkThread::AddConnection(int fd, FrameHandler* handler,
                                  std::atomic<int64_t>* listener_open, TlsContext* tls) {
  Message m;
  m.tls = tls;
  m.kind = Message::Kind::kConnection;
  m.fd = fd;
  m.handler = handler;
  m.listener_open = listener_open;
  Post(std::move(m));
}

void NetworkThread::Complete(pipeline::CompletionPtr c) {
  Message m;
  m.kind = Message::Kind::kCompletion;
  m.completion = std::move(c);
  Post(std::move(m));
}

void NetworkThread::CompleteBatch(std::vector<pipeline::CompletionPtr>* cs) {
  constexpr size_t kChunk = 64;
  Message msgs[kChunk];
  for (size_t i = 0; i < cs->size(); i += kChunk) {
    const size_t n = std::min(kChunk, cs->size() - i);
    for (size_t k = 0; k < n; k++) {
      msgs[k].kind = Message::Kind::kCompletion;
      msgs[k].completion = std::move((*cs)[i + k]);
    }
    inbox_.enqueue_bulk(std::make_move_iterator(msgs), n);
  }
  cs->clear();
  Wake();
}

void NetworkThread::CompleteLocal(pipeline::CompletionPtr c) {
  local_done_.push_back(std::move(c));
}

void NetworkThread::WakeFetches(const std::shared_ptr<pipeline::Partition>& p) {
  Message m;
  m.kind = Message::Kind::kWake;
  m.partition = p;
  Post(std::move(m));
}

bool NetworkThread::Paused(const Connection* c) const {
  return c->closing || c->retry_pending || c->handler->Paused(*c->session) ||
         draining_.load(std::memory_order_relaxed) ||
         c->inflight >= opt_.max_inflight_per_connection ||
         static_cast<int64_t>(c->pending_output()) >= opt_.max_output_bytes_per_connection;
}

void NetworkThread::RejectFrame(Connection* c, uint32_t len, int64_t max) {
  spdlog::warn("connection {}: frame length {} is outside [{}, {}]; closing it", c->id, len,
               c->handler->min_frame_bytes(), max);
  const uint8_t* p = c->block->data.data() + c->rstart;
  c->handler->OnBadLength(*c->session, len, {p, c->rend - c->rstart}, *c);
  c->closing = true;
}

void NetworkThread::ProcessFrames(Connection* c) {
  while (!Paused(c)) {
    const size_t avail = c->rend - c->rstart;
    if (avail < protocol::frame_layout::kLengthBytes) break;
    const uint8_t* p = c->block->data.data() + c->rstart;
    const uint32_t len = protocol::frame_layout::FrameLength(p);
    const int64_t max = c->handler->max_frame_bytes(*c->session, opt_.max_frame_bytes);
    if (len < c->handler->min_frame_bytes() || len > static_cast<uint64_t>(max)) {
      RejectFrame(c, len, max);
      return;
    }
    const size_t whole = protocol::frame_layout::kLengthBytes + len;
    if (avail < whole) {
      c->EnsureSpace(whole - avail);
      break;
    }
    ParkedRead parked;
    const Outcome outcome = c->handler->OnFrame(
        *c->session, {p + protocol::frame_layout::kLengthBytes, len},
        std::static_pointer_cast<const void>(c->block), *c, &parked);
    if (outcome == Outcome::kRetryLater) {
      c->retry_pending = true;
      retry_.push_back(c->id);
      return;
    }
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    c->rstart += whole;
    switch (outcome) {
      case Outcome::kSubmitted: c->inflight++; break;
      case Outcome::kParked:
        c->inflight++;
        parked.conn_id = c->id;
        for (auto& part : parked.partitions) part->AddWatcher(index_);
        parked_.push_back(std::move(parked));
        break;
      case Outcome::kClose: c->closing = true; return;
      case Outcome::kDone:
      case Outcome::kRetryLater: break;
    }
  }
  if (c->rstart == c->rend && c->block.use_count() == 1) c->rstart = c->rend = 0;
}

bool NetworkThread::AdvanceHandshake(Connection* c) {
  const TlsStream::Io io = c->tls->Handshake();
  if (io == TlsStream::Io::kOk) {
    c->tls_context->handshakes.fetch_add(1, std::memory_order_relaxed);
    const std::string subject = c->tls->PeerSubject();
    spdlog::debug("connection {}: TLS established ({}){}", c->id, c->tls->Describe(),
                  subject.empty() ? "" : ", client certificate " + subject);
    c->handler->OnTlsEstablished(*c->session, subject);
    c->readable = true;  // what came with the last handshake bytes is unread
    return true;
  }
  if (io == TlsStream::Io::kWantRead || io == TlsStream::Io::kWantWrite) {
    c->readable = false;  // until epoll reports the socket again
    return false;
  }
  if (io != TlsStream::Io::kClosed || !c->tls->error().empty()) {
    c->tls_context->handshake_failures.fetch_add(1, std::memory_order_relaxed);
    if (c->tls_context->handshake_warn.Allow()) {
      spdlog::warn("connection {}: TLS handshake failed: {}; closing it{}", c->id,
                   c->tls->error(), c->tls_context->handshake_warn.Suppressed());
    }
  }
  c->readable = false;
  c->peer_closed = true;
  c->closing = true;
  return false;
}

void NetworkThread::OnReadable(Connection* c) {
  if (c->tls && !c->tls->established() && (!c->readable || !AdvanceHandshake(c))) return;
  if (!c->block && c->readable && !spare_blocks_.empty()) {
    c->block = std::move(spare_blocks_.back());
    spare_blocks_.pop_back();
    c->rstart = c->rend = 0;
  }
  while (c->readable && !Paused(c)) {
    c->EnsureSpace(c->block ? std::min(kReadChunk, c->block->data.size() / 4) : kReadChunk);
    ssize_t n = c->Receive(c->read_ptr(), c->read_space());
    if (n > 0) {
      c->rend += static_cast<size_t>(n);
      c->last_active_ms = metrics::ThreadMetrics::Now() / 1'000'000;  // the pass's time
      ProcessFrames(c);
      continue;
    }
    if (n == 0) {
      c->peer_closed = true;
      c->readable = false;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      c->peer_closed = true;
      c->closing = true;
    }
    c->readable = false;
  }
  // Nothing left to parse and no request holding the block: it goes back to
  // the spares, so 10,000 idle connections hold KiB each, not 256 KiB.
  if (c->block && c->rstart == c->rend && c->block.use_count() == 1) {
    if (spare_blocks_.size() < kMaxSpareBlocks) spare_blocks_.push_back(std::move(c->block));
    c->block.reset();
    c->rstart = c->rend = 0;
  }
}

void NetworkThread::AfterIo(Connection* c) {
  if (c->has_output()) {
    size_t before = c->pending_output();
    if (!c->Flush()) {
      CloseConnection(c);
      return;
    }
    stats_.bytes_out.fetch_add(before - c->pending_output(), std::memory_order_relaxed);
    // Paused on its unsent answers, the connection may hold requests it
    // already read (or left unread in the socket) that no further event
    // will bring back once the output drained: go on with them next pass.
    const int64_t cap = opt_.max_output_bytes_per_connection;
    if (static_cast<int64_t>(before) >= cap && static_cast<int64_t>(c->pending_output()) < cap &&
        !c->retry_pending) {
      c->retry_pending = true;
      retry_.push_back(c->id);
    }
  }
  const bool done = !c->has_output() && c->inflight == 0;
  if ((c->closing && !c->has_output()) || (c->peer_closed && done &&
                                           c->rend - c->rstart < protocol::frame_layout::kLengthBytes)) {
    CloseConnection(c);
  }
}

void NetworkThread::Unwatch(ParkedRead& pr) {
  for (auto& p : pr.partitions) p->RemoveWatcher(index_);
}

void NetworkThread::CloseConnection(Connection* c) {
  const uint64_t id = c->id;
  for (size_t i = 0; i < parked_.size();) {
    if (parked_[i].conn_id == id) {
      Unwatch(parked_[i]);
      parked_[i] = std::move(parked_.back());
      parked_.pop_back();
    } else {
      i++;
    }
  }
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
  if (c->listener_open) c->listener_open->fetch_sub(1, std::memory_order_relaxed);
  conns_.erase(id);  // closes the socket
  open_connections_->fetch_sub(1, std::memory_order_relaxed);
  stats_.connections.fetch_sub(1, std::memory_order_relaxed);
}

int NetworkThread::SpinThenWait(epoll_event* evs, int max_events, int timeout_ms) {
  // While requests flow, the next frame or completion usually comes within
  // microseconds; sleeping costs a context switch each way (perf on scenario
  // (b): ~40% of sentryd's samples were in the scheduler). So poll for
  // network.poll.spin.us first (25 us doubled one-connection 1-record
  // requests/s; it costs a few us of p50 at low rates: BENCHMARKS.md).
  // Meanwhile "armed" is set, so writers skip the eventfd write and this loop
  // sees their messages in the inbox.
  evfd_armed_.store(true, std::memory_order_release);
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::microseconds(opt_.poll_spin_us);
  int n = 0;
  while (true) {
    n = ::epoll_wait(epfd_, evs, max_events, 0);
    if (n > 0 || inbox_.size_approx() > 0) return n;
    // Between two epoll_wait calls, watch the inbox with plain loads.
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    const auto next_poll = std::min(until, now + kSpinSyscallGap);
    while (inbox_.size_approx() == 0 && std::chrono::steady_clock::now() < next_poll) {
      // A few relaxed checks per clock read: the clock costs ~30 ns here and
      // a vCPU's sibling gets the pipeline while this one pauses.
      for (int k = 0; k < 8 && inbox_.size_approx() == 0; k++) CpuRelax();
    }
    if (inbox_.size_approx() > 0) return 0;
  }
  // Disarm, then take whatever was posted while armed (its producer skipped
  // the eventfd write), and only then sleep.
  evfd_armed_.exchange(false, std::memory_order_acq_rel);
  if (inbox_.size_approx() > 0) return 0;
  return Wait(evs, max_events, timeout_ms);
}

int NetworkThread::Wait(epoll_event* evs, int max_events, int timeout_ms) {
  if (timeout_ms == 0) return ::epoll_wait(epfd_, evs, max_events, 0);
  const int64_t start = metrics::SteadyNanos();
  const int n = ::epoll_wait(epfd_, evs, max_events, timeout_ms);
  metrics_.AddIdle(metrics::SteadyNanos() - start);
  return n;
}

void NetworkThread::OnConnectionMessage(Message& m, std::vector<uint64_t>* touched) {
  if (m.fd < 0) return;  // the wake-up of Stop()
  if (draining_.load()) {
    ::close(m.fd);
    open_connections_->fetch_sub(1);
    if (m.listener_open) m.listener_open->fetch_sub(1);
    return;
  }
  int one = 1;
  ::setsockopt(m.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const uint64_t id = g_next_conn_id.fetch_add(1);
  auto conn = std::make_unique<Connection>(m.fd, id, index_, m.handler);
  conn->listener_open = m.listener_open;
  m.fd = -1;  // the connection owns it now
  conn->last_active_ms = conn->opened_ms = SteadyMillis();
  if (m.tls) {
    SSL* ssl = m.tls->NewSsl();
    if (!ssl) {
      spdlog::error("connection {}: no memory for a TLS session; closing it", id);
      open_connections_->fetch_sub(1);
      if (m.listener_open) m.listener_open->fetch_sub(1);
      return;
    }
    conn->tls = std::make_unique<TlsStream>(ssl, conn->fd);
    conn->tls_context = m.tls;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = id;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, conn->fd, &ev) != 0) {
    spdlog::error("epoll_ctl add: {}", std::strerror(errno));
    open_connections_->fetch_sub(1);
    if (m.listener_open) m.listener_open->fetch_sub(1);
    return;  // conn's destructor closes the socket
  }
  conns_.emplace(id, std::move(conn));
  stats_.connections.fetch_add(1, std::memory_order_relaxed);
  touched->push_back(id);
}

void NetworkThread::OnCompletion(pipeline::CompletionPtr done, std::vector<uint64_t>* touched) {
  done->Finish();  // side effects first, connection or not
  auto it = conns_.find(done->route.conn_id);
  if (it == conns_.end()) return;  // asker gone: freed here
  Connection* c = it->second.get();
  c->inflight -= c->handler->OnCompletion(std::move(done), *c->session, *c);
  touched->push_back(c->id);
}

void NetworkThread::OnWakeMessage(Message& m, std::vector<uint64_t>* touched) {
  for (size_t k = 0; k < parked_.size();) {
    ParkedRead& pr = parked_[k];
    const bool watches =
        std::find(pr.partitions.begin(), pr.partitions.end(), m.partition) != pr.partitions.end();
    auto it = watches ? conns_.find(pr.conn_id) : conns_.end();
    Connection* c = it == conns_.end() ? nullptr : it->second.get();
    if (c && c->handler->OnParkedReady(pr, false, *c->session, *c)) {
      Unwatch(pr);
      c->inflight--;
      touched->push_back(pr.conn_id);
      pr = std::move(parked_.back());
      parked_.pop_back();
    } else {
      k++;
    }
  }
}

size_t NetworkThread::DrainInbox() {
  Message msgs[kInboxBulk];
  std::vector<uint64_t> touched;
  size_t total = local_done_.size();
  // Inline appends first: posted before anything now in the inbox.
  std::vector<pipeline::CompletionPtr> local;
  local.swap(local_done_);
  for (auto& done : local) OnCompletion(std::move(done), &touched);
  while (size_t n = inbox_.try_dequeue_bulk(msgs, kInboxBulk)) {
    total += n;
    for (size_t i = 0; i < n; i++) {
      Message& m = msgs[i];
      switch (m.kind) {
        case Message::Kind::kConnection: OnConnectionMessage(m, &touched); break;
        case Message::Kind::kCompletion: OnCompletion(std::move(m.completion), &touched); break;
        case Message::Kind::kWake: OnWakeMessage(m, &touched); break;
      }
      m = Message{};
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (uint64_t id : touched) {
    auto it = conns_.find(id);
    if (it != conns_.end()) Resume(it->second.get());
  }
  return total;
}

void NetworkThread::Resume(Connection* c) {
  ProcessFrames(c);  // frames held back (in-flight cap, ordering) may go now
  OnReadable(c);
  AfterIo(c);
}

void NetworkThread::ExpireParked(int64_t now) {
  for (size_t k = 0; k < parked_.size();) {
    ParkedRead& pr = parked_[k];
    if (pr.deadline_ms > now) {
      k++;
      continue;
    }
    auto it = conns_.find(pr.conn_id);
    Unwatch(pr);
    Connection* c = it == conns_.end() ? nullptr : it->second.get();
    if (c) {
      c->handler->OnParkedReady(pr, true, *c->session, *c);
      c->inflight--;
    }
    pr = std::move(parked_.back());
    parked_.pop_back();
    if (c) Resume(c);
  }
}

void NetworkThread::CheckIdle(int64_t now) {
  std::vector<Connection*> idle;
  std::vector<Connection*> stuck;  // TLS handshakes past their time
  for (auto& [id, c] : conns_) {
    if (c->tls && !c->tls->established()) {
      if (now - c->opened_ms > opt_.tls_handshake_timeout_ms) stuck.push_back(c.get());
    } else if (c->inflight == 0 && now - c->last_active_ms > opt_.idle_timeout_ms) {
      idle.push_back(c.get());
    }
  }
  for (Connection* c : idle) {
    spdlog::info("connection {}: idle for over {} ms, closing", c->id, opt_.idle_timeout_ms);
    CloseConnection(c);
  }
  for (Connection* c : stuck) {
    c->tls_context->handshake_failures.fetch_add(1, std::memory_order_relaxed);
    if (c->tls_context->handshake_warn.Allow()) {
      spdlog::warn("connection {}: no TLS handshake within {} ms; closing it{}", c->id,
                   opt_.tls_handshake_timeout_ms, c->tls_context->handshake_warn.Suppressed());
    }
    CloseConnection(c);
  }
}

int NetworkThread::ComputeTimeoutMs(int64_t now) const {
  if (!retry_.empty()) return 1;
  int64_t t = std::min<int64_t>(kMaxSleepMs, next_idle_check_ms_ - now);
  for (auto& pr : parked_) t = std::min(t, pr.deadline_ms - now);
  if (draining_.load()) t = std::min<int64_t>(t, kDrainPollMs);
  return static_cast<int>(std::max<int64_t>(t, 0));
}

void NetworkThread::Run() {
  metrics::ThreadMetrics::SetCurrent(&metrics_);
  epoll_event evs[kMaxEvents];
  next_idle_check_ms_ = SteadyMillis() + kIdleCheckEveryMs;
  bool busy = false;  // the last pass had socket events or inbox messages
  // Two clock reads per pass (metrics::ThreadMetrics::BeginPass/EndPass),
  // which also give the pass its milliseconds.
  int64_t pass_end = metrics::SteadyNanos();
  while (true) {
    // Inline appends of the last pass are answered without sleeping first.
    busy |= !local_done_.empty();
    const int timeout = ComputeTimeoutMs(pass_end / 1'000'000);
    const bool may_sleep = !busy && timeout != 0;
    int n = ::epoll_wait(epfd_, evs, kMaxEvents, may_sleep ? timeout : 0);
    if (n == 0 && busy && timeout != 0 && local_done_.empty()) {
      // Spinning is busy time; the sleep at its end counts itself as idle.
      n = opt_.poll_spin_us > 0 ? SpinThenWait(evs, kMaxEvents, timeout)
                                : Wait(evs, kMaxEvents, timeout);
    }
    const int64_t pass_start = metrics::SteadyNanos();
    if (may_sleep) metrics_.AddIdle(pass_start - pass_end);
    metrics::ThreadMetrics::BeginPass(pass_start);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 0) {
        // Read (reset) the eventfd first, then disarm: a Post() between the
        // two sees "armed" and skips its write, but its message is in the
        // inbox, which DrainInbox() below empties after the disarm. The other
        // order lost wake-ups: the read consumed a write made after the
        // disarm, leaving "armed" set with nothing to wake the loop.
        uint64_t v;
        ssize_t r = ::read(evfd_, &v, sizeof(v));
        (void)r;
        evfd_armed_.exchange(false, std::memory_order_acq_rel);  // RMW: syncs with Post()
        continue;
      }
      auto it = conns_.find(evs[i].data.u64);
      if (it == conns_.end()) continue;
      Connection* c = it->second.get();
      // TLS: writability may be what a handshake or a read waits for.
      if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ||
          (c->tls && (!c->tls->established() || c->tls->read_wants_write()))) {
        c->readable = true;
        OnReadable(c);
      }
      AfterIo(c);
    }
    busy = n > 0;
    busy |= DrainInbox() > 0;
    if (!retry_.empty()) {
      std::vector<uint64_t> retry;
      retry.swap(retry_);
      for (uint64_t id : retry) {
        auto it = conns_.find(id);
        if (it == conns_.end()) continue;
        Connection* c = it->second.get();
        c->retry_pending = false;
        Resume(c);
      }
    }
    pass_end = metrics::SteadyNanos();
    const int64_t now = pass_end / 1'000'000;  // SteadyMillis(): the same clock
    ExpireParked(draining_.load() ? INT64_MAX : now);  // a stop answers parked fetches now
    if (now >= next_idle_check_ms_) {
      CheckIdle(now);
      next_idle_check_ms_ = now + kIdleCheckEveryMs;
    }
    metrics_.EndPass(pass_end);
    if (draining_.load()) {
      bool unanswered = false;
      for (auto& [id, c] : conns_) unanswered |= c->inflight > 0 || c->has_output();
      if (!unanswered || now >= drain_deadline_ms_) break;
    }
  }
  while (!conns_.empty()) CloseConnection(conns_.begin()->second.get());
  metrics::ThreadMetrics::BeginPass(0);
  for (auto& done : local_done_) done->Finish();  // their connections are gone
  local_done_.clear();
  // Completions still on their way (grace ran out) arrive in the inbox after
  // this: DrainLateCompletions() finishes and frees them.
}

}  // namespace sentry::net
