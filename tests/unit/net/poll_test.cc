// Checks readiness polling on a worker's ring (Worker::poll_fd, cancel_poll,
// the fe::FdPoller interface of net/worker.h) with pipes and socket pairs
// driven from the test thread: a poll reports the ready events once, on the
// worker's thread; re-arming on unread bytes fires again at once (level
// behaviour); a hang-up is reported; a cancelled poll never calls back and
// its id goes stale; the slot limit refuses and counts; and a stop with a
// poll still armed ends the loop. Each wait is bounded; skipped without
// io_uring.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "net/probe.h"
#include "net/worker.h"
#include "net/workers.h"

namespace fe::net {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kKindRun = 1;  // words[0]: a std::function<void(Worker&)>*

// Runs posted closures on the worker's thread; nothing else.
class RunHandler : public Handler {
public:
    void on_datagram(Runtime&, UdpSocketId, const Endpoint&, std::string_view, Time) override {}
    size_t on_stream_data(Runtime&, ConnectionId, std::string_view b, Time) override {
        return b.size();
    }
    void on_connection_open(Runtime&, ConnectionId, const Endpoint&, Transport, Time) override {}
    void on_connection_closed(Runtime&, ConnectionId, CloseReason, Time) override {}
    void on_mailbox(Runtime& runtime, const MailboxItem& item, Time) override {
        Worker& worker = static_cast<Worker&>(runtime);
        if (item.kind == kKindRun) {
            (*reinterpret_cast<std::function<void(Worker&)>*>(item.words[0]))(worker);
        }
    }
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

class PollTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto features = probe_io_uring();
        if (!features.ok()) {
            GTEST_SKIP() << "io_uring unavailable: " << features.status();
        }
        ASSERT_EQ(pipe2(pipe_, O_CLOEXEC | O_NONBLOCK), 0);
    }

    void start(uint32_t fd_poll_count_max = kFdPollCountMax) {
        WorkerConfig config;
        config.ring_entries = 64;
        config.udp_buffer_count = 8;
        config.stream_buffer_count = 8;
        config.connection_count_max = 16;
        config.mailbox_capacity = 16;
        config.fd_poll_count_max = fd_poll_count_max;
        workers_ = std::make_unique<Workers>(WorkersConfig{.worker_count = 1, .listens = {}, .worker = config},
                                             std::vector<Handler*>{&handler_});
        const absl::Status status = workers_->start();
        ASSERT_TRUE(status.ok()) << status;
    }

    // Runs `fn` on the worker's thread and waits for it.
    void run_on_worker(std::function<void(Worker&)> fn) {
        std::promise<void> ran;
        std::function<void(Worker&)> wrapped = [&](Worker& w) {
            fn(w);
            ran.set_value();
        };
        MailboxItem item{.kind = kKindRun};
        item.words[0] = reinterpret_cast<uint64_t>(&wrapped);
        ASSERT_EQ(workers_->post(0, item), PostResult::kPosted);
        ASSERT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
    }

    void TearDown() override {
        if (workers_) {
            workers_->stop();
        }
        for (int fd : pipe_) {
            if (fd >= 0) {
                close(fd);
            }
        }
    }

    RunHandler handler_;
    std::unique_ptr<Workers> workers_;
    int pipe_[2] = {-1, -1};
};

TEST_F(PollTest, ReportsReadableOnceOnTheWorkerThread) {
    start();
    std::atomic<int> calls{0};
    std::atomic<int32_t> seen{0};
    std::atomic<bool> on_worker_thread{false};
    std::thread::id worker_thread;
    run_on_worker([&](Worker& w) {
        worker_thread = std::this_thread::get_id();
        const PollId id = w.poll_fd(pipe_[0], kPollIn, [&](int32_t result, Time) {
            on_worker_thread.store(std::this_thread::get_id() == worker_thread);
            seen.store(result);
            calls.fetch_add(1);
        });
        EXPECT_TRUE(id.valid());
    });
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(calls.load(), 0) << "an empty pipe is not readable";
    ASSERT_EQ(write(pipe_[1], "x", 1), 1);
    ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
    EXPECT_EQ(seen.load() & static_cast<int32_t>(kPollIn), static_cast<int32_t>(kPollIn));
    EXPECT_TRUE(on_worker_thread.load());
    // One-shot: more bytes do not call again.
    ASSERT_EQ(write(pipe_[1], "y", 1), 1);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(calls.load(), 1);
}

// Re-arming while bytes are still unread fires without new bytes arriving, so
// a reader that takes only part of what is buffered is not stranded.
TEST_F(PollTest, RearmOnUnreadBytesFiresAgain) {
    start();
    ASSERT_EQ(write(pipe_[1], "abc", 3), 3);
    std::atomic<int> calls{0};
    std::function<void(Worker&)> arm;
    arm = [&](Worker& w) {
        EXPECT_TRUE(w.poll_fd(pipe_[0], kPollIn, [&, &w = w](int32_t result, Time) {
                         EXPECT_TRUE(result & static_cast<int32_t>(kPollIn));
                         char c;
                         EXPECT_EQ(read(pipe_[0], &c, 1), 1);  // one byte per wake-up
                         if (calls.fetch_add(1) + 1 < 3) {
                             arm(w);
                         }
                     }).valid());
    };
    run_on_worker(arm);
    ASSERT_TRUE(wait_until([&] { return calls.load() == 3; }));
    char c;
    EXPECT_EQ(read(pipe_[0], &c, 1), -1) << "all three bytes were read by the callbacks";
}

TEST_F(PollTest, ReportsHangUpAndWritable) {
    start();
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    std::atomic<int32_t> writable{-1};
    std::atomic<int32_t> hangup{-1};
    run_on_worker([&](Worker& w) {
        EXPECT_TRUE(w.poll_fd(pair[0], kPollOut, [&](int32_t r, Time) { writable.store(r); })
                        .valid());
        EXPECT_TRUE(w.poll_fd(pipe_[0], kPollIn, [&](int32_t r, Time) { hangup.store(r); })
                        .valid());
    });
    ASSERT_TRUE(wait_until([&] { return writable.load() >= 0; }));
    EXPECT_EQ(writable.load() & static_cast<int32_t>(kPollOut), static_cast<int32_t>(kPollOut));
    close(pipe_[1]);
    pipe_[1] = -1;
    ASSERT_TRUE(wait_until([&] { return hangup.load() >= 0; }));
    EXPECT_EQ(hangup.load() & static_cast<int32_t>(kPollHup), static_cast<int32_t>(kPollHup));
    close(pair[0]);
    close(pair[1]);
}

TEST_F(PollTest, CancelledPollNeverCallsBackAndItsIdGoesStale) {
    start();
    std::atomic<int> calls{0};
    PollId id;
    run_on_worker([&](Worker& w) {
        id = w.poll_fd(pipe_[0], kPollIn, [&](int32_t, Time) { calls.fetch_add(1); });
        ASSERT_TRUE(id.valid());
        EXPECT_TRUE(w.cancel_poll(id));
        EXPECT_FALSE(w.cancel_poll(id)) << "a second cancel finds nothing";
    });
    ASSERT_EQ(write(pipe_[1], "x", 1), 1);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(calls.load(), 0);
    // The slot came back: the next poll works and the old id stays stale.
    run_on_worker([&](Worker& w) {
        const PollId again = w.poll_fd(pipe_[0], kPollIn, [&](int32_t, Time) { calls.fetch_add(1); });
        EXPECT_TRUE(again.valid());
        EXPECT_FALSE(w.cancel_poll(id));
    });
    ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
}

TEST_F(PollTest, SlotLimitRefusesAndCounts) {
    start(/*fd_poll_count_max=*/2);
    run_on_worker([&](Worker& w) {
        const PollId a = w.poll_fd(pipe_[0], kPollIn, [](int32_t, Time) {});
        const PollId b = w.poll_fd(pipe_[0], kPollIn, [](int32_t, Time) {});
        const PollId c = w.poll_fd(pipe_[0], kPollIn, [](int32_t, Time) {});
        EXPECT_TRUE(a.valid());
        EXPECT_TRUE(b.valid());
        EXPECT_FALSE(c.valid());
        EXPECT_EQ(w.stats().fd_polls_refused.get(), 1u);
        EXPECT_TRUE(w.cancel_poll(a));
    });
    // The cancelled slot returns once its CQE arrives (a turn later).
    std::atomic<bool> valid{false};
    ASSERT_TRUE(wait_until([&] {
        run_on_worker([&](Worker& w) {
            const PollId d = w.poll_fd(pipe_[0], kPollIn, [](int32_t, Time) {});
            valid.store(d.valid());
        });
        return valid.load();
    }));
}

// A stop with polls still armed returns: the worker cancels them and never
// calls their `ready`.
TEST_F(PollTest, StopWithArmedPollEndsTheLoop) {
    start();
    std::atomic<int> calls{0};
    run_on_worker([&](Worker& w) {
        EXPECT_TRUE(w.poll_fd(pipe_[0], kPollIn, [&](int32_t, Time) { calls.fetch_add(1); })
                        .valid());
    });
    auto stopped = std::async(std::launch::async, [&] { workers_->stop(); });
    ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready) << "the armed poll blocked stop";
    EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace fe::net
