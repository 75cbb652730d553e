// File: core/ws/frame.h
//
// WebSocket framing (RFC 6455 §5) for SIP over WebSocket (RFC 7118): a
// decoder that turns received bytes into events, and an encoder of frame
// headers so that a SIP message goes out as two iovecs (header, message)
// without a copy.
//
// Decoding. One FrameDecoder per connection. decode() looks at the
// connection's unconsumed bytes and returns one event and how many bytes it
// consumed. It consumes whole frames only, so a partial frame stays in the
// caller's buffer (at most kFrameSizeMax bytes; anything larger is refused from
// its header alone). Payloads are unmasked in place in `bytes`, which is why
// they are mutable. An unfragmented message (what every browser sends) is
// delivered as a view into `bytes`; the fragments of a fragmented message are
// unmasked and appended to a caller-provided `assembly` buffer, and the
// message is a view into it. Nothing is allocated.
//
//   fe::ws::FrameDecoder decoder(fe::ws::Role::kServer);   // per connection
//   for (;;) {
//       fe::ws::DecodeResult r = decoder.decode(unconsumed, assembly);
//       ... handle r (views valid until the consumed bytes are dropped) ...
//       unconsumed = unconsumed.subspan(r.consumed);
//       if (r.kind == fe::ws::EventKind::kNeedMore) break;            // recv more
//       if (r.kind == fe::ws::EventKind::kMessage) handle_sip(as_chars(r.payload));
//       if (r.kind == fe::ws::EventKind::kPing) send_pong(r.payload);
//       if (r.kind == fe::ws::EventKind::kClose) { send_close(r.close_code); break; }
//       if (r.kind == fe::ws::EventKind::kError) { send_close(r.close_code); close(); break; }
//   }
//
// Wire format (RFC 6455 §5.2), big-endian:
//
//   byte 0: FIN(1) RSV1(1) RSV2(1) RSV3(1) opcode(4)
//   byte 1: MASK(1) length(7)   length 0..125: that many bytes
//                               126: a 2-byte length follows
//                               127: an 8-byte length follows (MSB must be 0)
//   then:   extended length (0, 2 or 8 bytes)
//           mask key (4 bytes, present iff MASK): payload[i] ^= key[i % 4]
//           payload
//
// Client-to-server frames are masked, server-to-client frames are not (§5.1).
// Non-minimal length encodings are legal and accepted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/ws/internal/utf8.h"
#include "core/ws/limits.h"

namespace fe::ws {

enum class Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

// Status codes of a close frame (RFC 6455 §7.4.1) that this code sends or
// names. A peer may send others (3000-4999, registered ones); they arrive as
// a plain uint16_t.
enum class CloseCode : uint16_t {
    kNormal = 1000,
    kGoingAway = 1001,
    kProtocolError = 1002,
    kUnsupportedData = 1003,
    kNoStatus = 1005,  // Never sent: a close frame without a code.
    kInvalidPayload = 1007,
    kPolicyViolation = 1008,
    kMessageTooBig = 1009,
    kInternalError = 1011,
};

// Which end of the connection we are. A server requires masked frames and a
// client unmasked ones (RFC 6455 §5.1: either way, failure is 1002).
enum class Role : uint8_t { kServer, kClient };

enum class MessageType : uint8_t { kText, kBinary };

enum class EventKind : uint8_t {
    kNeedMore,  // No whole frame left that yields an event; `consumed` may
                // still be > 0 (fragments moved into the assembly buffer).
    kMessage,   // A whole data message (RFC 7118 §5.1: one SIP message).
    kPing,      // Answer with a pong carrying `payload` (§5.5.2).
    kPong,      // Unsolicited or an answer to our ping (§5.5.3).
    kClose,     // Peer's close: `close_code` (1005 when none), `payload` is
                // the reason. Answer write_close_frame(close_code, "") (an
                // empty close for 1005, RFC 6455 §5.5.1 echo otherwise), then
                // close the TCP side. The decoder consumes and ignores
                // everything after it.
    kError,     // The peer broke RFC 6455: send a close with `close_code`
                // (1002, 1007 or 1009) and drop the connection. Sticky.
};

struct [[nodiscard]] DecodeResult {
    EventKind kind = EventKind::kNeedMore;
    MessageType message_type = MessageType::kText;  // kMessage only
    // Bytes of the input to drop before the next call. Payload views point
    // into those bytes (or into the assembly buffer) and stay valid until the
    // caller drops or overwrites them.
    uint32_t consumed = 0;
    std::span<const uint8_t> payload{};
    uint16_t close_code = 0;  // kClose: the peer's; kError: the one to send
};

inline std::string_view as_chars(std::span<const uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class FrameDecoder {
  public:
    // `message_size_max` caps a message's payload (1009 beyond it).
    explicit FrameDecoder(Role role, uint32_t message_size_max = kMessageSizeMax);

    // Decodes from the start of `bytes` (the connection's unconsumed bytes,
    // which it unmasks in place). `assembly` holds a fragmented message while
    // it is open: the caller passes the same buffer, contents untouched, until
    // that message is delivered; its size caps fragmented messages (1009
    // beyond it; an empty one refuses every fragmented message). Outside a
    // fragmented message it may be any buffer, or empty: a transport that
    // pools assembly buffers can lend one on every call and take it back
    // whenever assembling() is false afterwards, so only connections with a
    // fragmented message open hold one.
    DecodeResult decode(std::span<uint8_t> bytes, std::span<uint8_t> assembly);

    // True while a fragmented message is open, i.e. while `assembly` holds
    // part of it.
    bool assembling() const { return assembling_; }

  private:
    enum class State : uint8_t { kOpen, kClosed, kFailed };

    struct Header;
    DecodeResult fail(CloseCode code);
    DecodeResult on_frame(const Header& h, std::span<uint8_t> payload, std::span<uint8_t> assembly,
                          uint32_t consumed);
    DecodeResult on_data(const Header& h, std::span<uint8_t> payload, std::span<uint8_t> assembly,
                         uint32_t consumed);
    DecodeResult on_close(std::span<uint8_t> payload, uint32_t consumed);

    // Widest first: one decoder per WebSocket connection, 32 bytes (frame.cc
    // asserts it), and no buffer of its own.
    //
    // True from the first fragment of a message to its final one
    // (assembling_); then open_type_ is its type, assembled_size_ its bytes in
    // the assembly buffer at assembly_data_, and utf8_ (text only) the
    // validation state after them. False: assembled_size_ is 0.
    const uint8_t* assembly_data_ = nullptr;
    const uint32_t message_size_max_;
    uint32_t assembled_size_ = 0;
    // kFailed: the close code decode() keeps returning.
    CloseCode failure_ = CloseCode::kNormal;
    const Role role_;
    State state_ = State::kOpen;
    bool assembling_ = false;
    MessageType open_type_ = MessageType::kText;
    internal::Utf8State utf8_;
};

// Is this text message a CRLF keep-alive rather than a SIP message? RFC 7118
// has none, but some clients send RFC 5626 §4.4.1 keep-alives inside a text
// frame; the caller decides whether to answer.
enum class KeepAlive : uint8_t {
    kNone,  // Not a keep-alive: parse it as SIP.
    kPing,  // "\r\n\r\n": RFC 5626 would answer "\r\n".
    kPong,  // "\r\n".
};
KeepAlive classify_keepalive(std::span<const uint8_t> message);

// Encoding.
using MaskKey = std::array<uint8_t, 4>;

enum class FrameEnd : uint8_t { kFinal, kMoreFragments };

struct FrameSpec {
    Opcode opcode = Opcode::kText;
    uint64_t payload_size = 0;
    FrameEnd end = FrameEnd::kFinal;
    // Present for client frames (RFC 6455 §5.3: a fresh random key per frame,
    // chosen by the caller); the caller masks the payload with mask_payload().
    std::optional<MaskKey> mask{};
};

// Writes a frame header with the shortest length encoding; returns its size
// (2 to kFrameHeaderSizeMax). Control frames must be final and at most 125
// bytes (asserted: a programmer error).
size_t write_frame_header(const FrameSpec& spec, std::span<uint8_t, kFrameHeaderSizeMax> out);

// XORs `payload` with `key`, starting at key byte `offset % 4` (for payloads
// masked in pieces). Masking and unmasking are the same operation.
void mask_payload(std::span<uint8_t> payload, const MaskKey& key, uint64_t offset = 0);

// A whole control frame (ping, pong or close) with its payload copied in and
// masked when `mask` is given; returns its size.
size_t write_control_frame(Opcode opcode, std::span<const uint8_t> payload,
                           const std::optional<MaskKey>& mask,
                           std::span<uint8_t, kControlFrameSizeMax> out);

// A close frame with `code` and `reason` (valid UTF-8 of at most
// kCloseReasonSizeMax bytes, asserted). kNoStatus writes an empty close frame.
size_t write_close_frame(uint16_t code, std::string_view reason, const std::optional<MaskKey>& mask,
                         std::span<uint8_t, kControlFrameSizeMax> out);

}  // namespace fe::ws
