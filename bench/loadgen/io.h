// File: bench/loadgen/io.h
//
// The client-side io_uring engine of flowedge-bench: one per thread, one ring
// each. It does what the emulated phones need and the server runtime (net/)
// does not:
//
// - TCP flows are direct descriptors (IORING_OP_SOCKET into the ring's sparse
//   file table), each given TCP_NODELAY (net::internal::prep_tcp_nodelay(): a
//   phone's 180 and 200 go out back to back, and with Nagle the 200 would
//   wait 40 ms for the server's delayed ACK) and BOUND to a source address of
//   its own (IORING_OP_BIND, built by hand: liburing 2.3 has no helper)
//   before IORING_OP_CONNECT, so one process holds far more than
//   RLIMIT_NOFILE connections (one table per ring) and more than the ~28k
//   ephemeral ports one source address has towards one server.
// - UDP flows need a local (address, port) each, because an RFC 5626 UDP flow
//   is its 5-tuple. Instead of one socket per UA (250k descriptors), a socket
//   is bound to 0.0.0.0:PORT and serves every loopback address on that port:
//   a datagram is sent with IP_PKTINFO naming its source address, and a
//   received one reports (IP_PKTINFO) which local address it was sent to.
//   P ports x A addresses = P*A distinct flows from P descriptors.
//
// Every operation's user_data is (kind, index, generation), so a completion
// that arrives after its connection slot was reused is recognised and
// ignored. A connection slot is freed only after every operation on it has
// completed and its direct descriptor was closed.
//
//   fe::loadgen::Io io;
//   FE_RETURN_IF_ERROR(io.init(config, handler, udp_fds));
//   fe::loadgen::ConnRef c;
//   io.connect(source_addr, server, /*user=*/flow_key, &c);
//   ...
//   io.poll(deadline);   // submits, waits until a completion or `deadline`, dispatches
#pragma once

#include <liburing.h>
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/base/time.h"
#include "net/internal/buffer_ring.h"

namespace fe::loadgen {

// A connection: its slot in the ring's file table and the slot's generation.
struct ConnRef {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
    bool valid() const { return index != UINT32_MAX; }
};

enum class IoCloseReason : uint8_t {
    kConnectFailed,  // socket, bind or connect failed (refused, no port left, ...);
                     // a failed TCP_NODELAY does not fail the connection
    kPeerClosed,     // recv returned 0
    kError,          // recv or send failed (ECONNRESET, EPIPE, ...)
};

enum class [[nodiscard]] IoSendResult : uint8_t {
    kQueued,
    kStale,     // the connection is gone or closing
    kNoSlot,    // every send slot is in use (counted; UDP: dropped)
    kTooLarge,  // longer than kIoSendSlotSize
};

enum class [[nodiscard]] IoConnectResult : uint8_t {
    kStarted,    // on_connected or on_closed(kConnectFailed) follows
    kTableFull,  // connection_count_max connections already exist
};

class IoHandler {
public:
    virtual ~IoHandler() = default;
    virtual void on_connected(ConnRef conn, uint64_t user, Time now) = 0;
    // The connection is gone (not called for close()); `conn` is stale now.
    virtual void on_closed(ConnRef conn, uint64_t user, IoCloseReason reason, Time now) = 0;
    // Unconsumed stream bytes; returns how many were consumed (0: wait for more).
    virtual size_t on_stream_data(ConnRef conn, uint64_t user, std::string_view bytes,
                                  Time now) = 0;
    // A datagram on UDP socket `socket_index`, sent to local address
    // `local_addr` (host order) from `from`.
    virtual void on_datagram(uint32_t socket_index, uint32_t local_addr, const sockaddr_in& from,
                             std::string_view bytes, Time now) = 0;
};

// Limits of one engine (STYLE §7).
// Bytes of one queued send: an emulated phone's largest message (a REGISTER
// or an INVITE with SDP) is below 1.5 KiB.
inline constexpr uint32_t kIoSendSlotSize = 2048;
// Sends in flight or queued per engine; 8192 x 2 KiB = 16 MiB. A burst larger
// than this fails with kNoSlot and is counted, never grows memory.
inline constexpr uint32_t kIoSendSlotCountDefault = 8192;
// Provided receive buffers (power of two) shared by every flow of the engine.
inline constexpr uint32_t kIoRecvBufferCountDefault = 4096;
inline constexpr uint32_t kIoRecvBufferSize = 4096;
// SQ entries; the CQ is 4x this so a burst of completions never overflows.
inline constexpr uint32_t kIoRingEntriesDefault = 4096;
// A stream message that did not complete in one buffer is kept per
// connection; past this the peer is broken and the connection is closed.
inline constexpr uint32_t kIoPartialSizeMax = 64 * 1024;

struct IoConfig {
    uint32_t connection_count_max = 0;  // <= RLIMIT_NOFILE (the file table cap)
    uint32_t ring_entries = kIoRingEntriesDefault;
    uint32_t send_slot_count = kIoSendSlotCountDefault;
    uint32_t recv_buffer_count = kIoRecvBufferCountDefault;
};

struct IoStats {
    uint64_t send_no_slot = 0;
    uint64_t udp_send_errors = 0;
    uint64_t udp_recv_no_buffers = 0;
    uint64_t stream_errors = 0;
    uint64_t connect_errors = 0;
    uint64_t nodelay_errors = 0;  // connections left with Nagle on (warned once per process)
    uint64_t partial_overflow = 0;
    uint64_t sq_full = 0;
};

class Io {
public:
    Io();
    ~Io();
    Io(const Io&) = delete;
    Io& operator=(const Io&) = delete;

    // `udp_fds`: sockets bound to 0.0.0.0:PORT with IP_PKTINFO on; the engine
    // owns them from here.
    absl::Status init(const IoConfig& config, IoHandler& handler, std::vector<int> udp_fds);

    IoConnectResult connect(uint32_t source_addr, const sockaddr_in& to, uint64_t user,
                            ConnRef* conn);
    IoSendResult send(ConnRef conn, std::string_view bytes);
    // Aborts the connection: no callback; the ref is stale on return.
    void close(ConnRef conn);
    uint32_t connection_count() const { return conn_in_use_; }

    IoSendResult send_datagram(uint32_t socket_index, uint32_t source_addr, const sockaddr_in& to,
                               std::string_view bytes);

    // Submits what is queued, waits for completions until `deadline` (no wait
    // when it has passed), runs the handler for each. Returns the time read
    // after the wait.
    Time poll(Time deadline);
    static Time clock_now();
    const IoStats& stats() const { return stats_; }

private:
    enum class OpKind : uint8_t {
        kSocket = 1, kBind, kConnect, kRecv, kSend, kClose, kCancel, kUdpRecv, kUdpSend,
        kNodelay,
    };
    struct Conn;
    struct SendSlot;
    struct UdpSocket;

    io_uring_sqe* get_sqe();
    static uint64_t pack(OpKind kind, uint32_t index, uint32_t generation);
    void dispatch(const io_uring_cqe& cqe, Time now);
    void on_connect_step(Conn& c, OpKind kind, int32_t result, Time now);
    void on_recv(Conn& c, int32_t result, uint32_t flags, Time now);
    void on_send(Conn& c, int32_t result, Time now);
    void arm_recv(Conn& c);
    void submit_send(Conn& c);
    void fail(Conn& c, IoCloseReason reason, Time now);
    void begin_close(Conn& c);
    void finish_close_if_idle(Conn& c);
    void free_conn(Conn& c);
    void deliver(Conn& c, std::string_view bytes, Time now);
    void arm_udp_recv(uint32_t socket_index);
    void on_udp_recv(uint32_t socket_index, int32_t result, uint32_t flags, Time now);
    uint32_t take_slot();
    void free_slot(uint32_t slot);

    IoHandler* handler_ = nullptr;
    io_uring ring_{};
    bool ring_ready_ = false;
    // net::internal::probe_tcp_nodelay() at init: connect() links a TCP_NODELAY.
    bool tcp_nodelay_supported_ = false;
    net::internal::BufferRing buffers_;
    uint32_t connection_count_max_ = 0;
    std::unique_ptr<Conn[]> conns_;
    std::vector<uint32_t> conn_free_;
    uint32_t conn_in_use_ = 0;
    std::unique_ptr<SendSlot[]> slots_;
    std::vector<uint32_t> slot_free_;
    std::vector<UdpSocket> udp_;
    std::vector<uint32_t> udp_rearm_;
    IoStats stats_;
};

}  // namespace fe::loadgen
