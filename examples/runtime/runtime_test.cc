// SPDX-License-Identifier: BSD-3-Clause
// The example runtime's behaviour: sleeps end in deadline order and not
// early, an Fd deadline ends a parked read with ETIMEDOUT, closing an Fd
// ends a parked read with ECANCELED, Stop() from another thread ends Run()
// and a later Run() goes on, tasks on two workers exchange data over
// loopback TCP, and a round trip allocates nothing once running. No
// assertion depends on how fast the machine is.
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "fd_ops.h"
#include "gort/errno.h"
#include "gort/fd.h"
#include "gort/time.h"
#include "scheduler.h"
#include "sleep.h"
#include "task.h"

namespace {

// Every allocation through operator new, counted (the runtime's and gort's
// C++ code allocate only through it).
std::atomic<int64_t> g_allocs{0};

void* CountedAlloc(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n != 0 ? n : 1);
}

}  // namespace

// The whole unaligned family is replaced, so that every new and delete
// meet (sanitizers check that they match).
void* operator new(size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
// GCC takes a replacement operator delete calling free() for a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

int CodeOf(const absl::Status& s) {
  std::optional<gort::Error> e = gort::Error::FromStatus(s);
  return e.has_value() ? e->code() : (s.ok() ? 0 : -1);
}

std::unique_ptr<rt::Scheduler> NewScheduler(int workers) {
  absl::StatusOr<std::unique_ptr<rt::Scheduler>> s =
      rt::Scheduler::Create(workers);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

rt::Task Sleeper(rt::Scheduler* s, int ms, std::mutex* mu,
                 std::vector<int>* order, std::atomic<int>* early) {
  int64_t t0 = gort::Nanotime();
  absl::Status st = co_await rt::Sleep(*s, absl::Milliseconds(ms));
  EXPECT_TRUE(st.ok()) << st;
  if (gort::Nanotime() - t0 < int64_t{ms} * 1000000) early->fetch_add(1);
  std::lock_guard<std::mutex> lock(*mu);
  order->push_back(ms);
}

TEST(ExampleRuntime, SleepsEndInDeadlineOrderAndNotEarly) {
  std::unique_ptr<rt::Scheduler> s = NewScheduler(1);
  ASSERT_NE(s, nullptr);
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> early{0};
  for (int ms : {40, 0, 10, 30, 20}) {
    rt::Spawn(*s, Sleeper(s.get(), ms, &mu, &order, &early));
  }
  s->Run();  // returns when all five have ended
  EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 30, 40}));
  EXPECT_EQ(early.load(), 0);
}

// A connected loopback pair of Fds, made with blocking calls on the test's
// thread through the runtime: a listener, a client and the accepted end.
struct Pair {
  std::unique_ptr<gort::Fd> listener, client, server;
};

rt::Task MakePair(rt::Scheduler* s, Pair* p, std::atomic<bool>* ok) {
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  gort::SockAddr a;
  std::memcpy(a.bytes, &sin, sizeof sin);
  a.len = sizeof sin;
  auto l = gort::Fd::Socket(s->poller(), AF_INET, SOCK_STREAM, 0);
  auto c = gort::Fd::Socket(s->poller(), AF_INET, SOCK_STREAM, 0);
  if (!l.ok() || !c.ok()) co_return;
  p->listener = std::move(*l);
  p->client = std::move(*c);
  if (!p->listener->Bind(a).ok() || !p->listener->Listen(4).ok()) co_return;
  auto local = p->listener->LocalAddr();
  if (!local.ok()) co_return;
  rt::IoOutcome o = co_await rt::Connect(*p->client, *local);
  if (!o.status.ok()) co_return;
  o = co_await rt::Accept(*p->listener, &p->server);
  ok->store(o.status.ok());
}

Pair Connected(rt::Scheduler* s) {
  Pair p;
  std::atomic<bool> ok{false};
  rt::Spawn(*s, MakePair(s, &p, &ok));
  s->Run();
  EXPECT_TRUE(ok.load());
  return p;
}

rt::Task ReadWithDeadline(rt::Scheduler* s, Pair* p, std::atomic<int>* code,
                          std::atomic<int>* after) {
  (void)s;
  char buf[16];
  EXPECT_TRUE(
      p->server->SetDeadline(absl::Milliseconds(20), gort::PollMode::kRead)
          .ok());
  rt::IoOutcome o = co_await rt::Read(*p->server, buf, sizeof buf);
  code->store(CodeOf(o.status));
  // Cleared, the next read waits for data again and gets it.
  EXPECT_TRUE(p->server->SetDeadline(0, gort::PollMode::kRead).ok());
  o = co_await rt::Write(*p->client, "hi", 2);
  EXPECT_TRUE(o.status.ok());
  o = co_await rt::Read(*p->server, buf, sizeof buf);
  after->store(o.status.ok() ? static_cast<int>(o.n) : -1);
}

TEST(ExampleRuntime, ReadDeadlineGivesETIMEDOUTThenDataArrives) {
  std::unique_ptr<rt::Scheduler> s = NewScheduler(1);
  ASSERT_NE(s, nullptr);
  Pair p = Connected(s.get());
  ASSERT_NE(p.server, nullptr);
  std::atomic<int> code{0}, after{0};
  rt::Spawn(*s, ReadWithDeadline(s.get(), &p, &code, &after));
  s->Run();
  EXPECT_EQ(code.load(), GORT_ETIMEDOUT);
  EXPECT_EQ(after.load(), 2);
}

rt::Task ParkedReader(Pair* p, std::atomic<int>* code) {
  char buf[16];
  rt::IoOutcome o = co_await rt::Read(*p->server, buf, sizeof buf);
  code->store(CodeOf(o.status));
}

rt::Task Closer(rt::Scheduler* s, Pair* p) {
  (void)co_await rt::Sleep(*s, absl::Milliseconds(10));
  EXPECT_TRUE(p->server->Close().ok());
}

TEST(ExampleRuntime, CloseEndsAParkedReadWithECANCELED) {
  std::unique_ptr<rt::Scheduler> s = NewScheduler(1);
  ASSERT_NE(s, nullptr);
  Pair p = Connected(s.get());
  ASSERT_NE(p.server, nullptr);
  std::atomic<int> code{0};
  rt::Spawn(*s, ParkedReader(&p, &code));
  rt::Spawn(*s, Closer(s.get(), &p));
  s->Run();
  EXPECT_EQ(code.load(), GORT_ECANCELED);
}

// A write larger than the socket buffers: its first attempt (TryWrite)
// sends part and would block, the parking Write goes on from there, and
// the outcome counts every byte once; the reader gets them all, in order.
rt::Task BigWriter(Pair* p, const std::vector<unsigned char>* data,
                   std::atomic<int64_t>* n) {
  rt::IoOutcome o = co_await rt::Write(*p->client, data->data(), data->size());
  EXPECT_TRUE(o.status.ok()) << o.status;
  n->store(static_cast<int64_t>(o.n));
}

rt::Task BigReader(Pair* p, std::vector<unsigned char>* got, size_t total) {
  std::vector<unsigned char> buf(64 << 10);
  while (got->size() < total) {
    rt::IoOutcome o = co_await rt::Read(*p->server, buf.data(), buf.size());
    if (!o.status.ok() || o.n == 0) break;
    got->insert(got->end(), buf.begin(), buf.begin() + o.n);
  }
}

TEST(ExampleRuntime, WriteLargerThanTheBuffersGoesOnAfterItsFirstTry) {
  std::unique_ptr<rt::Scheduler> s = NewScheduler(1);
  ASSERT_NE(s, nullptr);
  Pair p = Connected(s.get());
  ASSERT_NE(p.server, nullptr);
  constexpr size_t kTotal = 8 << 20;
  std::vector<unsigned char> data(kTotal);
  for (size_t i = 0; i < kTotal; ++i) {
    data[i] = static_cast<unsigned char>(i * 7 + i / 4096);
  }
  std::vector<unsigned char> got;
  got.reserve(kTotal);
  std::atomic<int64_t> n{-1};
  rt::Spawn(*s, BigWriter(&p, &data, &n));
  rt::Spawn(*s, BigReader(&p, &got, kTotal));
  s->Run();
  EXPECT_EQ(n.load(), static_cast<int64_t>(kTotal));
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(got == data);
}

// Stop() from another thread while the workers block in Poll(): Run()
// returns with the task still parked; the next Run() goes on from there.
rt::Task ReadOne(Pair* p, std::atomic<bool>* started, std::atomic<int>* n) {
  char buf[16];
  started->store(true);
  rt::IoOutcome o = co_await rt::Read(*p->server, buf, sizeof buf);
  n->store(o.status.ok() ? static_cast<int>(o.n) : -1);
}

rt::Task WriteOne(Pair* p) {
  rt::IoOutcome o = co_await rt::Write(*p->client, "x", 1);
  EXPECT_TRUE(o.status.ok()) << o.status;
}

TEST(ExampleRuntime, StopFromAnotherThreadEndsRunAndRunGoesOn) {
  for (int workers : {1, 2}) {
    std::unique_ptr<rt::Scheduler> s = NewScheduler(workers);
    ASSERT_NE(s, nullptr);
    Pair p = Connected(s.get());
    ASSERT_NE(p.server, nullptr);
    std::atomic<bool> started{false};
    std::atomic<int> n{0};
    rt::Spawn(*s, ReadOne(&p, &started, &n));
    // Once the task runs, Run() has begun (a Stop() before it would be
    // undone by it).
    std::thread stopper([&] {
      while (!started.load()) std::this_thread::yield();
      s->Stop();
    });
    s->Run();
    stopper.join();
    EXPECT_EQ(n.load(), 0) << workers;  // still parked
    rt::Spawn(*s, WriteOne(&p));
    s->Run();  // ends once both tasks have
    EXPECT_EQ(n.load(), 1) << workers;
  }
}

// Two tasks bounce a counter over one connection, many connections at once,
// on two workers: a coroutine parked by one worker is resumed by either.
rt::Task Bounce(gort::Fd* fd, bool first, int rounds, std::atomic<int>* bad) {
  // first sends 0; each side answers a value v with v + 1.
  uint32_t expect = first ? 1 : 0;
  if (first) {
    uint32_t zero = 0;
    rt::IoOutcome o = co_await rt::Write(*fd, &zero, sizeof zero);
    if (!o.status.ok()) bad->fetch_add(1);
  }
  for (int i = 0; i < rounds; ++i) {
    uint32_t got = 0;
    size_t have = 0;
    while (have < sizeof got) {
      rt::IoOutcome o = co_await rt::Read(
          *fd, reinterpret_cast<char*>(&got) + have, sizeof got - have);
      if (!o.status.ok() || o.n == 0) {
        bad->fetch_add(1);
        co_return;
      }
      have += o.n;
    }
    if (got != expect) bad->fetch_add(1);
    if (first && i == rounds - 1) break;  // the other side is done too
    uint32_t next = got + 1;
    rt::IoOutcome o = co_await rt::Write(*fd, &next, sizeof next);
    if (!o.status.ok()) bad->fetch_add(1);
    expect = got + 2;
  }
}

TEST(ExampleRuntime, TasksPingPongOnTwoWorkers) {
  constexpr int kPairs = 16;
  constexpr int kRounds = 200;
  std::unique_ptr<rt::Scheduler> s = NewScheduler(2);
  ASSERT_NE(s, nullptr);
  std::vector<Pair> pairs;
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(Connected(s.get()));
    ASSERT_NE(pairs.back().server, nullptr);
  }
  std::atomic<int> bad{0};
  for (Pair& p : pairs) {
    rt::Spawn(*s, Bounce(p.client.get(), true, kRounds, &bad));
    rt::Spawn(*s, Bounce(p.server.get(), false, kRounds, &bad));
  }
  s->Run();
  EXPECT_EQ(bad.load(), 0);
}

// Two tasks bounce a counter on one worker; the allocations made between
// round 100 and round 1100 (both sides, the scheduler, the FD layer and the
// poller) are counted: none.
rt::Task CountingBounce(gort::Fd* fd, bool first, int rounds,
                        std::atomic<int>* bad, int64_t* allocs) {
  uint32_t expect = first ? 1 : 0;
  int64_t before = 0;
  if (first) {
    uint32_t zero = 0;
    rt::IoOutcome o = co_await rt::Write(*fd, &zero, sizeof zero);
    if (!o.status.ok()) bad->fetch_add(1);
  }
  for (int i = 0; i < rounds; ++i) {
    if (first && i == 100) before = g_allocs.load();
    if (first && i == 1100) *allocs = g_allocs.load() - before;
    uint32_t got = 0;
    rt::IoOutcome o = co_await rt::Read(*fd, &got, sizeof got);
    if (!o.status.ok() || o.n != sizeof got || got != expect) {
      bad->fetch_add(1);
      co_return;
    }
    if (first && i == rounds - 1) break;
    uint32_t next = got + 1;
    o = co_await rt::Write(*fd, &next, sizeof next);
    if (!o.status.ok()) bad->fetch_add(1);
    expect = got + 2;
  }
}

TEST(ExampleRuntime, RoundTripsAllocateNothing) {
  std::unique_ptr<rt::Scheduler> s = NewScheduler(1);
  ASSERT_NE(s, nullptr);
  Pair p = Connected(s.get());
  ASSERT_NE(p.server, nullptr);
  std::atomic<int> bad{0};
  int64_t allocs = -1;
  int64_t at_start = g_allocs.load();
  rt::Spawn(*s, CountingBounce(p.client.get(), true, 1200, &bad, &allocs));
  rt::Spawn(*s, CountingBounce(p.server.get(), false, 1200, &bad, nullptr));
  s->Run();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(g_allocs.load(), at_start);  // the counter counts (two frames)
  EXPECT_EQ(allocs, 0);
}

}  // namespace
