// File: core/sip/framing.h
//
// Finding message boundaries before parsing (RFC 3261 §18.3, RFC 5626 §4.4.1).
//
// Streams (TCP, TLS, WS after de-framing): bytes arrive in arbitrary pieces.
// frame_stream() looks at the unconsumed bytes of a connection and says what
// the first thing is: a whole message (Content-Length is mandatory), a
// keep-alive ping (CRLF CRLF) or pong (CRLF), or that more bytes are needed.
// Bytes of a following message stay for the next call. A header block that
// cannot end within kMessageSizeMax is an error, not a wait.
//
//   fe::sip::StreamScan scan;   // per connection, survives kIncomplete
//   for (;;) {
//       fe::sip::FrameResult r = fe::sip::frame_stream(unconsumed, scan);
//       if (r.kind == fe::sip::FrameKind::kIncomplete) break;          // recv more
//       if (r.kind == fe::sip::FrameKind::kError) { close(r.error); break; }
//       if (r.kind == fe::sip::FrameKind::kPing) send("\r\n");        // OB-EDGE-17
//       if (r.kind == fe::sip::FrameKind::kMessage) handle(unconsumed.substr(0, r.size));
//       unconsumed.remove_prefix(r.size);
//   }
//
// Datagrams (UDP): one datagram is one message. frame_datagram() gives the
// message size (Content-Length bytes of body when present, else the rest) or
// kIgnore for a datagram of nothing but CR/LF, a stray stream keep-alive that
// RFC 5626 §4.4.1 forbids on UDP (OB-KA-05): no answer.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/sip/message.h"

namespace fe::sip {

enum class FrameKind : uint8_t {
    kMessage,     // `size` bytes are one message: parse them with Message::parse().
    kPing,        // CRLF CRLF between messages (4 bytes): answer one CRLF.
    kPong,        // One CRLF between messages (2 bytes): a pong, or a stray CRLF
                  // before a message (RFC 3261 §7.5: ignore it).
    kIncomplete,  // Need more bytes; nothing consumed.
    kError,       // `error` says why; close the connection / drop the datagram.
    kIgnore,      // Datagram only: CR/LF keep-alive on UDP, drop silently.
};

// Who pings on this connection. A lone CRLF at the end of the received bytes
// is the first half of a ping from a peer that pings us (wait for more), but a
// pong when we are the side that pings (RFC 5626 §4.4.1: the flow's client).
enum class KeepAliveRole : uint8_t {
    kResponder,  // The peer pings (the edge towards its UAs).
    kPinger,     // We ping (outbound client role, RFC 5923 reuse as client).
};

struct [[nodiscard]] FrameResult {
    FrameKind kind;
    uint32_t size;     // Bytes to consume; 0 for kIncomplete and kError.
    ParseError error;  // kOk unless kind == kError.
};

// Progress of frame_stream() through an incomplete message, so that a message
// arriving a few bytes at a time is scanned once, not once per segment (a
// slow sender cannot make us do quadratic work). Keep one per connection;
// frame_stream() resets it whenever it returns something other than
// kIncomplete. Only valid with the same unconsumed bytes (plus more appended).
struct StreamScan {
    uint32_t line_begin = 0;           // Next line start to examine (0: start line).
    uint32_t headers_size = 0;         // Start line to blank line inclusive; 0 until found.
    uint32_t content_length_line = 0;  // Offset of the Content-Length line; 0 if none yet.
    uint32_t message_size = 0;         // Once known: headers_size + Content-Length.
};

FrameResult frame_stream(std::string_view bytes, StreamScan& scan,
                         KeepAliveRole role = KeepAliveRole::kResponder);
// Stateless convenience: rescans from the start on every call.
FrameResult frame_stream(std::string_view bytes, KeepAliveRole role = KeepAliveRole::kResponder);

FrameResult frame_datagram(std::string_view bytes);

}  // namespace fe::sip
