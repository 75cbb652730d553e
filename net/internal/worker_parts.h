// File: net/internal/worker_parts.h
//
// The private parts of a net::Worker (net/worker.h): its operation records
// and the state of its sockets, accept slots, send slots and connections.
// Shared by the files that implement Worker (net/worker.cc, and the TLS
// stream path in net/worker_tls.cc); nothing outside net/ includes it.
//
//   Worker::Connection& c = connections_[op.index];   // from a CQE's Op
//   if (c.tls != nullptr) { ... }                      // a TLS connection
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "core/base/endpoint.h"
#include "core/base/fd_poller.h"
#include "core/ws/frame.h"
#include "core/ws/handshake.h"
#include "core/time/timer_wheel.h"
#include "net/limits.h"
#include "net/tls/tls_session.h"
#include "net/worker.h"

namespace fe::net {

// No slot: an accept slot that reserved no connection.
inline constexpr uint32_t kNoSlot = UINT32_MAX;

enum class OpKind : uint8_t {
    kDoorbell,      // an IORING_OP_MSG_RING from another worker landed here
    kMsgRingSent,   // our MSG_RING failed (success CQEs are skipped)
    kEventfdRead,
    kUdpRecv,
    kUdpSend,
    kAccept,
    kSocket,
    kNodelay,       // TCP_NODELAY between an outbound socket and its connect
    kConnect,
    kStreamRecv,
    kStreamSend,
    kCloseDirect,
    kPoll,          // a readiness poll armed by poll_fd()
    kFdInstallForTest,
};

// fe::FdPoller's event bits pass through io_uring poll results unchanged.
static_assert(kPollIn == POLLIN && kPollOut == POLLOUT && kPollErr == POLLERR &&
              kPollHup == POLLHUP);

// What an SQE's user_data points at: the kind tells dispatch() which owner
// array `index` selects. 0 as user_data means "no handler" (cancels).
struct Worker::Op {
    OpKind kind = OpKind::kDoorbell;
    uint32_t index = 0;
};

struct Worker::SendChunk {
    SendChunk* next = nullptr;
    uint32_t size = 0;  // bytes written into data
    char data[kSendChunkSize];
};

struct Worker::UdpSocket {
    Op recv_op;
    uint32_t index = 0;
    int fd = -1;
    Endpoint local;
    // Template for the multishot recvmsg: only msg_namelen matters, it sets the
    // layout of every io_uring_recvmsg_out in the provided buffers.
    msghdr recv_msg{};
    // True while the multishot recvmsg is in the kernel (until a CQE without
    // IORING_CQE_F_MORE).
    bool recv_submitted = false;
};

struct Worker::PollSlot {
    Op op;
    // Bumped whenever the slot's poll ends for its owner (ran, or cancelled),
    // so an old PollId matches nothing.
    uint32_t generation = 0;
    // True while the POLL_ADD is in the kernel; on_poll() clears it.
    bool submitted = false;
    // cancel_poll() or stop dropped `ready`; the CQE only frees the slot.
    bool cancelled = false;
    FdPoller::Ready ready;
};

struct Worker::AcceptSlot {
    Op op;
    uint32_t listener_index = 0;
    // The connection slot this accept installs its descriptor into; reserved
    // (state kAccepting) while submitted.
    uint32_t connection_index = kNoSlot;
    sockaddr_storage address{};
    socklen_t address_size = 0;
    bool submitted = false;
};

struct Worker::UdpSendSlot {
    Op op;
    msghdr msg{};
    sockaddr_storage address{};
    iovec iov{};
    char* data = nullptr;  // kUdpDatagramSizeMax bytes of udp_send_memory_
};

// The WebSocket side of a connection (RFC 6455 for RFC 7118): ~48 bytes, no
// buffer of its own. A fragmented message borrows a partial buffer from the
// worker's pool (`assembly`) only while the decoder is assembling().
struct Worker::WsState {
    explicit WsState(uint32_t message_size_max)
        : decoder(ws::Role::kServer, message_size_max) {}
    ws::FrameDecoder decoder;
    ws::HandshakeScan scan;
    // True from accept (or the TLS handshake's end, for WSS) until the 101
    // is queued; the handler hears of the connection then, as kWs or kWss.
    bool handshaking = true;
    // A close frame was queued: nothing more is sent or delivered.
    bool close_sent = false;
    // Our PING went out and nothing came back since (on_ws_ping_timer()).
    bool ping_outstanding = false;
    // When the last frame arrived (open connections): the idle PING is due
    // ws_ping_interval after it. Kept here rather than re-arming the timer
    // on every frame.
    Time last_received{};
    // A pool buffer of partial_message_size_max bytes while a fragmented
    // message is open; null otherwise.
    char* assembly = nullptr;
};

// One TCP connection. Budget: ~340 bytes, nothing else while idle (no receive
// buffer, no send chunk, no partial buffer); a TLS connection adds its
// session (~4.2 kB idle, net/tls/tls_session.h).
struct Worker::Connection {
    enum class State : uint8_t {
        kFree,
        kAccepting,   // reserved by an accept in flight
        kConnecting,  // outbound: socket + connect in flight
        kOpen,
        kClosing,     // cancelled; waiting for completions, then close_direct
    };

    Worker* worker = nullptr;
    uint32_t index = 0;       // also the direct descriptor index
    uint32_t generation = 1;  // bumped when closing starts, so old ids go stale
    State state = State::kFree;
    // The handler was told about this connection (open, or connect() returned
    // it) and is owed exactly one on_connection_closed().
    bool opened = false;
    bool file_installed = false;  // the slot holds a descriptor in the ring's table
    // Each *_submitted is true exactly while that op is in the kernel.
    bool recv_submitted = false;
    bool send_submitted = false;
    bool socket_submitted = false;
    bool nodelay_submitted = false;
    bool connect_submitted = false;
    bool close_submitted = false;
    bool flush_before_close = false;  // kClosing: send the queue before close_direct
    bool rearm_queued = false;        // index is in stream_rearm_
    bool send_scheduled = false;      // index is in send_ready_
    Op recv_op;
    Op send_op;
    Op socket_op;
    Op nodelay_op;
    Op connect_op;
    Op close_op;
    Endpoint peer;
    // An incomplete message: partial_size bytes in a pool buffer; the timer is
    // armed (slowloris) while partial != nullptr.
    char* partial = nullptr;
    uint32_t partial_size = 0;
    // Send queue: chunks head..tail, the first send_head_offset bytes of head
    // already sent; send_queue_size counts unsent bytes.
    SendChunk* send_head = nullptr;
    SendChunk* send_tail = nullptr;
    uint32_t send_head_offset = 0;
    uint32_t send_queue_size = 0;
    msghdr send_msg{};
    iovec send_iov[kSendIovecCountMax]{};
    sockaddr_in6 connect_address{};  // large enough for v4 and v6
    // A connection accepted on a TLS listener or made by connect_tls(): its
    // session, from accept or connect to free_connection() (bytes in both
    // directions go through it); null for plain TCP. tls_handshaking: the
    // handshake runs (kOpen), on_connection_open not called yet, and the
    // timer is the handshake's.
    std::unique_ptr<tls::TlsSession> tls;
    bool tls_handshaking = false;
    // An accepted connection's handshake, counted in tls_handshakes_in_flight_
    // (outbound handshakes are ours, not a storm's: not counted).
    bool tls_counted = false;
    // In tls_waiting_: accepted, not read, no timer, until a handshake ends.
    bool tls_waiting = false;
    // A connection accepted on a WebSocket listener (net/worker_ws.cc): its
    // state from accept to free_connection(), null for plain TCP and TLS.
    // Received bytes (plaintext, after TLS for WSS) go through its handshake
    // and then its frame decoder; sends get a frame header in front.
    std::unique_ptr<WsState> ws;
    // Accepted on a wss listener: when the TLS handshake completes, the
    // WebSocket one starts (ws is made then), and the handler hears of the
    // connection after the 101, as kWss.
    bool wss = false;
    // kConnecting: connect timeout; kOpen: TLS or WebSocket handshake
    // timeout, then partial message timeout; kClosing: flush timeout.
    time::Timer timer{&Worker::on_connection_timer, nullptr};
};

}  // namespace fe::net
