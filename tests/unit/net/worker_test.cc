// Checks the io_uring runtime (net/worker.h, net/workers.h) end to end over
// real loopback sockets: UDP echo (v4, v6), TCP echo of messages split across
// writes and across provided buffers, 3000 connections held as direct
// descriptors (the process's fd count grows by the client side only), the send
// queue limit closing a reader that never reads, the slowloris timer, outbound
// connect (with TCP_NODELAY on its direct descriptor), mailbox posts waking
// another worker through MSG_RING, clean stop, and refusing a taken address.
// Each wait is bounded; skipped without io_uring.
#include "net/worker.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/internal/socket.h"
#include "net/probe.h"
#include "net/workers.h"

namespace fe::net {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kKindForward = 1;  // words[0]: worker to forward to
constexpr uint32_t kKindRecord = 2;   // recorded by the receiving worker
constexpr uint32_t kKindConnect = 3;  // words[0]: IPv4 host order, words[1]: port
constexpr int kNodelayPending = INT_MIN;

// Echoes datagrams; on streams echoes whole lines, one line per call (so the
// worker's consume loop is exercised), with a few commands.
class TestHandler : public Handler {
public:
    void on_datagram(Runtime& runtime, UdpSocketId socket, const Endpoint& from,
                     std::string_view bytes, Time) override {
        Worker& worker = static_cast<Worker&>(runtime);
        EXPECT_EQ(worker.send_datagram(socket, from, bytes), SendResult::kQueued);
    }

    size_t on_stream_data(Runtime& runtime, ConnectionId connection, std::string_view bytes,
                          Time) override {
        Worker& worker = static_cast<Worker&>(runtime);
        const size_t end = bytes.find('\n');
        if (end == std::string_view::npos) {
            return 0;
        }
        const std::string_view line = bytes.substr(0, end + 1);
        if (line == "more\n") {
            static const std::string kBlock(64 * 1024, 'x');
            last_send_result = worker.send_stream(connection, kBlock);
        } else if (line == "close\n") {
            EXPECT_TRUE(worker.close(connection));
        } else {
            const std::string_view parts[] = {line.substr(0, end), "\n"};
            last_send_result = worker.send_stream(connection, parts);
        }
        return end + 1;
    }

    void on_connection_open(Runtime& runtime, ConnectionId connection, const Endpoint& peer,
                            Transport transport, Time) override {
        Worker& worker = static_cast<Worker&>(runtime);
        EXPECT_EQ(transport, Transport::kTcp);
        EXPECT_FALSE(peer.empty());
        opened.fetch_add(1);
        if (connection == outbound_connection) {
            outbound_opened.store(true);
            (void)worker.send_stream(connection, "hello from worker\n");
            if (check_outbound_nodelay.load()) {
                EXPECT_TRUE(worker.install_fd_for_test(
                    connection, [this](int32_t fd) { outbound_nodelay.store(read_nodelay(fd)); }));
            }
        }
    }

    // TCP_NODELAY of `fd`, which it closes; -errno on failure.
    static int read_nodelay(int32_t fd) {
        if (fd < 0) {
            return fd;
        }
        int value = 0;
        socklen_t size = sizeof(value);
        const int result = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &size) == 0
                               ? value
                               : -errno;
        close(fd);
        return result;
    }

    void on_connection_closed(Runtime&, ConnectionId, CloseReason reason, Time) override {
        std::lock_guard lock(mutex);
        reasons.push_back(reason);
        closed.fetch_add(1);
    }

    void on_mailbox(Runtime& runtime, const MailboxItem& item, Time) override {
        Worker& worker = static_cast<Worker&>(runtime);
        if (item.kind == kKindForward) {
            MailboxItem next = item;
            next.kind = kKindRecord;
            next.from_worker_index = worker.index();
            EXPECT_EQ(worker.post(static_cast<uint32_t>(item.words[0]), next),
                      PostResult::kPosted);
        } else if (item.kind == kKindRecord) {
            record_from.store(item.from_worker_index);
            recorded_on.store(worker.index());
            records.fetch_add(1);
        } else if (item.kind == kKindConnect) {
            const Endpoint to = Endpoint::v4(static_cast<uint32_t>(item.words[0]),
                                             static_cast<uint16_t>(item.words[1]));
            ConnectionId id;
            EXPECT_EQ(worker.connect(to, &id), ConnectResult::kStarted);
            outbound_connection = id;
        }
    }

    int close_count(CloseReason reason) {
        std::lock_guard lock(mutex);
        int count = 0;
        for (CloseReason r : reasons) {
            count += r == reason ? 1 : 0;
        }
        return count;
    }

    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    std::atomic<int> records{0};
    std::atomic<uint32_t> record_from{UINT32_MAX};
    std::atomic<uint32_t> recorded_on{UINT32_MAX};
    std::atomic<bool> outbound_opened{false};
    // Set before the connect is posted: read the outbound socket's TCP_NODELAY
    // into outbound_nodelay when it opens.
    std::atomic<bool> check_outbound_nodelay{false};
    std::atomic<int> outbound_nodelay{kNodelayPending};
    ConnectionId outbound_connection{UINT32_MAX, 0};  // worker thread only
    SendResult last_send_result = SendResult::kQueued;
    std::mutex mutex;
    std::vector<CloseReason> reasons;
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

WorkerConfig small_config() {
    WorkerConfig config;
    config.ring_entries = 1024;
    config.udp_buffer_count = 64;
    config.stream_buffer_count = 256;
    config.connection_count_max = 4096;
    config.accept_in_flight_count = 8;
    config.partial_buffer_count_max = 64;
    config.send_chunk_count_max = 512;
    config.udp_send_in_flight_max = 64;
    config.mailbox_capacity = 256;
    return config;
}

int open_fd_count() {
    int count = 0;
    DIR* dir = opendir("/proc/self/fd");
    while (readdir(dir) != nullptr) {
        ++count;
    }
    closedir(dir);
    return count;
}

void set_timeout(int fd, std::chrono::milliseconds limit) {
    timeval tv{.tv_sec = limit.count() / 1000, .tv_usec = (limit.count() % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int tcp_connect(const Endpoint& to) {
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(to, address);
    const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    // The timeouts go on after connect(): with SO_SNDTIMEO set, io_uring task
    // work (the probe's ring) interrupting this thread fails connect() with
    // EINTR instead of restarting it.
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), size), 0) << strerror(errno);
    set_timeout(fd, 5000ms);
    return fd;
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << strerror(errno);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// Reads exactly `size` bytes, or fewer on EOF/timeout.
std::string read_exact(int fd, size_t size) {
    std::string out(size, '\0');
    size_t got = 0;
    while (got < size) {
        const ssize_t n = recv(fd, out.data() + got, size - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
}

// True when the peer closed (EOF or reset) within the socket's timeout.
bool reads_eof(int fd) {
    char buffer[4096];
    for (;;) {
        const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return true;
        }
        if (n < 0 && errno == EINTR) {
            continue;  // io_uring task work (the probe's ring) can interrupt this thread
        }
        if (n < 0) {
            ADD_FAILURE() << "no EOF: " << strerror(errno);
            return false;
        }
    }
}

class WorkerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto features = probe_io_uring();
        if (!features.ok()) {
            GTEST_SKIP() << "io_uring unavailable: " << features.status();
        }
    }

    // Starts `count` workers listening on the specs (port 0 resolved).
    void start(uint32_t count, std::vector<ListenSpec> listens,
               WorkerConfig config = small_config()) {
        handlers_.clear();
        std::vector<Handler*> raw;
        for (uint32_t i = 0; i < count; ++i) {
            handlers_.push_back(std::make_unique<TestHandler>());
            raw.push_back(handlers_.back().get());
        }
        workers_ = std::make_unique<Workers>(
            WorkersConfig{.worker_count = count, .listens = std::move(listens), .worker = config},
            raw);
        const absl::Status status = workers_->start();
        ASSERT_TRUE(status.ok()) << status;
    }

    Endpoint bound(size_t index) { return workers_->listening()[index].endpoint; }
    TestHandler& handler(size_t index) { return *handlers_[index]; }

    void TearDown() override {
        if (workers_) {
            workers_->stop();
        }
    }

    std::vector<std::unique_ptr<TestHandler>> handlers_;
    std::unique_ptr<Workers> workers_;
};

Endpoint loopback_v4() { return *Endpoint::parse("127.0.0.1:0"); }
Endpoint loopback_v6() { return *Endpoint::parse("[::1]:0"); }

void expect_udp_echo(const Endpoint& server) {
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(server, address);
    const int fd = socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    set_timeout(fd, 5000ms);
    for (int i = 0; i < 20; ++i) {
        const std::string message = "OPTIONS sip:x SIP/2.0 #" + std::to_string(i);
        ASSERT_EQ(sendto(fd, message.data(), message.size(), 0,
                         reinterpret_cast<sockaddr*>(&address), size),
                  static_cast<ssize_t>(message.size()));
        char buffer[256];
        sockaddr_storage from;
        socklen_t from_size = sizeof(from);
        const ssize_t n = recvfrom(fd, buffer, sizeof(buffer), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_size);
        ASSERT_EQ(std::string_view(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0))), message);
        // The answer comes from the address the client sent to.
        EXPECT_EQ(internal::from_sockaddr(reinterpret_cast<sockaddr*>(&from), from_size), server);
    }
    close(fd);
}

TEST_F(WorkerTest, UdpEchoV4AndV6) {
    start(2, {{Transport::kUdp, loopback_v4()}, {Transport::kUdp, loopback_v6()}});
    expect_udp_echo(bound(0));
    expect_udp_echo(bound(1));
    const uint64_t received = workers_->worker(0).stats().udp_datagrams_received.get() +
                              workers_->worker(1).stats().udp_datagrams_received.get();
    EXPECT_EQ(received, 40u);
}

TEST_F(WorkerTest, UdpDatagramLargerThanTheLimitIsDroppedAndCounted) {
    start(1, {{Transport::kUdp, loopback_v4()}});
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(bound(0), address);
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    set_timeout(fd, 200ms);
    const std::string big(kUdpDatagramSizeMax + 1000, 'b');
    ASSERT_EQ(sendto(fd, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&address), size),
              static_cast<ssize_t>(big.size()));
    EXPECT_TRUE(wait_until(
        [&] { return workers_->worker(0).stats().udp_datagrams_truncated.get() == 1; }));
    char buffer[16];
    EXPECT_LT(recv(fd, buffer, sizeof(buffer), 0), 0);  // nothing echoed
    close(fd);
    expect_udp_echo(bound(0));  // the socket still works
}

TEST_F(WorkerTest, TcpEchoOfMessagesSplitAcrossWrites) {
    start(1, {{Transport::kTcp, loopback_v4()}});
    const int fd = tcp_connect(bound(0));
    send_all(fd, "hel");
    std::this_thread::sleep_for(20ms);
    send_all(fd, "lo\nwor");
    std::this_thread::sleep_for(20ms);
    send_all(fd, "ld\nthree\nin\none\n");
    EXPECT_EQ(read_exact(fd, 25), "hello\nworld\nthree\nin\none\n");
    // A line several provided buffers long, split into odd pieces.
    std::string long_line(3 * kStreamBufferSize + 123, 'L');
    long_line += '\n';
    for (size_t at = 0; at < long_line.size(); at += 1000) {
        send_all(fd, std::string_view(long_line).substr(at, 1000));
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(read_exact(fd, long_line.size()), long_line);
    close(fd);
    EXPECT_TRUE(wait_until([&] { return handler(0).close_count(CloseReason::kPeerClosed) == 1; }));
    // Only the slots reserved by accepts in flight remain.
    EXPECT_TRUE(wait_until([&] {
        return workers_->worker(0).connection_count() == small_config().accept_in_flight_count;
    }));
}

TEST_F(WorkerTest, TcpEchoOverIpv6) {
    start(1, {{Transport::kTcp, loopback_v6()}});
    const int fd = tcp_connect(bound(0));
    send_all(fd, "v6\n");
    EXPECT_EQ(read_exact(fd, 3), "v6\n");
    close(fd);
}

// 3000 connections on one worker: the server side is io_uring direct
// descriptors, so the process's fd table grows by the 3000 client sockets only.
TEST_F(WorkerTest, ManyConnectionsUseDirectDescriptors) {
    constexpr int kConnectionCount = 3000;
    start(1, {{Transport::kTcp, loopback_v4()}});
    const int fds_before = open_fd_count();
    std::vector<int> clients;
    for (int i = 0; i < kConnectionCount; ++i) {
        clients.push_back(tcp_connect(bound(0)));
    }
    ASSERT_TRUE(wait_until([&] { return handler(0).opened.load() == kConnectionCount; }));
    EXPECT_EQ(workers_->worker(0).connection_count(),
              static_cast<uint32_t>(kConnectionCount) + small_config().accept_in_flight_count);
    EXPECT_LE(open_fd_count() - fds_before, kConnectionCount + 2);
    for (int i = 0; i < kConnectionCount; ++i) {
        const std::string message = "ping " + std::to_string(i) + "\n";
        send_all(clients[static_cast<size_t>(i)], message);
    }
    for (int i = 0; i < kConnectionCount; ++i) {
        const std::string message = "ping " + std::to_string(i) + "\n";
        ASSERT_EQ(read_exact(clients[static_cast<size_t>(i)], message.size()), message);
    }
    for (int fd : clients) {
        close(fd);
    }
    EXPECT_TRUE(wait_until([&] { return handler(0).closed.load() == kConnectionCount; }));
    EXPECT_TRUE(wait_until([&] {
        return workers_->worker(0).connection_count() == small_config().accept_in_flight_count;
    }));
}

TEST_F(WorkerTest, SendQueueLimitClosesAReaderThatNeverReads) {
    WorkerConfig config = small_config();
    config.send_queue_size_max = 256 * 1024;
    start(1, {{Transport::kTcp, loopback_v4()}}, config);
    const int fd = tcp_connect(bound(0));
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    // Each "more" makes the server queue 64 KiB; the client never reads.
    for (int i = 0; i < 4000 && handler(0).closed.load() == 0; ++i) {
        if (send(fd, "more\n", 5, MSG_NOSIGNAL) != 5) {
            break;
        }
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(wait_until([&] { return handler(0).closed.load() == 1; }));
    EXPECT_EQ(handler(0).close_count(CloseReason::kSendQueueOverflow), 1);
    EXPECT_EQ(workers_->worker(0).stats().send_queue_overflows.get(), 1u);
    close(fd);
    EXPECT_TRUE(wait_until([&] {
        return workers_->worker(0).connection_count() == config.accept_in_flight_count;
    }));
}

TEST_F(WorkerTest, SlowlorisPartialMessageIsClosedWhenItsTimerExpires) {
    WorkerConfig config = small_config();
    config.partial_message_time_max = 200ms;
    start(1, {{Transport::kTcp, loopback_v4()}}, config);
    const int fd = tcp_connect(bound(0));
    send_all(fd, "complete\nINVITE sip:bob@example.com SIP/2.0\r\nVia: ");
    EXPECT_EQ(read_exact(fd, 9), "complete\n");
    const auto start_time = std::chrono::steady_clock::now();
    EXPECT_TRUE(reads_eof(fd));
    EXPECT_GE(std::chrono::steady_clock::now() - start_time, 150ms);
    EXPECT_EQ(handler(0).close_count(CloseReason::kPartialTimeout), 1)
        << close_reason_name(handler(0).reasons.empty() ? CloseReason::kLocal
                                                         : handler(0).reasons[0]);
    EXPECT_EQ(workers_->worker(0).stats().partial_timeouts.get(), 1u);
    close(fd);
}

TEST_F(WorkerTest, PartialMessageLargerThanTheLimitCloses) {
    WorkerConfig config = small_config();
    config.partial_message_size_max = 16 * 1024;
    start(1, {{Transport::kTcp, loopback_v4()}}, config);
    const int fd = tcp_connect(bound(0));
    const std::string no_newline(20 * 1024, 'z');
    send(fd, no_newline.data(), no_newline.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(reads_eof(fd));
    EXPECT_EQ(handler(0).close_count(CloseReason::kPartialTooLarge), 1);
    close(fd);
}

TEST_F(WorkerTest, HandlerCloseFlushesQueuedBytesFirst) {
    start(1, {{Transport::kTcp, loopback_v4()}});
    const int fd = tcp_connect(bound(0));
    send_all(fd, "bye\nclose\n");
    EXPECT_EQ(read_exact(fd, 4), "bye\n");
    EXPECT_TRUE(reads_eof(fd));
    EXPECT_EQ(handler(0).close_count(CloseReason::kLocal), 1);
    close(fd);
}

TEST_F(WorkerTest, OutboundConnectSendsAndReceives) {
    start(1, {});
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(listener, 4), 0);
    socklen_t size = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
    MailboxItem item;
    item.kind = kKindConnect;
    item.words[0] = INADDR_LOOPBACK;
    item.words[1] = ntohs(address.sin_port);
    ASSERT_EQ(workers_->post(0, item), PostResult::kPosted);
    set_timeout(listener, 5000ms);
    int fd = -1;
    do {
        fd = accept(listener, nullptr, nullptr);
    } while (fd < 0 && errno == EINTR);
    ASSERT_GE(fd, 0);
    set_timeout(fd, 5000ms);
    EXPECT_EQ(read_exact(fd, 18), "hello from worker\n");
    send_all(fd, "echo me\n");
    EXPECT_EQ(read_exact(fd, 8), "echo me\n");
    EXPECT_EQ(workers_->worker(0).stats().connections_connected.get(), 1u);
    close(fd);
    close(listener);
}

// An outbound socket exists only as a direct descriptor, so it cannot inherit
// TCP_NODELAY from a listener as accepted ones do: connect() sets it with
// SOCKET_URING_OP_SETSOCKOPT. Without it a 200 written right behind its 180
// waits 40 ms for the peer's delayed ACK (Nagle). Read back through a regular
// fd installed from the direct descriptor.
TEST_F(WorkerTest, OutboundConnectSetsTcpNodelay) {
    start(1, {});
    handler(0).check_outbound_nodelay.store(true);
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(listener, 4), 0);
    socklen_t size = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
    MailboxItem item;
    item.kind = kKindConnect;
    item.words[0] = INADDR_LOOPBACK;
    item.words[1] = ntohs(address.sin_port);
    ASSERT_EQ(workers_->post(0, item), PostResult::kPosted);
    ASSERT_TRUE(
        wait_until([&] { return handler(0).outbound_nodelay.load() != kNodelayPending; }));
    const int nodelay = handler(0).outbound_nodelay.load();
    close(listener);
    if (nodelay == -EINVAL) {
        GTEST_SKIP() << "no IORING_OP_FIXED_FD_INSTALL to read the option back (Linux 6.8+)";
    }
    EXPECT_EQ(nodelay, 1);
    EXPECT_EQ(workers_->worker(0).stats().connect_nodelay_failures.get(), 0u);
}

TEST_F(WorkerTest, OutboundConnectRefusedReportsConnectFailed) {
    start(1, {});
    // A port nobody listens on: bind then close to learn a free one.
    const int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size);
    close(probe);
    MailboxItem item;
    item.kind = kKindConnect;
    item.words[0] = INADDR_LOOPBACK;
    item.words[1] = ntohs(address.sin_port);
    ASSERT_EQ(workers_->post(0, item), PostResult::kPosted);
    EXPECT_TRUE(
        wait_until([&] { return handler(0).close_count(CloseReason::kConnectFailed) == 1; }));
    EXPECT_FALSE(handler(0).outbound_opened.load());
    EXPECT_TRUE(wait_until([&] { return workers_->worker(0).connection_count() == 0; }));
}

// The main thread posts to worker 0 (eventfd doorbell), whose handler posts to
// worker 1 (MSG_RING doorbell); worker 1 runs on_mailbox well before its loop's
// own wake-up (kLoopWaitMax).
TEST_F(WorkerTest, MailboxPostBetweenWorkersWakesTheReceiver) {
    start(2, {});
    std::this_thread::sleep_for(50ms);  // both loops are asleep in io_uring_enter
    MailboxItem item;
    item.kind = kKindForward;
    item.words[0] = 1;
    const auto start_time = std::chrono::steady_clock::now();
    ASSERT_EQ(workers_->post(0, item), PostResult::kPosted);
    ASSERT_TRUE(wait_until([&] { return handler(1).records.load() == 1; }));
    EXPECT_LT(std::chrono::steady_clock::now() - start_time, kLoopWaitMax / 2);
    EXPECT_EQ(handler(1).record_from.load(), 0u);
    EXPECT_EQ(handler(1).recorded_on.load(), 1u);
    EXPECT_GE(workers_->worker(1).stats().mailbox_doorbells.get(), 1u);
    EXPECT_EQ(handler(0).records.load(), 0);
}

TEST_F(WorkerTest, StopClosesConnectionsAndJoins) {
    start(2, {{Transport::kTcp, loopback_v4()}, {Transport::kUdp, loopback_v4()}});
    const int fd = tcp_connect(bound(0));
    send_all(fd, "x\n");
    EXPECT_EQ(read_exact(fd, 2), "x\n");
    const auto start_time = std::chrono::steady_clock::now();
    workers_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start_time, 2s);
    EXPECT_TRUE(reads_eof(fd));
    EXPECT_EQ(handler(0).close_count(CloseReason::kShutdown) +
                  handler(1).close_count(CloseReason::kShutdown),
              1);
    close(fd);
    // The port is free again: nothing listens any more.
    const int again = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(bound(0), address);
    EXPECT_NE(connect(again, reinterpret_cast<sockaddr*>(&address), size), 0);
    close(again);
}

TEST_F(WorkerTest, RefusesToStartWhenTheAddressIsTaken) {
    auto taken = internal::open_listen_socket(Transport::kTcp, loopback_v4());
    ASSERT_TRUE(taken.ok());
    // A socket without SO_REUSEPORT on the same port.
    const int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const Endpoint port_owner = taken->local;
    close(taken->fd);
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(port_owner, address);
    ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), size), 0);
    ASSERT_EQ(listen(holder, 1), 0);
    TestHandler handler_0;
    Workers workers({.worker_count = 1, .listens = {{Transport::kTcp, port_owner}},
                     .worker = small_config()},
                    {&handler_0});
    const absl::Status status = workers.start();
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_NE(std::string(status.message()).find("address already in use"), std::string::npos)
        << status;
    close(holder);
}

}  // namespace
}  // namespace fe::net
