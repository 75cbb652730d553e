// The TLS stream path of net::Worker (see worker.h): a connection accepted on
// a TLS listener is a TCP connection like any other (same accept, direct
// descriptor, provided receive buffers, send queue, timers) whose received
// ciphertext goes through its tls::TlsSession before deliver_stream() frames
// it, and whose sends are encrypted into the send queue. Nothing here blocks
// or makes a system call: the session works on memory (ARCHITECTURE.md 24).
//
// The handshake is bounded in time (the connection timer, until open_tls())
// and in number per worker: past tls_handshakes_in_flight_max a connection
// waits unread for its turn and the TLS listener's accepts are parked, so a
// storm of new connections waits in the kernel's backlog instead of taking
// the worker's CPU (and its connection slots) from established flows.
#include <algorithm>
#include <optional>

#include "absl/status/statusor.h"
#include "core/base/assert.h"
#include "net/internal/worker_parts.h"
#include "net/tls/tls_context.h"
#include "net/worker.h"

namespace fe::net {
namespace {

// Ciphertext one write() of `size` plaintext bytes may produce: records of
// up to kTlsRecordPlaintextSizeMax, each with its header, explicit nonce and
// tag (22 bytes for TLS 1.3, 29 for TLS 1.2 AES-GCM; 64 bounds both).
constexpr size_t kTlsRecordSealOverheadMax = 64;

size_t ciphertext_size_max(size_t size) {
    const size_t records =
        std::max<size_t>(1, (size + tls::kTlsRecordPlaintextSizeMax - 1) /
                                tls::kTlsRecordPlaintextSizeMax);
    return size + records * kTlsRecordSealOverheadMax;
}

}  // namespace

// An accept of a TLS listener just completed: while the handshakes running
// and waiting reach the limit, the slot is not re-armed (true) until one
// ends, so further connections wait in the kernel's backlog.
bool Worker::tls_accept_parked(AcceptSlot& slot) {
    if (tls_handshakes_in_flight_ + tls_waiting_.size() + 1 <
        config_.tls_handshakes_in_flight_max) {
        return false;
    }
    stats_.tls_accepts_parked.add();
    tls_parked_accepts_.push_back(slot.op.index);
    return true;
}

void Worker::start_tls(Connection& c, uint32_t listener_index) {
    FE_ASSERT(c.state == Connection::State::kOpen);
    FE_ASSERT(!c.opened);
    FE_ASSERT(c.tls == nullptr);
    if (stopping_) {
        begin_close(c, CloseReason::kShutdown, CloseMode::kAbort);
        return;
    }
    c.tls = tls::TlsSession::accept(*listen_tls_[listener_index]);
    if (tls_handshakes_in_flight_ >= config_.tls_handshakes_in_flight_max) {
        // An accept that was in the kernel when the limit was reached: its
        // ClientHello waits in the socket until a handshake ends.
        stats_.tls_handshakes_deferred.add();
        c.tls_waiting = true;
        tls_waiting_.push_back(id_of(c));
        return;
    }
    begin_tls_handshake(c);
}

void Worker::begin_tls_handshake(Connection& c) {
    FE_ASSERT(!c.tls_handshaking);
    c.tls_waiting = false;
    c.tls_handshaking = true;
    c.tls_counted = true;
    ++tls_handshakes_in_flight_;
    wheel_.arm(c.timer, now_ + config_.tls_handshake_time_max);
    arm_stream_recv(c);
}

// The handshake is over (completed, failed, or the connection closes): the
// next waiting connection starts its handshake, and parked accepts go again.
void Worker::end_tls_handshake(Connection& c) {
    c.tls_waiting = false;  // its id in tls_waiting_ is stale once the close starts
    if (!c.tls_handshaking) {
        return;
    }
    c.tls_handshaking = false;
    wheel_.cancel(c.timer);
    if (!c.tls_counted) {
        return;  // an outbound handshake
    }
    c.tls_counted = false;
    FE_ASSERT(tls_handshakes_in_flight_ > 0);
    --tls_handshakes_in_flight_;
    while (!stopping_ && !tls_waiting_.empty() &&
           tls_handshakes_in_flight_ < config_.tls_handshakes_in_flight_max) {
        Connection* next = find(tls_waiting_.front());
        tls_waiting_.pop_front();
        if (next != nullptr && next->tls_waiting && next->state == Connection::State::kOpen) {
            begin_tls_handshake(*next);
        }
    }
    while (!stopping_ && !tls_parked_accepts_.empty() &&
           tls_handshakes_in_flight_ + tls_waiting_.size() < config_.tls_handshakes_in_flight_max) {
        const uint32_t slot_index = tls_parked_accepts_.back();
        tls_parked_accepts_.pop_back();
        arm_accept(accept_slots_[slot_index]);
    }
}

ConnectResult Worker::connect_tls(const Endpoint& to, const tls::TlsContext& context,
                                  std::string_view peer_host, ConnectionId* connection) {
    // The context's first certificate, if it has one, for a server that
    // asks (mutual TLS between proxies).
    const std::optional<size_t> identity =
        context.identity_count() > 0 ? std::optional<size_t>(0) : std::nullopt;
    absl::StatusOr<std::unique_ptr<tls::TlsSession>> session =
        tls::TlsSession::connect(context, {.peer_host = peer_host, .identity_index = identity});
    if (!session.ok()) {
        return ConnectResult::kTlsRefused;
    }
    // The ClientHello (one chunk) must find room once the slot is taken.
    if (chunk_free_.empty() && chunk_storage_.size() >= config_.send_chunk_count_max) {
        stats_.send_chunk_exhausted.add();
        return ConnectResult::kBusy;
    }
    const ConnectResult result = connect(to, connection);
    if (result != ConnectResult::kStarted) {
        return result;
    }
    if (tls_plaintext_ == nullptr) {
        // A worker without a TLS listener makes its scratch on first dial.
        tls_plaintext_ = std::make_unique<char[]>(tls::kTlsRecordPlaintextSizeMax);
    }
    Connection& c = connections_[connection->index];
    c.tls = std::move(*session);
    const std::string_view hello = c.tls->take_output();
    FE_ASSERT(hello.size() <= kSendChunkSize);
    const bool reserved = reserve_chunks(c, hello.size());
    FE_ASSERT(reserved);
    append_send(c, hello);  // sent by on_connect() once the TCP connect completes
    return ConnectResult::kStarted;
}

// The TCP connect of connect_tls() completed: the handshake runs (bounded by
// the connection timer) and the ClientHello goes out.
void Worker::on_tls_connect(Connection& c) {
    FE_ASSERT(c.tls != nullptr);
    FE_ASSERT(c.state == Connection::State::kOpen);
    c.tls_handshaking = true;
    wheel_.arm(c.timer, now_ + config_.tls_handshake_time_max);
    arm_stream_recv(c);
    if (c.send_queue_size > 0) {
        schedule_send(c);
    }
}

const tls::TlsSession* Worker::tls_session(ConnectionId id) const {
    if (id.index >= connection_count_max_) {
        return nullptr;
    }
    const Connection& c = connections_[id.index];
    if (c.generation != id.generation || c.state != Connection::State::kOpen ||
        c.tls_handshaking || c.tls_waiting) {
        return nullptr;
    }
    return c.tls.get();
}

// Ciphertext received on a TLS connection: decrypted one record at a time
// into tls_plaintext_ and delivered as plain stream bytes. Whatever the
// session wants sent (handshake flights, alerts, KeyUpdate answers) is
// queued after every feed().
void Worker::deliver_tls(Connection& c, std::string_view ciphertext) {
    FE_ASSERT(c.tls != nullptr);
    FE_ASSERT(tls_plaintext_ != nullptr);
    const std::span<char> plaintext(tls_plaintext_.get(), tls::kTlsRecordPlaintextSizeMax);
    while (c.state == Connection::State::kOpen) {
        const tls::FeedResult r = c.tls->feed(ciphertext, plaintext);
        FE_ASSERT(r.consumed <= ciphertext.size());
        ciphertext.remove_prefix(r.consumed);
        if (!flush_tls(c)) {
            return;
        }
        if (r.handshake_completed && !open_tls(c)) {
            return;
        }
        if (r.plaintext_size > 0) {
            deliver_stream(c, std::string_view(plaintext.data(), r.plaintext_size));
            if (c.state != Connection::State::kOpen) {
                return;
            }
        }
        if (r.state == tls::TlsState::kFailed) {
            fail_tls(c);
            return;
        }
        if (r.state == tls::TlsState::kClosed) {
            // The peer's close_notify: answered with ours, then closed
            // (RFC 5923 §8.3 asks for the orderly close).
            begin_close(c, CloseReason::kPeerClosed, CloseMode::kAfterSend);
            return;
        }
        if (ciphertext.empty() || (r.consumed == 0 && r.plaintext_size == 0)) {
            return;
        }
    }
}

// The handshake completed: the handler hears of the connection now, as
// kTls (an outbound one's opened was set by connect()). False when the
// handler closed it.
bool Worker::open_tls(Connection& c) {
    end_tls_handshake(c);
    stats_.tls_handshakes_completed.add();
    if (c.tls->resumed()) {
        stats_.tls_handshakes_resumed.add();
    }
    if (c.wss) {
        begin_ws_handshake(c);  // the receive is armed already
        return true;
    }
    c.opened = true;
    handler_->on_connection_open(*this, id_of(c), c.peer, Transport::kTls, now_);
    return c.state == Connection::State::kOpen;
}

// Moves the session's output to the send queue. The session's sequence
// numbers already counted it, so it cannot be dropped: a queue that cannot
// take it closes the connection (false).
bool Worker::flush_tls(Connection& c) {
    if (!c.tls->has_output()) {
        return true;
    }
    const std::string_view out = c.tls->take_output();
    if (c.send_queue_size + out.size() > config_.send_queue_size_max) {
        stats_.send_queue_overflows.add();
        begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
        return false;
    }
    if (!reserve_chunks(c, out.size())) {
        stats_.send_chunk_exhausted.add();
        begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
        return false;
    }
    append_send(c, out);
    schedule_send(c);
    return true;
}

// The session failed: its alert is already queued by flush_tls(); send it
// and close. Counted by phase (the handshake, or a bad record later).
void Worker::fail_tls(Connection& c) {
    last_tls_failure_ = c.tls->describe_failure();
    if (c.tls_handshaking) {
        stats_.tls_handshakes_failed.add();
    } else {
        stats_.tls_errors.add();
    }
    begin_close(c, CloseReason::kTlsFailed, CloseMode::kAfterSend);
}

// send_stream() on a TLS connection: `size` plaintext bytes encrypted into
// the send queue. Room is reserved for the largest ciphertext first, so a
// refusal leaves the session untouched.
SendResult Worker::send_tls(Connection& c, std::span<const std::string_view> parts, size_t size) {
    const size_t bound = ciphertext_size_max(size);
    if (c.send_queue_size + bound > config_.send_queue_size_max) {
        stats_.send_queue_overflows.add();
        begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
        return SendResult::kQueueFull;
    }
    if (!reserve_chunks(c, bound)) {
        stats_.send_chunk_exhausted.add();
        return SendResult::kBusy;
    }
    switch (c.tls->write(parts)) {
        case tls::WriteResult::kQueued: break;
        case tls::WriteResult::kFull:
            stats_.send_queue_overflows.add();
            begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
            return SendResult::kQueueFull;
        case tls::WriteResult::kNotOpen: return SendResult::kClosing;
    }
    const std::string_view out = c.tls->take_output();
    if (out.size() > bound) {
        FE_BUG(true, "TLS output larger than its bound");
        begin_close(c, CloseReason::kTlsFailed, CloseMode::kAbort);
        return SendResult::kClosing;
    }
    append_send(c, out);
    if (c.state == Connection::State::kOpen) {
        schedule_send(c);
    }
    return SendResult::kQueued;
}

// A close that flushes says goodbye with close_notify (RFC 5923 §8.3, CR-32)
// when the session is open; best effort: a full queue goes without it.
void Worker::close_notify_tls(Connection& c) {
    const tls::TlsState state = c.tls->state();
    if (state != tls::TlsState::kOpen && state != tls::TlsState::kClosed) {
        return;
    }
    c.tls->close();
    if (!c.tls->has_output()) {
        return;
    }
    const std::string_view out = c.tls->take_output();
    if (c.send_queue_size + out.size() <= config_.send_queue_size_max &&
        reserve_chunks(c, out.size())) {
        append_send(c, out);
    }
}

}  // namespace fe::net
