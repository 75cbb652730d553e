// The WebSocket stream path of net::Worker (see worker.h; RFC 6455 as RFC
// 7118 uses it for SIP): a connection accepted on a ws listener is a TCP
// connection like any other (same accept, direct descriptor, provided
// receive buffers, partial buffer, send queue, timers) whose received bytes
// go first through the opening handshake (ws::read_handshake(): the 101 is
// queued, or the refusal and a close) and then through its ws::FrameDecoder.
// Each whole text or binary message is one SIP message (RFC 7118 §5.1),
// handed to Handler::on_stream_message(); PING is answered with PONG, a
// CLOSE is answered and the connection closed, and a protocol error closes
// with the decoder's status code, counted. Sends get a server frame header
// (unmasked, text) in front: two parts, the SIP message is not copied before
// the send queue.
//
// The codec consumes whole frames only, so a partial frame waits in the
// connection's partial buffer exactly as a partial SIP message does on TCP,
// bounded by the same size and time limits; the decoder's message cap is
// tied to that buffer below. The handshake is bounded in bytes by the codec
// (ws::kHandshakeSizeMax, answered 400) and in time by the connection timer
// (ws_handshake_time_max), as TLS's handshake is.
//
// WSS: a connection accepted on a wss listener is a TLS connection first
// (net/worker_tls.cc); open_tls() starts the WebSocket handshake instead of
// opening it, the plaintext from deliver_tls() comes here through
// deliver_stream(), and sends go through send_raw() into the session.
#include <algorithm>
#include <array>
#include <optional>

#include "core/base/assert.h"
#include "core/ws/frame.h"
#include "core/ws/handshake.h"
#include "core/ws/limits.h"
#include "net/internal/worker_parts.h"
#include "net/worker.h"

namespace fe::net {

// A partial buffer must hold the largest frame the decoder accepts whole.
static_assert(kPartialMessageSizeMax > ws::kFrameHeaderSizeMax,
              "a WebSocket frame header and payload must fit a partial buffer");

void Worker::start_ws(Connection& c) {
    FE_ASSERT(c.state == Connection::State::kOpen);
    FE_ASSERT(!c.opened);
    FE_ASSERT(c.ws == nullptr);
    if (stopping_) {
        begin_close(c, CloseReason::kShutdown, CloseMode::kAbort);
        return;
    }
    begin_ws_handshake(c);
    arm_stream_recv(c);
}

// The Upgrade request may come: from accept on a ws listener, from the end
// of the TLS handshake on a wss one.
void Worker::begin_ws_handshake(Connection& c) {
    FE_ASSERT(c.ws == nullptr);
    // A whole frame must fit the partial buffer while it arrives, so the
    // message cap is the buffer less the largest header (and never above
    // the codec's own cap).
    const uint32_t message_size_max =
        std::min<uint32_t>(ws::kMessageSizeMax, config_.partial_message_size_max -
                                                    static_cast<uint32_t>(ws::kFrameHeaderSizeMax));
    c.ws = std::make_unique<WsState>(message_size_max);
    wheel_.arm(c.timer, now_ + config_.ws_handshake_time_max);
}

size_t Worker::consume_ws(Connection& c, std::string_view bytes) {
    FE_ASSERT(c.ws != nullptr);
    size_t used = 0;
    if (c.ws->handshaking) {
        used = consume_ws_handshake(c, bytes);
        if (c.state != Connection::State::kOpen || c.ws->handshaking) {
            return used;
        }
    }
    return used + consume_ws_frames(c, bytes.substr(used));
}

// The Upgrade request: nothing until it is whole (or refused from its first
// bytes); then the 101, and the handler hears of the connection, as kWs.
size_t Worker::consume_ws_handshake(Connection& c, std::string_view bytes) {
    std::array<char, ws::kHandshakeResponseSizeMax> response;
    const ws::HandshakeOptions options{.origins_allowed = ws_origins_};
    const ws::HandshakeResult r = ws::read_handshake(bytes, c.ws->scan, options, response);
    if (r.verdict == ws::HandshakeVerdict::kNeedMore) {
        return 0;
    }
    const std::string_view answer(response.data(), r.response_size);
    if (r.verdict == ws::HandshakeVerdict::kRefuse) {
        stats_.ws_handshakes_refused.add();
        (void)send_raw(c, std::span<const std::string_view>(&answer, 1), answer.size());
        begin_close(c, CloseReason::kWsProtocolError, CloseMode::kAfterSend);
        return bytes.size();
    }
    if (send_raw(c, std::span<const std::string_view>(&answer, 1), answer.size()) !=
        SendResult::kQueued) {
        begin_close(c, CloseReason::kSendQueueOverflow, CloseMode::kAbort);
        return bytes.size();
    }
    c.ws->handshaking = false;
    wheel_.cancel(c.timer);
    c.ws->last_received = now_;
    arm_ws_ping(c);  // the partial timer takes over while a frame is partial
    stats_.ws_handshakes_completed.add();
    c.opened = true;
    handler_->on_connection_open(*this, id_of(c), c.peer,
                                 c.tls != nullptr ? Transport::kWss : Transport::kWs, now_);
    if (c.state != Connection::State::kOpen) {
        return bytes.size();  // the handler closed it
    }
    return r.request_size;
}

// Frames, one event at a time. `bytes` are the worker's own (a provided
// receive buffer, a partial buffer, or the TLS plaintext scratch), which is
// what lets the decoder unmask payloads in place.
size_t Worker::consume_ws_frames(Connection& c, std::string_view bytes) {
    const std::span<uint8_t> all(reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data())),
                                 bytes.size());
    const ConnectionId id = id_of(c);
    c.ws->last_received = now_;  // any bytes answer a PING
    c.ws->ping_outstanding = false;
    size_t total = 0;
    while (c.state == Connection::State::kOpen) {
        // A fragmented message needs an assembly buffer: one is lent from
        // the partial pool for each call and kept only while a message is
        // open, so idle connections hold none. An exhausted pool lends an
        // empty span, and the decoder refuses fragments with 1009.
        if (c.ws->assembly == nullptr) {
            c.ws->assembly = take_partial_buffer();
        }
        const std::span<uint8_t> assembly =
            c.ws->assembly == nullptr
                ? std::span<uint8_t>()
                : std::span<uint8_t>(reinterpret_cast<uint8_t*>(c.ws->assembly),
                                     config_.partial_message_size_max);
        const ws::DecodeResult r = c.ws->decoder.decode(all.subspan(total), assembly);
        FE_ASSERT(r.consumed <= all.size() - total);
        total += r.consumed;
        switch (r.kind) {
            case ws::EventKind::kNeedMore:
                if (!c.ws->decoder.assembling()) {
                    release_ws_assembly(c);
                }
                return total;
            case ws::EventKind::kMessage:
                stats_.ws_messages_received.add();
                handler_->on_stream_message(*this, id, ws::as_chars(r.payload), now_);
                break;
            case ws::EventKind::kPing: {
                // RFC 6455 §5.5.2: a pong with the ping's payload, at once.
                std::array<uint8_t, ws::kControlFrameSizeMax> frame;
                const size_t size =
                    ws::write_control_frame(ws::Opcode::kPong, r.payload, std::nullopt, frame);
                const std::string_view pong(reinterpret_cast<const char*>(frame.data()), size);
                if (send_raw(c, std::span<const std::string_view>(&pong, 1), size) ==
                    SendResult::kQueued) {
                    stats_.ws_pings_answered.add();
                }
                break;
            }
            case ws::EventKind::kPong:
                break;  // TODO(wst): PING idle flows and close those that stop answering.
            case ws::EventKind::kClose:
                stats_.ws_closes_received.add();
                close_ws(c, r.close_code, CloseReason::kWsClosed);
                return bytes.size();
            case ws::EventKind::kError:
                stats_.ws_protocol_errors.add();
                close_ws(c, r.close_code, CloseReason::kWsProtocolError);
                return bytes.size();
        }
        if (c.ws != nullptr && !c.ws->decoder.assembling()) {
            release_ws_assembly(c);  // after the handler: the message may have been in it
        }
    }
    return total;
}

// Queues a close frame with `code` (the peer's echoed, RFC 6455 §5.5.1; an
// empty one for 1005) and closes after it is sent.
void Worker::close_ws(Connection& c, uint16_t code, CloseReason reason) {
    if (!c.ws->close_sent) {
        c.ws->close_sent = true;
        std::array<uint8_t, ws::kControlFrameSizeMax> frame;
        const size_t size = ws::write_close_frame(code, "", std::nullopt, frame);
        const std::string_view close(reinterpret_cast<const char*>(frame.data()), size);
        (void)send_raw(c, std::span<const std::string_view>(&close, 1), size);
    }
    begin_close(c, reason, CloseMode::kAfterSend);
}

// send_stream() on a WebSocket connection: one call is one SIP message, one
// unfragmented text frame (RFC 7118 §5.1) whose header goes in front of the
// caller's parts.
// TODO(wst): a message with a body that is not UTF-8 should go as a binary
// frame (RFC 7118 §5.1 "SHOULD"); today every message is text.
SendResult Worker::send_ws(Connection& c, std::span<const std::string_view> parts, size_t size) {
    if (c.ws->handshaking || c.ws->close_sent) {
        return SendResult::kClosing;
    }
    std::array<uint8_t, ws::kFrameHeaderSizeMax> header;
    const size_t header_size =
        ws::write_frame_header({.opcode = ws::Opcode::kText, .payload_size = size}, header);
    std::array<std::string_view, kSendPartCountMax + 1> framed;
    FE_ASSERT(parts.size() <= kSendPartCountMax);
    framed[0] = std::string_view(reinterpret_cast<const char*>(header.data()), header_size);
    std::copy(parts.begin(), parts.end(), framed.begin() + 1);
    return send_raw(c, std::span<const std::string_view>(framed.data(), parts.size() + 1),
                    size + header_size);
}

// The connection timer of an open WebSocket with no partial frame: the idle
// PING's deadline (0 interval: no PINGs).
void Worker::arm_ws_ping(Connection& c) {
    if (config_.ws_ping_interval <= Duration::zero() || c.ws->close_sent) {
        return;
    }
    const Time base = c.ws->ping_outstanding ? now_ : c.ws->last_received;
    wheel_.arm(c.timer, std::max(base + config_.ws_ping_interval, now_));
}

// Idle for ws_ping_interval: a PING, or, when the last one is unanswered,
// the close (1001, going away). Bytes received since re-arm the deadline.
void Worker::on_ws_ping_timer(Connection& c) {
    if (c.ws->ping_outstanding) {
        stats_.ws_ping_timeouts.add();
        close_ws(c, static_cast<uint16_t>(ws::CloseCode::kGoingAway),
                 CloseReason::kWsPingTimeout);
        return;
    }
    if (now_ - c.ws->last_received < config_.ws_ping_interval) {
        arm_ws_ping(c);  // something arrived since the timer was armed
        return;
    }
    std::array<uint8_t, ws::kControlFrameSizeMax> frame;
    const size_t size = ws::write_control_frame(ws::Opcode::kPing, {}, std::nullopt, frame);
    const std::string_view ping(reinterpret_cast<const char*>(frame.data()), size);
    if (send_raw(c, std::span<const std::string_view>(&ping, 1), size) != SendResult::kQueued) {
        return;  // closing (a full queue closes)
    }
    stats_.ws_pings_sent.add();
    c.ws->ping_outstanding = true;
    arm_ws_ping(c);
}

void Worker::release_ws_assembly(Connection& c) {
    if (c.ws == nullptr || c.ws->assembly == nullptr) {
        return;
    }
    partial_free_.push_back(c.ws->assembly);
    c.ws->assembly = nullptr;
}

}  // namespace fe::net
