// Checks the worker's WebSocket stream path (net/worker_ws.cc) over real
// loopback sockets, with a client written from core/ws (write_upgrade_request,
// masked frames, a client-role FrameDecoder) on a blocking socket: the
// handler sees the connection open as kWs only after the 101, gets each
// message whole (one SIP message per WebSocket message, RFC 7118 §5.1), also
// when fragmented around a PING or split across TCP segments, and its sends
// come back as unmasked text frames; PING is answered with PONG, CLOSE is
// echoed and the connection closed; unmasked, bad-UTF-8 and oversize frames
// close with 1002, 1007 and 1009 and are counted; a handshake without the
// `sip` subprotocol is refused with 400, and one that never completes is
// closed at ws_handshake_time_max, in both cases without the handler hearing
// of it. Skipped without io_uring.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/ws/frame.h"
#include "core/ws/handshake.h"
#include "net/internal/socket.h"
#include "net/probe.h"
#include "net/worker.h"
#include "net/workers.h"

namespace fe::net {
namespace {

using namespace std::chrono_literals;

// Echoes every message back as one message; records what it saw.
class EchoHandler : public Handler {
  public:
    void on_datagram(Runtime&, UdpSocketId, const Endpoint&, std::string_view, Time) override {}
    size_t on_stream_data(Runtime&, ConnectionId, std::string_view bytes, Time) override {
        ADD_FAILURE() << "a WebSocket message went to on_stream_data";
        return bytes.size();
    }
    void on_stream_message(Runtime& runtime, ConnectionId connection, std::string_view message,
                           Time) override {
        {
            std::lock_guard lock(mutex);
            messages.emplace_back(message);
        }
        EXPECT_EQ(runtime.send_stream(connection, message), SendResult::kQueued);
    }
    void on_mailbox(Runtime&, const MailboxItem&, Time) override {}
    void on_connection_open(Runtime&, ConnectionId, const Endpoint&, Transport transport,
                            Time) override {
        EXPECT_EQ(transport, Transport::kWs);
        ws_opened.fetch_add(1);
    }
    void on_connection_closed(Runtime&, ConnectionId, CloseReason reason, Time) override {
        last_close_reason.store(static_cast<int>(reason));
        closed.fetch_add(1);
    }

    std::atomic<int> ws_opened{0};
    std::atomic<int> closed{0};
    std::atomic<int> last_close_reason{-1};
    std::mutex mutex;
    std::vector<std::string> messages;  // under mutex
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

int tcp_connect(const Endpoint& to) {
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(to, address);
    const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    timeval tv{.tv_sec = 5, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), size), 0) << strerror(errno);
    return fd;
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << strerror(errno);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// A client frame: masked (RFC 6455 §5.3) unless `masked` is false.
std::string client_frame(ws::Opcode opcode, std::string_view payload,
                         ws::FrameEnd end = ws::FrameEnd::kFinal, bool masked = true) {
    const ws::MaskKey key{0x37, 0xfa, 0x21, 0x3d};
    std::array<uint8_t, ws::kFrameHeaderSizeMax> header;
    const size_t header_size = ws::write_frame_header(
        {.opcode = opcode,
         .payload_size = payload.size(),
         .end = end,
         .mask = masked ? std::optional<ws::MaskKey>(key) : std::nullopt},
        header);
    std::string frame(reinterpret_cast<const char*>(header.data()), header_size);
    std::string body(payload);
    if (masked) {
        ws::mask_payload(std::span<uint8_t>(reinterpret_cast<uint8_t*>(body.data()), body.size()),
                         key);
    }
    return frame + body;
}

std::string upgrade_request(std::string_view protocol = "sip", std::string_view origin = {}) {
    std::string request =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!origin.empty()) {
        request += "Origin: " + std::string(origin) + "\r\n";
    }
    if (!protocol.empty()) {
        request += "Sec-WebSocket-Protocol: " + std::string(protocol) + "\r\n";
    }
    return request + "\r\n";
}

// The client side of one connection: reads the 101, then server frames.
struct Client {
    int fd = -1;
    std::string received;  // not yet decoded
    ws::FrameDecoder decoder{ws::Role::kClient};
    std::array<uint8_t, 70000> assembly{};

    ~Client() {
        if (fd >= 0) {
            close(fd);
        }
    }

    bool read_more() {
        std::array<char, 4096> in;
        for (;;) {
            const ssize_t n = recv(fd, in.data(), in.size(), 0);
            if (n < 0 && errno == EINTR) {
                continue;  // a signal, not the peer
            }
            if (n <= 0) {
                return false;
            }
            received.append(in.data(), static_cast<size_t>(n));
            return true;
        }
    }

    // Reads until the response to the upgrade is whole; returns its status.
    uint16_t handshake() {
        ws::HandshakeScan scan;
        for (;;) {
            const ws::UpgradeResult r =
                ws::read_upgrade_response(received, scan, "dGhlIHNhbXBsZSBub25jZQ==");
            if (r.verdict == ws::HandshakeVerdict::kAccept) {
                received.erase(0, r.response_size);
                return r.status;
            }
            if (r.verdict == ws::HandshakeVerdict::kRefuse) {
                return r.status;
            }
            if (!read_more()) {
                return 0;
            }
        }
    }

    // The next server event (the close code in `close_code` for kClose);
    // nullopt when the connection ended first.
    struct Event {
        ws::EventKind kind;
        std::string payload;
        uint16_t close_code = 0;
    };
    std::optional<Event> next() {
        for (;;) {
            std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(received.data()),
                                     received.size());
            const ws::DecodeResult r = decoder.decode(bytes, assembly);
            Event e{r.kind, std::string(ws::as_chars(r.payload)), r.close_code};
            received.erase(0, r.consumed);
            if (r.kind != ws::EventKind::kNeedMore) {
                return e;
            }
            if (!read_more()) {
                return std::nullopt;
            }
        }
    }

    // True when the server closed the TCP side (recv returns 0).
    bool ends() {
        std::array<char, 256> in;
        for (;;) {
            const ssize_t n = recv(fd, in.data(), in.size(), 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return n == 0;
        }
    }
};

class WorkerWsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto features = probe_io_uring(); !features.ok()) {
            GTEST_SKIP() << "io_uring unavailable: " << features.status();
        }
    }

    void start(WorkerConfig config = {}) {
        config.connection_count_max = 256;
        config.stream_buffer_count = 64;
        config.accept_in_flight_count = 4;
        workers_ = std::make_unique<Workers>(
            WorkersConfig{.worker_count = 1,
                          .listens = {{Transport::kWs, *Endpoint::parse("127.0.0.1:0"), nullptr}},
                          .worker = config},
            std::vector<Handler*>{&handler_});
        const absl::Status status = workers_->start();
        ASSERT_TRUE(status.ok()) << status;
    }

    std::unique_ptr<Client> connect_client() {
        auto c = std::make_unique<Client>();
        c->fd = tcp_connect(workers_->listening()[0].endpoint);
        return c;
    }

    // A client past its 101.
    std::unique_ptr<Client> open_client() {
        auto c = connect_client();
        send_all(c->fd, upgrade_request());
        EXPECT_EQ(c->handshake(), 101);
        return c;
    }

    const WorkerStats& stats() { return workers_->worker(0).stats(); }

    void TearDown() override {
        if (workers_) {
            workers_->stop();
        }
    }

    EchoHandler handler_;
    std::unique_ptr<Workers> workers_;
};

TEST_F(WorkerWsTest, HandshakeThenMessagesBothWays) {
    start();
    auto c = open_client();
    ASSERT_TRUE(wait_until([&] { return handler_.ws_opened.load() == 1; }));
    const std::string message = "OPTIONS sip:x@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    send_all(c->fd, client_frame(ws::Opcode::kText, message));
    const auto e = c->next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->kind, ws::EventKind::kMessage);
    EXPECT_EQ(e->payload, message);
    EXPECT_EQ(stats().ws_handshakes_completed.get(), 1u);
    EXPECT_EQ(stats().ws_messages_received.get(), 1u);
}

TEST_F(WorkerWsTest, UpgradeAndFirstFrameInOneSegment) {
    start();
    auto c = connect_client();
    send_all(c->fd, upgrade_request() + client_frame(ws::Opcode::kText, "one"));
    ASSERT_EQ(c->handshake(), 101);
    const auto e = c->next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->payload, "one");
}

TEST_F(WorkerWsTest, FrameSplitAcrossSegmentsIsDeliveredWhole) {
    start();
    auto c = open_client();
    const std::string frame = client_frame(ws::Opcode::kBinary, std::string(3000, 'x'));
    send_all(c->fd, frame.substr(0, 1));
    std::this_thread::sleep_for(20ms);
    send_all(c->fd, frame.substr(1, 1500));
    std::this_thread::sleep_for(20ms);
    send_all(c->fd, frame.substr(1501));
    const auto e = c->next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->payload, std::string(3000, 'x'));
    std::lock_guard lock(handler_.mutex);
    EXPECT_EQ(handler_.messages.size(), 1u);
}

TEST_F(WorkerWsTest, FragmentedMessageWithAPingBetweenFragments) {
    start();
    auto c = open_client();
    send_all(c->fd, client_frame(ws::Opcode::kText, "MESSAGE ", ws::FrameEnd::kMoreFragments) +
                        client_frame(ws::Opcode::kPing, "p1") +
                        client_frame(ws::Opcode::kContinuation, "sip:a@b SIP/2.0\r\n\r\n"));
    const auto pong = c->next();
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->kind, ws::EventKind::kPong);
    EXPECT_EQ(pong->payload, "p1");
    const auto e = c->next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->kind, ws::EventKind::kMessage);
    EXPECT_EQ(e->payload, "MESSAGE sip:a@b SIP/2.0\r\n\r\n");
    EXPECT_EQ(stats().ws_pings_answered.get(), 1u);
}

TEST_F(WorkerWsTest, CloseIsEchoedAndTheConnectionClosed) {
    start();
    auto c = open_client();
    ASSERT_TRUE(wait_until([&] { return handler_.ws_opened.load() == 1; }));
    const std::string payload("\x03\xe8", 2);  // 1000
    send_all(c->fd, client_frame(ws::Opcode::kClose, payload));
    const auto e = c->next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->kind, ws::EventKind::kClose);
    EXPECT_EQ(e->close_code, 1000);
    EXPECT_TRUE(c->ends());
    ASSERT_TRUE(wait_until([&] { return handler_.closed.load() == 1; }));
    EXPECT_EQ(handler_.last_close_reason.load(), static_cast<int>(CloseReason::kWsClosed));
    EXPECT_EQ(stats().ws_closes_received.get(), 1u);
}

struct BadFrame {
    const char* name;
    std::string frame;
    uint16_t code;
};

TEST_F(WorkerWsTest, ProtocolErrorsCloseWithTheirCodeAndAreCounted) {
    start();
    std::string oversize_header = client_frame(ws::Opcode::kBinary, "");
    oversize_header[1] = static_cast<char>(0x80 | 127);  // masked, 64-bit length
    const char length[8] = {0, 0, 0, 0, 0, 0x10, 0, 0};  // 1 MiB
    oversize_header.insert(2, length, 8);
    const BadFrame cases[] = {
        {"unmasked", client_frame(ws::Opcode::kText, "hi", ws::FrameEnd::kFinal, false), 1002},
        {"bad utf-8", client_frame(ws::Opcode::kText, "\xc3\x28"), 1007},
        {"oversize", oversize_header, 1009},
    };
    uint64_t count = 0;
    for (const BadFrame& bad : cases) {
        SCOPED_TRACE(bad.name);
        auto c = open_client();
        send_all(c->fd, bad.frame);
        const auto e = c->next();
        ASSERT_TRUE(e.has_value());
        EXPECT_EQ(e->kind, ws::EventKind::kClose);
        EXPECT_EQ(e->close_code, bad.code);
        EXPECT_TRUE(c->ends());
        ++count;
        EXPECT_TRUE(wait_until([&] { return stats().ws_protocol_errors.get() == count; }));
    }
    EXPECT_TRUE(wait_until([&] { return handler_.closed.load() == 3; }));
    EXPECT_EQ(handler_.last_close_reason.load(), static_cast<int>(CloseReason::kWsProtocolError));
}

TEST_F(WorkerWsTest, HandshakeWithoutSipIsRefusedUnopened) {
    start();
    auto c = connect_client();
    send_all(c->fd, upgrade_request("chat"));
    EXPECT_EQ(c->handshake(), 400);
    EXPECT_TRUE(c->ends());
    EXPECT_TRUE(wait_until([&] { return stats().ws_handshakes_refused.get() == 1; }));
    EXPECT_EQ(handler_.ws_opened.load(), 0);
    EXPECT_EQ(handler_.closed.load(), 0);
}

TEST_F(WorkerWsTest, OriginsOutsideTheAllowedListAreRefusedWith403) {
    WorkerConfig config;
    config.ws_origins_allowed = {"https://app.example.com"};
    start(config);
    auto evil = connect_client();
    send_all(evil->fd, upgrade_request("sip", "https://evil.example.net"));
    EXPECT_EQ(evil->handshake(), 403);
    EXPECT_TRUE(evil->ends());
    auto good = connect_client();
    send_all(good->fd, upgrade_request("sip", "HTTPS://APP.example.com"));
    EXPECT_EQ(good->handshake(), 101);
    auto native = connect_client();  // no Origin: not a browser, passes
    send_all(native->fd, upgrade_request("sip"));
    EXPECT_EQ(native->handshake(), 101);
    EXPECT_TRUE(wait_until([&] { return handler_.ws_opened.load() == 2; }));
    EXPECT_EQ(stats().ws_handshakes_refused.get(), 1u);
}

// Issue 11: an idle WebSocket is sent a PING each ws_ping_interval; while the
// peer answers it stays open, and one that stops answering is closed with
// 1001 and counted (its flow ends, so requests for it get 430).
TEST_F(WorkerWsTest, IdleWebSocketIsPingedAndClosedWhenItStopsAnswering) {
    WorkerConfig config;
    config.ws_ping_interval = 100ms;
    start(config);
    auto c = open_client();
    for (int i = 0; i < 2; ++i) {
        const auto ping = c->next();
        ASSERT_TRUE(ping.has_value());
        EXPECT_EQ(ping->kind, ws::EventKind::kPing);
        send_all(c->fd, client_frame(ws::Opcode::kPong, ping->payload));
    }
    EXPECT_GE(stats().ws_pings_sent.get(), 2u);
    EXPECT_EQ(stats().ws_ping_timeouts.get(), 0u);
    // Now silent: one more PING, then the close.
    const auto ping = c->next();
    ASSERT_TRUE(ping.has_value());
    EXPECT_EQ(ping->kind, ws::EventKind::kPing);
    const auto close = c->next();
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->kind, ws::EventKind::kClose);
    EXPECT_EQ(close->close_code, 1001);
    EXPECT_TRUE(c->ends());
    EXPECT_TRUE(wait_until([&] { return handler_.closed.load() == 1; }));
    EXPECT_EQ(handler_.last_close_reason.load(), static_cast<int>(CloseReason::kWsPingTimeout));
    EXPECT_EQ(stats().ws_ping_timeouts.get(), 1u);
}

TEST_F(WorkerWsTest, StalledHandshakeIsClosedAtItsTimeLimit) {
    WorkerConfig config;
    config.ws_handshake_time_max = 200ms;
    start(config);
    auto c = connect_client();
    send_all(c->fd, upgrade_request().substr(0, 40));
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(c->ends());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_TRUE(wait_until([&] { return stats().ws_handshake_timeouts.get() == 1; }));
    EXPECT_EQ(handler_.ws_opened.load(), 0);
    EXPECT_EQ(handler_.closed.load(), 0);
}

}  // namespace
}  // namespace fe::net
