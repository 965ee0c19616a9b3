// NetworkThread without a front end or sockets: what happens to completions
// that cannot be delivered. A completion that arrives after its network
// thread stopped (the shutdown grace ran out while the pipeline still held
// requests) must still be finished (its side effects applied) and freed;
// losing it leaked the request and everything it held (issue 11).
#include "net/network_thread.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "net/server.h"
#include "net/sized_answers.h"
#include "pipeline/write_request.h"

namespace sentry::net {
namespace {

// A completion whose side effect and lifetime the test can observe.
pipeline::CompletionPtr Observed(uint64_t conn_id, std::atomic<int>* finished,
                                 std::weak_ptr<const void>* held) {
  auto req = std::make_unique<pipeline::WriteRequest>();
  req->route = {0, conn_id};
  auto hold = std::make_shared<int>(42);
  *held = hold;
  req->frame_hold = hold;
  req->on_done = [finished](pipeline::Completion&) { finished->fetch_add(1); };
  return req;
}

TEST(NetworkThreadTest, CompletionForAClosedConnectionIsFinishedAndFreed) {
  std::atomic<int64_t> open{0};
  NetworkThread t(0, NetOptions{}, &open);
  t.Start();
  std::atomic<int> finished{0};
  std::weak_ptr<const void> held;
  t.Complete(Observed(/*conn_id=*/12345, &finished, &held));  // no such connection
  // The thread handles it on its own; wait for the effect, not for time.
  for (int i = 0; i < 10000 && !held.expired(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(held.expired()) << "the completion was never freed";
  EXPECT_EQ(finished.load(), 1);
  t.Stop(0);
}

TEST(NetworkThreadTest, CompletionAfterStopIsFinishedByDrainLateCompletions) {
  std::atomic<int64_t> open{0};
  NetworkThread t(0, NetOptions{}, &open);
  t.Start();
  t.Stop(0);
  std::atomic<int> finished{0};
  std::weak_ptr<const void> a, b;
  t.Complete(Observed(1, &finished, &a));
  std::vector<pipeline::CompletionPtr> batch;
  batch.push_back(Observed(2, &finished, &b));
  t.CompleteBatch(&batch);
  EXPECT_FALSE(a.expired()) << "nothing runs a stopped thread's inbox by itself";
  EXPECT_EQ(t.DrainLateCompletions(), 2u);
  EXPECT_EQ(finished.load(), 2) << "a late offset commit must still be applied";
  EXPECT_TRUE(a.expired());
  EXPECT_TRUE(b.expired());
}

TEST(NetworkThreadTest, DestructorFreesWhatWasNeverDrained) {
  std::atomic<int> finished{0};
  std::weak_ptr<const void> held;
  {
    std::atomic<int64_t> open{0};
    NetworkThread t(0, NetOptions{}, &open);
    t.Complete(Observed(7, &finished, &held));  // never started
  }
  EXPECT_TRUE(held.expired());
  EXPECT_EQ(finished.load(), 1);
}

// A connection paused because its unsent answers passed
// connection.max.output.bytes must go on with the requests it already read
// once the client has taken them: the socket's writability is then the only
// event, and it used to only flush, leaving the read requests unanswered.
TEST(NetworkThreadTest, AConnectionPausedOnItsOutputGoesOnOnceTheOutputDrains) {
  std::atomic<int64_t> open{0};
  NetOptions opt;
  opt.max_output_bytes_per_connection = 64 << 10;
  NetworkThread t(0, opt, &open);
  t.Start();
  SizedAnswers handler;
  Server server({&t}, 100, &open);
  ASSERT_TRUE(server.Listen("127.0.0.1", 0).ok());
  server.Start(&handler);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int rcvbuf = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  const timeval give_up{10, 0};  // a stall fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &give_up, sizeof(give_up));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(server.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  // Ten requests in one write (the broker reads them at once), each
  // answered with 200 KiB: the first answer alone passes the limit.
  constexpr int kRequests = 10;
  constexpr uint32_t kAnswer = 200 << 10;
  std::vector<uint8_t> requests;
  for (int i = 0; i < kRequests; i++) {
    uint8_t frame[8];
    PutU32(frame, 4);
    PutU32(frame + 4, kAnswer);
    requests.insert(requests.end(), frame, frame + 8);
  }
  ASSERT_EQ(::write(fd, requests.data(), requests.size()),
            static_cast<ssize_t>(requests.size()));
  std::vector<uint8_t> buf(4 + kAnswer);
  for (int i = 0; i < kRequests; i++) {
    size_t got = 0;
    while (got < buf.size()) {
      const ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
      ASSERT_GT(n, 0) << "answer " << i << " stalled after " << got << " bytes";
      got += static_cast<size_t>(n);
    }
    ASSERT_EQ(GetU32(buf.data()), kAnswer);
    ASSERT_TRUE(std::equal(buf.begin() + 4, buf.end(), Payload()->begin())) << "answer " << i;
  }
  ::close(fd);
  server.Stop();
  t.Stop(0);
}

}  // namespace
}  // namespace sentry::net
