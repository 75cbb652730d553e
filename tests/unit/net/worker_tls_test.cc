// Checks the worker's TLS stream path (net/worker_tls.cc) over real loopback
// sockets: a client TlsSession (net/tls) on a blocking socket handshakes with
// a TLS listener, the handler sees the connection open as kTls only then and
// gets plaintext, and its sends come back encrypted; a client that never
// finishes its handshake is closed at tls_handshake_time_max without the
// handler hearing of it; garbage instead of a ClientHello fails the handshake
// and is counted; and past tls_handshakes_in_flight_max a new connection
// waits its turn instead of being served at once. Skipped without io_uring.
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
#include <string>
#include <thread>
#include <vector>

#include "net/internal/socket.h"
#include "net/probe.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"
#include "net/worker.h"
#include "net/workers.h"

namespace fe::net {
namespace {

using namespace std::chrono_literals;

std::string data_path(std::string_view name) {
    return std::string(FE_TLS_TEST_DATA_DIR) + "/" + std::string(name);
}

// A server presents example-com-ec; a client presents `client_cert` (a
// file stem of tests/data/tls) when given one.
std::unique_ptr<tls::TlsContext> make_context(tls::TlsRole role,
                                              std::string_view client_cert = {}) {
    tls::TlsContextConfig config;
    config.role = role;
    if (role == tls::TlsRole::kServer) {
        config.identities.push_back({.certificate_chain_file = data_path("example-com-ec.pem"),
                                     .private_key_file = data_path("example-com-ec.key")});
    } else if (!client_cert.empty()) {
        config.identities.push_back(
            {.certificate_chain_file = data_path(std::string(client_cert) + ".pem"),
             .private_key_file = data_path(std::string(client_cert) + ".key")});
    }
    config.ca_file = data_path("ca.pem");
    auto context = tls::TlsContext::create(config);
    EXPECT_TRUE(context.ok()) << context.status();
    return context.ok() ? std::move(*context) : nullptr;
}

// Echoes whole lines of plaintext; records the transport it was opened with.
// A mailbox item makes it dial (connect_tls) `dial_to` as `dial_host` and
// queue "hello\n" at once; what comes back on that connection is kept.
class EchoHandler : public Handler {
  public:
    void on_datagram(Runtime&, UdpSocketId, const Endpoint&, std::string_view, Time) override {}
    size_t on_stream_data(Runtime& runtime, ConnectionId connection, std::string_view bytes,
                          Time) override {
        const size_t end = bytes.find('\n');
        if (end == std::string_view::npos) {
            return 0;
        }
        if (connection == dialled) {
            if (bytes.substr(0, end + 1) == "hello\n") {
                dial_echoed.store(true);
            }
            return end + 1;
        }
        EXPECT_EQ(runtime.send_stream(connection, bytes.substr(0, end + 1)), SendResult::kQueued);
        return end + 1;
    }
    void on_mailbox(Runtime& runtime, const MailboxItem&, Time) override {
        EXPECT_EQ(runtime.connect_tls(dial_to, *dial_context, dial_host, &dialled),
                  ConnectResult::kStarted);
        // Queued before the handshake: kept in plaintext, encrypted after it.
        EXPECT_EQ(runtime.send_stream(dialled, "hello\n"), SendResult::kQueued);
    }
    void on_connection_open(Runtime& runtime, ConnectionId connection, const Endpoint&,
                            Transport transport, Time) override {
        if (transport == Transport::kTls) {
            const tls::TlsSession* session = runtime.tls_session(connection);
            EXPECT_NE(session, nullptr);
            if (session != nullptr && connection != dialled) {
                std::lock_guard lock(mutex);
                peer_authentication = session->peer_authentication();
                peer_identities.clear();
                for (const fe::tls::SipIdentity& id : session->peer_identities().identities) {
                    peer_identities.push_back(id.name);
                }
            }
            tls_opened.fetch_add(1);
        }
    }
    void on_connection_closed(Runtime&, ConnectionId connection, CloseReason reason,
                              Time) override {
        if (connection == dialled) {
            dial_closed_reason.store(static_cast<int>(reason));
        }
        closed.fetch_add(1);
    }

    std::atomic<int> tls_opened{0};
    std::atomic<int> closed{0};
    // What the last accepted connection's peer proved (under mutex).
    std::mutex mutex;
    tls::PeerAuthentication peer_authentication = tls::PeerAuthentication::kNone;
    std::vector<std::string> peer_identities;
    // Set before the mailbox item is posted; read on the worker thread.
    Endpoint dial_to;
    const tls::TlsContext* dial_context = nullptr;
    std::string dial_host;
    ConnectionId dialled{UINT32_MAX, 0};
    std::atomic<bool> dial_echoed{false};
    std::atomic<int> dial_closed_reason{-1};
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

int tcp_connect(const Endpoint& to, std::chrono::milliseconds timeout = 5000ms) {
    sockaddr_storage address;
    const socklen_t size = internal::to_sockaddr(to, address);
    const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    // The timeout goes on after connect(), which then restarts when io_uring
    // task work interrupts this thread (with a timeout set it fails EINTR).
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), size), 0) << strerror(errno);
    timeval tv{.tv_sec = timeout.count() / 1000, .tv_usec = (timeout.count() % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << strerror(errno);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

// A TLS client over a blocking socket: pumps until `done` or the socket
// fails; returns the plaintext received.
struct Client {
    int fd = -1;
    std::unique_ptr<tls::TlsSession> session;
    std::string plaintext;

    bool pump_until(const std::function<bool()>& done) {
        std::array<char, 4096> in;
        std::array<char, tls::kTlsRecordPlaintextSizeMax> out;
        while (!done()) {
            const std::string_view output = session->take_output();
            if (!output.empty()) {
                send_all(fd, output);
            }
            if (done()) {
                return true;
            }
            const ssize_t n = recv(fd, in.data(), in.size(), 0);
            if (n < 0 && errno == EINTR) {
                continue;  // a signal, not the peer
            }
            if (n <= 0) {
                return false;
            }
            std::string_view bytes(in.data(), static_cast<size_t>(n));
            while (!bytes.empty()) {
                const tls::FeedResult r = session->feed(bytes, out);
                plaintext.append(out.data(), r.plaintext_size);
                bytes.remove_prefix(r.consumed);
                if (r.state == tls::TlsState::kFailed || r.consumed == 0) {
                    return false;
                }
            }
        }
        const std::string_view output = session->take_output();
        if (!output.empty()) {
            send_all(fd, output);
        }
        return true;
    }
};

class WorkerTlsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (auto features = probe_io_uring(); !features.ok()) {
            GTEST_SKIP() << "io_uring unavailable: " << features.status();
        }
        server_ = make_context(tls::TlsRole::kServer);
        client_ = make_context(tls::TlsRole::kClient);
        ASSERT_NE(server_, nullptr);
        ASSERT_NE(client_, nullptr);
    }

    void start(WorkerConfig config = {}) {
        config.connection_count_max = 256;
        config.stream_buffer_count = 64;
        config.accept_in_flight_count = 4;
        workers_ = std::make_unique<Workers>(
            WorkersConfig{.worker_count = 1,
                          .listens = {{Transport::kTls, *Endpoint::parse("127.0.0.1:0"),
                                       server_.get()}},
                          .worker = config},
            std::vector<Handler*>{&handler_});
        const absl::Status status = workers_->start();
        ASSERT_TRUE(status.ok()) << status;
    }

    Client connect_client() {
        Client c;
        c.fd = tcp_connect(workers_->listening()[0].endpoint);
        auto session = tls::TlsSession::connect(*client_, {.peer_host = "p1.example.com"});
        EXPECT_TRUE(session.ok()) << session.status();
        c.session = std::move(*session);
        return c;
    }

    const WorkerStats& stats() { return workers_->worker(0).stats(); }

    void TearDown() override {
        if (workers_) {
            workers_->stop();
        }
    }

    std::unique_ptr<tls::TlsContext> server_;
    std::unique_ptr<tls::TlsContext> client_;
    EchoHandler handler_;
    std::unique_ptr<Workers> workers_;
};

TEST_F(WorkerTlsTest, HandshakeThenPlaintextBothWays) {
    start();
    Client c = connect_client();
    ASSERT_TRUE(c.pump_until([&] { return c.session->state() == tls::TlsState::kOpen; }));
    EXPECT_TRUE(wait_until([&] { return handler_.tls_opened.load() == 1; }));
    // Two lines in one record, one split over two records.
    ASSERT_EQ(c.session->write("first\nsec"), tls::WriteResult::kQueued);
    ASSERT_TRUE(c.pump_until([] { return true; }));
    ASSERT_EQ(c.session->write("ond\n"), tls::WriteResult::kQueued);
    ASSERT_TRUE(c.pump_until([&] { return c.plaintext.size() >= 13; }));
    EXPECT_EQ(c.plaintext, "first\nsecond\n");
    EXPECT_EQ(stats().tls_handshakes_completed.get(), 1u);
    {
        std::lock_guard lock(handler_.mutex);
        EXPECT_EQ(handler_.peer_authentication, tls::PeerAuthentication::kNone);
    }
    close(c.fd);
    EXPECT_TRUE(wait_until([&] { return handler_.closed.load() == 1; }));
}

// Runtime::tls_session(): the handler reads what the peer's certificate
// proved (RFC 5922 §7.1 identities, CR-29/CR-40) when the connection opens.
TEST_F(WorkerTlsTest, HandlerSeesThePeersVerifiedIdentities) {
    start();
    auto peer_context = make_context(tls::TlsRole::kClient, "example-net-rsa");
    ASSERT_NE(peer_context, nullptr);
    Client c;
    c.fd = tcp_connect(workers_->listening()[0].endpoint);
    auto session = tls::TlsSession::connect(*peer_context,
                                            {.peer_host = "p1.example.com", .identity_index = 0});
    ASSERT_TRUE(session.ok()) << session.status();
    c.session = std::move(*session);
    ASSERT_TRUE(c.pump_until([&] { return c.session->state() == tls::TlsState::kOpen; }));
    ASSERT_TRUE(wait_until([&] { return handler_.tls_opened.load() == 1; }));
    std::lock_guard lock(handler_.mutex);
    EXPECT_EQ(handler_.peer_authentication, tls::PeerAuthentication::kVerified);
    EXPECT_EQ(handler_.peer_identities, (std::vector<std::string>{"example.net", "p2.example.net"}));
    close(c.fd);
}

TEST_F(WorkerTlsTest, StalledHandshakeIsClosedAtItsTimeLimit) {
    WorkerConfig config;
    config.tls_handshake_time_max = 200ms;
    start(config);
    const int fd = tcp_connect(workers_->listening()[0].endpoint);
    const auto started = std::chrono::steady_clock::now();
    char byte;
    ssize_t got;
    do {  // a signal to the process (a worker thread starting) is not the close
        got = recv(fd, &byte, 1, 0);
    } while (got < 0 && errno == EINTR);
    EXPECT_LE(got, 0);  // closed without a byte
    EXPECT_GE(std::chrono::steady_clock::now() - started, 150ms);
    EXPECT_TRUE(wait_until([&] { return stats().tls_handshake_timeouts.get() == 1; }));
    EXPECT_EQ(handler_.tls_opened.load(), 0);
    EXPECT_EQ(handler_.closed.load(), 0);  // never opened for the handler
    close(fd);
}

TEST_F(WorkerTlsTest, GarbageInsteadOfAClientHelloFailsAndIsCounted) {
    start();
    const int fd = tcp_connect(workers_->listening()[0].endpoint);
    send_all(fd, "OPTIONS sip:p1.example.com SIP/2.0\r\n\r\n");
    std::array<char, 256> buffer;
    ssize_t total = 0;
    for (ssize_t n; (n = recv(fd, buffer.data(), buffer.size(), 0)) > 0 || (n < 0 && errno == EINTR);) {
        total += n > 0 ? n : 0;
    }
    EXPECT_LT(total, 64);  // an alert at most
    EXPECT_TRUE(wait_until([&] { return stats().tls_handshakes_failed.get() == 1; }));
    EXPECT_EQ(handler_.tls_opened.load(), 0);
    close(fd);
}

TEST_F(WorkerTlsTest, HandshakesPastTheLimitWaitForATurn) {
    WorkerConfig config;
    config.tls_handshakes_in_flight_max = 1;
    config.tls_handshake_time_max = 500ms;
    start(config);
    // A client that stalls holds the only handshake slot.
    const int staller = tcp_connect(workers_->listening()[0].endpoint);
    ASSERT_TRUE(wait_until([&] { return stats().connections_accepted.get() == 1; }));
    Client c = connect_client();
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.pump_until([&] { return c.session->state() == tls::TlsState::kOpen; }));
    // Served once the staller's handshake timed out, not before.
    EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
    EXPECT_EQ(stats().tls_handshake_timeouts.get(), 1u);
    EXPECT_GE(stats().tls_handshakes_deferred.get() + stats().tls_accepts_parked.get(), 1u);
    EXPECT_TRUE(wait_until([&] { return handler_.tls_opened.load() == 1; }));
    close(staller);
    close(c.fd);
}

// connect_tls() to our own listener: the outbound side verifies the
// listener's certificate against the host dialled (RFC 5922 §7.3), a line
// queued before the handshake arrives, and its echo comes back.
TEST_F(WorkerTlsTest, OutboundTlsConnectionVerifiesAndCarriesData) {
    start();
    handler_.dial_to = workers_->listening()[0].endpoint;
    handler_.dial_context = client_.get();
    handler_.dial_host = "p1.example.com";
    ASSERT_EQ(workers_->post(0, MailboxItem{}), PostResult::kPosted);
    EXPECT_TRUE(wait_until([&] { return handler_.dial_echoed.load(); }));
    EXPECT_EQ(handler_.tls_opened.load(), 2);  // both ends, as kTls
    EXPECT_EQ(stats().tls_handshakes_completed.get(), 2u);
}

// CR-39: a server whose certificate does not name the host dialled is not
// authenticated, and the connection closes as kTlsFailed.
TEST_F(WorkerTlsTest, OutboundTlsToTheWrongHostFails) {
    start();
    handler_.dial_to = workers_->listening()[0].endpoint;
    handler_.dial_context = client_.get();
    handler_.dial_host = "p2.example.net";
    ASSERT_EQ(workers_->post(0, MailboxItem{}), PostResult::kPosted);
    EXPECT_TRUE(wait_until([&] { return handler_.dial_closed_reason.load() >= 0; }));
    EXPECT_EQ(handler_.dial_closed_reason.load(), static_cast<int>(CloseReason::kTlsFailed));
    EXPECT_FALSE(handler_.dial_echoed.load());
    EXPECT_GE(stats().tls_handshakes_failed.get(), 1u);
}

}  // namespace
}  // namespace fe::net
