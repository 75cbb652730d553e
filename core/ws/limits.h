// File: core/ws/limits.h
//
// Named limits of the WebSocket codec (RFC 6455 as RFC 7118 uses it for SIP),
// each with its reason. The handshake reader and the frame decoder refuse
// input beyond these with the HTTP status or close code RFC 6455 asks for,
// never by growing. Time limits belong to the transport and live in
// net/limits.h (core/ has no clock): how long a handshake may take, how long a
// partial frame may sit unconsumed, and how long a fragmented message may stay
// open. The last one matters: a peer sending empty continuation frames keeps
// a message, and so the connection's assembly buffer, open at no cost to
// itself, and only a clock can end that.
//
//   std::array<char, fe::ws::kHandshakeResponseSizeMax> response;  // always enough
//   std::array<uint8_t, fe::ws::kFrameHeaderSizeMax> header;       // any frame header
#pragma once

#include <cstddef>
#include <cstdint>

namespace fe::ws {

// Bytes of an HTTP Upgrade request, request line to the blank line inclusive.
// Browsers send 400-700 bytes (a long Origin, cookies for the page's domain,
// Sec-WebSocket-Extensions); 8 KiB is the common default of HTTP servers
// (nginx large_client_header_buffers, Kamailio's tcp buffer) and bounds what an
// unauthenticated peer can make a worker hold before it has said anything SIP.
inline constexpr uint32_t kHandshakeSizeMax = 8 * 1024;

// Header lines in the Upgrade request. A browser sends 10-20; 64 leaves room
// for proxies that add X-Forwarded-* and bounds the work per request.
inline constexpr uint32_t kHandshakeHeaderCountMax = 64;

// Bytes of any response the server side writes (101, 400, 403, 426). The 101
// is the largest: ~160 bytes with a 28-character Sec-WebSocket-Accept.
inline constexpr size_t kHandshakeResponseSizeMax = 256;

// Bytes of the Upgrade request the client side writes: request line, Host,
// Origin, fixed headers and the key. Host and Origin are capped below.
inline constexpr size_t kHandshakeRequestSizeMax = 1024;
inline constexpr size_t kHandshakeHostSizeMax = 255;    // a DNS name or [IPv6]:port
inline constexpr size_t kHandshakeTargetSizeMax = 255;  // "/" or a short path

// Payload bytes of one WebSocket message (all fragments together). RFC 7118
// §5.1 puts exactly one SIP message in one WebSocket message, so this is the
// SIP layer's own cap (fe::sip::kMessageSizeMax, 64 KiB: a REGISTER is ~600 B,
// an INVITE with SDP 1-3 KiB). A bigger message is closed with 1009.
inline constexpr uint32_t kMessageSizeMax = 64 * 1024;

// RFC 6455 §5.5: control frames (close, ping, pong) carry at most 125 bytes
// and are never fragmented.
inline constexpr uint32_t kControlPayloadSizeMax = 125;

// A close payload is a 2-byte status code and a UTF-8 reason (RFC 6455 §5.5.1).
inline constexpr uint32_t kCloseReasonSizeMax = kControlPayloadSizeMax - 2;

// Largest frame header: 2 bytes, a 64-bit extended length, a 4-byte mask key.
inline constexpr size_t kFrameHeaderSizeMax = 2 + 8 + 4;

// A whole control frame as write_control_frame() builds it.
inline constexpr size_t kControlFrameSizeMax = 2 + 4 + kControlPayloadSizeMax;

// Bytes a connection must be able to hold unconsumed: the decoder only
// consumes whole frames, and the largest frame it does not refuse from its
// header alone is an unfragmented message of kMessageSizeMax.
inline constexpr size_t kFrameSizeMax = kFrameHeaderSizeMax + kMessageSizeMax;

static_assert(kHandshakeRequestSizeMax <= kHandshakeSizeMax, "our own request must be readable");
static_assert(kControlFrameSizeMax <= kFrameSizeMax, "a control frame is a frame");

}  // namespace fe::ws
