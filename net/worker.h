// File: net/worker.h
//
// A worker: one thread, one io_uring, one timer wheel, one mailbox, its UDP
// sockets, TCP listeners and connections (STYLE §8: share nothing). Workers
// (net/workers.h) creates and runs them; the layer above implements Handler
// (net/handler.h) and calls the methods below from inside its callbacks, on
// the worker's thread.
//
//   size_t MyHandler::on_stream_data(Worker& w, ConnectionId c, std::string_view b, Time now) {
//       if (w.send_stream(c, "pong\n") != SendResult::kQueued) { ... }
//       w.timer_wheel().arm(my_timer_, now + std::chrono::seconds(30));
//       return b.size();
//   }
//
// The loop (run()): submit what handlers queued and wait for completions (or
// the next timer deadline) in one io_uring_enter; copy a batch of CQEs out and
// advance the CQ once; read CLOCK_MONOTONIC once; run each completion's handler;
// fire due timers; then re-arm receives, start queued sends and return provided
// buffers, all of which is submitted by the next wait.
//
// Ownership of in-flight operations (STYLE §7): every SQE's user_data is the
// address of an Op inside its owner (a UDP socket, an accept slot, a
// connection, a send slot); the owner is not reused until each of its ops has
// completed. Closing a connection is a state: cancel, wait for every
// completion, close the direct descriptor, then free the slot.
//
// Connections are direct descriptors: the connection's slot index is its index
// in the ring's fixed file table, so a worker's connections do not count
// against the process's open file limit.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "core/base/endpoint.h"
#include "core/base/fd_poller.h"
#include "core/base/time.h"
#include "core/time/timer_wheel.h"
#include "net/handler.h"
#include "net/internal/buffer_ring.h"
#include "net/limits.h"
#include "net/mailbox.h"
#include "net/runtime.h"
#include "net/tls/limits.h"

namespace fe::net {

// Sizes of one worker; defaults from net/limits.h.
struct WorkerConfig {
    uint32_t ring_entries = kRingEntries;
    uint32_t udp_buffer_count = kUdpBufferCount;
    uint32_t stream_buffer_count = kStreamBufferCount;
    // Clamped to RLIMIT_NOFILE (the kernel's cap on a direct descriptor table).
    uint32_t connection_count_max = kConnectionCountMax;
    uint32_t accept_in_flight_count = kAcceptInFlightCount;
    uint32_t partial_message_size_max = kPartialMessageSizeMax;
    Duration partial_message_time_max = kPartialMessageTimeMax;
    uint32_t partial_buffer_count_max = kPartialBufferCountMax;
    uint32_t send_queue_size_max = kSendQueueSizeMax;
    uint32_t send_chunk_count_max = kSendChunkCountMax;
    uint32_t udp_send_in_flight_max = kUdpSendInFlightMax;
    uint32_t mailbox_capacity = kMailboxCapacity;
    Duration connect_time_max = kConnectTimeMax;
    Duration close_flush_time_max = kCloseFlushTimeMax;
    uint32_t fd_poll_count_max = kFdPollCountMax;
    // TLS listeners (net/tls/limits.h): a handshake must complete within
    // this, and no more than this many run at once on the worker.
    Duration tls_handshake_time_max = tls::kTlsHandshakeTimeMax;
    uint32_t tls_handshakes_in_flight_max = tls::kTlsHandshakesInFlightMax;
    // WebSocket listeners (net/limits.h): the Upgrade request must be whole
    // within this (its size is bounded by ws::kHandshakeSizeMax).
    Duration ws_handshake_time_max = kWsHandshakeTimeMax;
    // Idle time before a PING, and again before an unanswered one closes.
    Duration ws_ping_interval = kWsPingInterval;
    // Origins a WebSocket handshake may come from (RFC 6455 §10.2, as
    // browsers serialize them: "https://app.example.com"), compared ASCII
    // case-insensitively; others get 403. Empty: any. A request without
    // Origin (not a browser) passes either way.
    std::vector<std::string> ws_origins_allowed;
};

// A counter written by its worker only and read by anyone (stats export,
// tests): relaxed load + store, no locked instruction on the hot path.
class Counter {
public:
    void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n,
                                            std::memory_order_relaxed); }
    uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

// Per-worker counters, on their own cache lines (STYLE §8).
struct alignas(kCacheLineSize) WorkerStats {
    Counter loop_turns;
    Counter completions;
    Counter sq_full_submits;         // the SQ filled within a turn: ring sized too small
    Counter timers_fired;
    Counter udp_datagrams_received;
    Counter udp_datagrams_truncated;  // longer than kUdpDatagramSizeMax: dropped
    Counter udp_datagrams_sent;
    Counter udp_send_busy;            // no free send slot: dropped
    Counter udp_send_errors;
    Counter udp_recv_no_buffers;      // ENOBUFS: every provided buffer was in use
    Counter udp_recv_errors;
    Counter connections_accepted;
    Counter connections_connected;
    Counter connections_closed;
    Counter connect_failures;
    // Outbound connections left with Nagle on: the kernel has no
    // SOCKET_URING_OP_SETSOCKOPT (before 6.7), or it failed. Their small
    // writes may wait 40 ms for the peer's delayed ACK.
    Counter connect_nodelay_failures;
    Counter accept_errors;
    Counter stream_bytes_received;
    Counter stream_bytes_sent;
    Counter stream_recv_no_buffers;
    Counter stream_errors;            // ECONNRESET, EPIPE, ...
    Counter partial_timeouts;         // slowloris closes
    Counter partial_too_large;
    Counter partial_buffer_exhausted;
    Counter send_queue_overflows;     // slow-reader closes
    Counter send_chunk_exhausted;
    Counter mailbox_received;
    Counter mailbox_doorbells;        // MSG_RING completions from other workers
    Counter mailbox_full;             // posts refused by a full receiver mailbox
    Counter mailbox_doorbell_errors;  // a MSG_RING to another worker failed
    Counter fd_polls_refused;         // poll_fd() with every poll slot in use, or stopping
    // TLS listeners.
    Counter tls_handshakes_completed;
    Counter tls_handshakes_resumed;   // of the completed: a session ticket resumed
    Counter tls_handshakes_failed;    // protocol error, bad or missing certificate: alert sent
    Counter tls_handshake_timeouts;   // slowloris at the TLS layer
    Counter tls_handshakes_deferred;  // accepted at tls_handshakes_in_flight_max: not read yet
    Counter tls_accepts_parked;       // a TLS listener's accept waited for a handshake to end
    Counter tls_errors;               // a bad record or fatal alert after the handshake
    // WebSocket listeners.
    Counter ws_handshakes_completed;  // 101 sent
    Counter ws_handshakes_refused;    // 400/403/426 sent, then closed
    Counter ws_handshake_timeouts;    // no whole Upgrade request within ws_handshake_time_max
    Counter ws_messages_received;     // text or binary messages handed to the handler
    Counter ws_pings_answered;
    Counter ws_closes_received;       // the peer's close frame, answered
    Counter ws_protocol_errors;       // closed with 1002, 1007 or 1009
    Counter ws_pings_sent;            // to idle WebSockets
    Counter ws_ping_timeouts;         // nothing came back within ws_ping_interval: closed
};

// Also an fe::FdPoller: poll_fd() arms a one-shot IORING_OP_POLL_ADD on this
// ring (see core/base/fd_poller.h), which is how a hiredis connection
// (state/redis_store.h) runs on the worker's loop.
class Worker final : public Runtime, public FdPoller {
public:
    // The handler may be given later (set_handler()), but before run().
    Worker(uint32_t index, const WorkerConfig& config, Handler* handler = nullptr);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // On the thread that will call run(): sets up the ring (SINGLE_ISSUER binds
    // it to this thread), buffer rings, the direct descriptor table, and takes
    // the sockets. On error the sockets are closed.
    absl::Status init(std::vector<WorkerSocket> sockets);
    // Workers a post() may name; set before any worker runs.
    void set_peers(std::span<Worker* const> peers) { peers_ = peers; }
    // On the worker's thread, after init() and before run(): the handler
    // every callback goes to. It must outlive the loop.
    void set_handler(Handler* handler) { handler_ = handler; }
    // The event loop; returns after request_stop() once every connection is
    // closed and every operation has completed.
    void run();
    // Any thread: ask the loop to stop accepting, flush and close, then return.
    void request_stop();

    // ---- For the handler, on this worker's thread only. ----

    // Copies the parts into a send slot: the caller's bytes may be reused when
    // this returns. Sent at the end of the loop turn.
    SendResult send_datagram(UdpSocketId socket, const Endpoint& to,
                             std::span<const std::string_view> parts) override;
    using Runtime::send_datagram;
    // Appends to the connection's send queue (copied). Sends of one loop turn are
    // coalesced into one sendmsg; one send is in flight per connection.
    SendResult send_stream(ConnectionId connection,
                           std::span<const std::string_view> parts) override;
    using Runtime::send_stream;
    // Starts closing: the handler's on_connection_closed(kLocal) runs from
    // inside this call, and the id is stale when it returns. False when the id
    // is already stale.
    bool close(ConnectionId connection, CloseMode mode) override;
    bool close(ConnectionId connection) { return close(connection, CloseMode::kAfterSend); }
    // Opens a TCP connection to `to`: IORING_OP_SOCKET into a direct
    // descriptor, TCP_NODELAY on it (internal::prep_tcp_nodelay(), when the
    // kernel has it), then IORING_OP_CONNECT, linked. Sends may be queued
    // before it opens.
    ConnectResult connect(const Endpoint& to, ConnectionId* connection) override;
    // connect() and then a client handshake (net/worker_tls.cc); the
    // ClientHello waits in the send queue until the TCP connect completes.
    ConnectResult connect_tls(const Endpoint& to, const tls::TlsContext& context,
                              std::string_view peer_host, ConnectionId* connection) override;
    std::string_view last_tls_failure() const override { return last_tls_failure_; }
    const tls::TlsSession* tls_session(ConnectionId connection) const override;
    // Posts to worker `to_index` (may be this one); the receiver's on_mailbox()
    // runs on its thread. The doorbell is an IORING_OP_MSG_RING on this ring.
    PostResult post(uint32_t to_index, const MailboxItem& item) override;

    // fe::FdPoller, on this worker's thread. At most fd_poll_count_max polls
    // are armed at once; polls still armed when the worker stops are
    // cancelled without calling their `ready`, and poll_fd() refuses from then
    // on, so a forgotten poll never keeps the loop from ending.
    [[nodiscard]] PollId poll_fd(int fd, uint32_t events, Ready ready) override;
    bool cancel_poll(PollId id) override;
    Time loop_now() const override { return now_; }

    time::TimerWheel& timer_wheel() override { return wheel_; }
    Time now() const override { return now_; }
    uint32_t index() const override { return index_; }
    const WorkerStats& stats() const { return stats_; }
    // Connections in any state but free (opening, open, closing).
    uint32_t connection_count() const { return connection_in_use_count_; }
    uint32_t connection_count_max() const { return connection_count_max_; }
    // Local endpoint of a UDP socket or TCP listener, in listen-spec order.
    std::span<const WorkerSocket> sockets() const override { return sockets_; }

    // ---- Any thread. ----

    // Posts from a thread that is not a worker (main, tests): the doorbell is
    // the worker's eventfd.
    PostResult post_from_any_thread(const MailboxItem& item);

    // ---- Tests, on this worker's thread. ----

    // Installs the connection's direct descriptor as a regular fd
    // (IORING_OP_FIXED_FD_INSTALL, kernel 6.8+) so a test can getsockopt() it.
    // `done` runs on this worker's thread with the fd (the test closes it) or
    // -errno. False when the id is stale, has no descriptor yet, or another
    // install is pending.
    using FdInstalled = absl::AnyInvocable<void(int32_t fd_or_error)>;
    bool install_fd_for_test(ConnectionId connection, FdInstalled done);

private:
    struct Op;
    struct Connection;
    struct UdpSocket;
    struct AcceptSlot;
    struct UdpSendSlot;
    struct SendChunk;
    struct PollSlot;
    struct WsState;
    struct Completion {
        uint64_t user_data;
        int32_t result;
        uint32_t flags;
    };

    // Setup.
    absl::Status init_connections();
    void init_udp_send_slots();
    void init_accept_slots();

    // Loop.
    void wait_and_reap();
    void dispatch(const Completion& completion);
    void end_turn();
    bool quiescent() const;
    void begin_stop();
    io_uring_sqe* get_sqe();
    void cancel_op(const Op& op);

    // Mailbox.
    void drain_mailbox();
    void arm_eventfd_read();
    void on_eventfd_read(int32_t result);

    // UDP.
    void add_udp_socket(const WorkerSocket& socket);
    void arm_udp_recv(UdpSocket& socket);
    void on_udp_recv(UdpSocket& socket, int32_t result, uint32_t flags);
    void deliver_datagram(UdpSocket& socket, uint16_t buffer_id, int32_t result);
    void on_udp_send(UdpSendSlot& slot, int32_t result);

    // TCP accept and connect.
    void arm_accept(AcceptSlot& slot);
    void on_accept(AcceptSlot& slot, int32_t result);
    void rearm_starved_accepts();
    uint32_t take_connection_slot();
    void free_connection(Connection& connection);
    void open_connection(Connection& connection);
    void on_socket(Connection& connection, int32_t result);
    void on_nodelay(Connection& connection, int32_t result);
    void on_connect(Connection& connection, int32_t result);

    // Streams.
    Connection* find(ConnectionId id);
    ConnectionId id_of(const Connection& connection) const;
    void arm_stream_recv(Connection& connection);
    void on_stream_recv(Connection& connection, int32_t result, uint32_t flags);
    void deliver_stream(Connection& connection, std::string_view bytes);
    void deliver_with_partial(Connection& connection, std::string_view bytes);
    size_t consume(Connection& connection, std::string_view bytes);
    bool keep_partial(Connection& connection, std::string_view rest);
    void release_partial(Connection& connection);
    bool reserve_chunks(Connection& connection, size_t size);
    void append_send(Connection& connection, std::string_view bytes);
    void schedule_send(Connection& connection);
    void submit_send(Connection& connection);
    void advance_send_queue(Connection& connection, uint32_t sent);
    void on_stream_send(Connection& connection, int32_t result);
    void drop_send_queue(Connection& connection);
    void begin_close(Connection& connection, CloseReason reason, CloseMode mode);
    void finish_close_if_idle(Connection& connection);
    void on_close_direct(Connection& connection, int32_t result);
    static void on_connection_timer(time::Timer& timer, Time now);

    // TLS streams (net/worker_tls.cc). A TLS connection is a TCP connection
    // whose received bytes go through its TlsSession before deliver_stream()
    // and whose sends are encrypted into its send queue.
    bool tls_listener(uint32_t listener_index) const {
        return listen_tls_[listener_index] != nullptr;
    }
    bool tls_accept_parked(AcceptSlot& slot);
    void on_tls_connect(Connection& connection);
    void start_tls(Connection& connection, uint32_t listener_index);
    void begin_tls_handshake(Connection& connection);
    void deliver_tls(Connection& connection, std::string_view ciphertext);
    bool open_tls(Connection& connection);
    bool flush_tls(Connection& connection);
    void fail_tls(Connection& connection);
    SendResult send_tls(Connection& connection, std::span<const std::string_view> parts,
                        size_t size);
    void close_notify_tls(Connection& connection);
    void end_tls_handshake(Connection& connection);

    // WebSocket streams (net/worker_ws.cc). A WS connection is a TCP (or,
    // for WSS, TLS) connection whose received bytes go through the opening
    // handshake and then its FrameDecoder, each message handed to the
    // handler whole; its sends get a server frame header in front.
    void start_ws(Connection& connection);
    void begin_ws_handshake(Connection& connection);
    size_t consume_ws(Connection& connection, std::string_view bytes);
    size_t consume_ws_handshake(Connection& connection, std::string_view bytes);
    size_t consume_ws_frames(Connection& connection, std::string_view bytes);
    void close_ws(Connection& connection, uint16_t code, CloseReason reason);
    void arm_ws_ping(Connection& connection);
    void on_ws_ping_timer(Connection& connection);
    SendResult send_ws(Connection& connection, std::span<const std::string_view> parts,
                       size_t size);
    SendResult send_raw(Connection& connection, std::span<const std::string_view> parts,
                        size_t size);
    char* take_partial_buffer();
    bool handshake_timer(const Connection& connection) const;
    void release_ws_assembly(Connection& connection);

    // Readiness polls.
    void init_poll_slots();
    void on_poll(PollSlot& slot, int32_t result);

    const uint32_t index_;
    const WorkerConfig config_;
    Handler* handler_ = nullptr;
    io_uring ring_{};
    bool ring_ready_ = false;
    time::TimerWheel wheel_;
    Time now_{};
    Mailbox<MailboxItem> mailbox_;
    std::span<Worker* const> peers_;
    WorkerStats stats_;

    // Set by request_stop() from any thread; the loop reads it each turn.
    std::atomic<bool> stop_requested_{false};
    bool stopping_ = false;
    // The loop must drain the mailbox again without waiting (a batch was cut).
    bool mailbox_more_ = false;

    // Doorbells: MSG_RING completions name doorbell_op_; eventfd reads land in
    // eventfd_value_ while eventfd_read_submitted_.
    std::unique_ptr<Op> doorbell_op_;
    std::unique_ptr<Op> eventfd_op_;
    // The sender side of our MSG_RINGs: only failures complete here.
    std::unique_ptr<Op> msg_ring_op_;
    int eventfd_ = -1;
    uint64_t eventfd_value_ = 0;
    bool eventfd_read_submitted_ = false;

    std::vector<WorkerSocket> sockets_;
    std::vector<std::unique_ptr<UdpSocket>> udp_sockets_;
    // Stream listeners (TCP and TLS), in listen-spec order of the non-UDP
    // sockets; listen_tls_[i] is listener i's TLS context, null for TCP.
    std::vector<int> tcp_listen_fds_;
    std::vector<const tls::TlsContext*> listen_tls_;
    // listen_transport_[i]: kTcp, kTls, kWs or kWss.
    std::vector<Transport> listen_transport_;
    // config_.ws_origins_allowed as views (into config_), for the handshake.
    std::vector<std::string_view> ws_origins_;
    std::unique_ptr<AcceptSlot[]> accept_slots_;
    uint32_t accept_slot_count_ = 0;
    uint32_t accepts_in_flight_ = 0;
    // Accept slots that found no free connection slot; re-armed when one frees.
    std::vector<uint32_t> starved_accepts_;

    internal::BufferRing udp_buffers_;
    internal::BufferRing stream_buffers_;
    uint32_t udp_recvs_in_flight_ = 0;

    std::unique_ptr<UdpSendSlot[]> udp_send_slots_;
    std::unique_ptr<char[]> udp_send_memory_;
    std::vector<uint32_t> udp_send_free_;
    uint32_t udp_send_slot_count_ = 0;

    // internal::probe_tcp_nodelay() at init: connect() links a TCP_NODELAY.
    bool tcp_nodelay_supported_ = false;
    uint32_t connection_count_max_ = 0;
    std::unique_ptr<Connection[]> connections_;
    // Free connection slots (stack); a slot is free when its state is kFree.
    std::vector<uint32_t> connection_free_;
    uint32_t connection_in_use_count_ = 0;

    // Receives to re-arm and sends to start at the end of the turn.
    std::vector<uint32_t> stream_rearm_;
    std::vector<uint32_t> send_ready_;
    bool udp_rearm_pending_ = false;

    // Partial message buffers: allocated on first need, reused after.
    std::vector<std::unique_ptr<char[]>> partial_storage_;
    std::vector<char*> partial_free_;
    // Send chunks: allocated on first need, reused after.
    std::vector<std::unique_ptr<SendChunk>> chunk_storage_;
    std::vector<SendChunk*> chunk_free_;

    // Readiness poll slots, allocated at init; free ones are stacked in
    // poll_free_. A slot leaves the free stack when armed and returns only
    // when its CQE arrived, so an op in the kernel always has its slot.
    std::unique_ptr<PollSlot[]> poll_slots_;
    std::vector<uint32_t> poll_free_;
    uint32_t polls_in_flight_ = 0;

    // TLS: handshakes running (connections with tls_handshaking set), at
    // most tls_handshakes_in_flight_max. Connections accepted past that wait
    // unread in tls_waiting_ (FIFO; ids, so one closed meanwhile is skipped),
    // and while running + waiting reach the limit the TLS listeners' accept
    // slots are left unarmed in tls_parked_accepts_, so a storm waits in the
    // kernel's backlog: tls_waiting_ holds at most one connection per accept
    // slot. end_tls_handshake() starts the next and re-arms.
    uint32_t tls_handshakes_in_flight_ = 0;
    std::deque<ConnectionId> tls_waiting_;
    std::vector<uint32_t> tls_parked_accepts_;
    // One decrypted record at a time, handed to deliver_stream() (which
    // copies an incomplete message into the connection's partial buffer).
    // Made at init with a TLS listener, else by the first connect_tls().
    std::unique_ptr<char[]> tls_plaintext_;
    // describe_failure() of the last session that failed (only on failures).
    std::string last_tls_failure_;

    // install_fd_for_test(): `done` is set while its op is in the kernel.
    std::unique_ptr<Op> fd_install_op_;
    FdInstalled fd_install_done_;
};

}  // namespace fe::net
