// File: core/ws/handshake.h
//
// The WebSocket opening handshake (RFC 6455 §4) with the `sip` subprotocol
// (RFC 7118 §4), both sides, as pure functions over bytes.
//
// Server. read_handshake() looks at the bytes a new connection has sent so
// far and decides: need more, accept (with the exact 101 response to send),
// or refuse (with the 400/403/426 response to send, then close). It scans for
// the end of the request incrementally (a request arriving a byte at a time
// is scanned once) and refuses one that does not end within
// kHandshakeSizeMax, or that does not start like "GET ", at once.
//
//   fe::ws::HandshakeScan scan;                         // per connection
//   std::array<char, fe::ws::kHandshakeResponseSizeMax> response;
//   fe::ws::HandshakeResult r = fe::ws::read_handshake(received, scan, options, response);
//   if (r.verdict == fe::ws::HandshakeVerdict::kNeedMore) return;    // recv more
//   send({response.data(), r.response_size});
//   if (r.verdict == fe::ws::HandshakeVerdict::kRefuse) { close_after_send(); return; }
//   received.remove_prefix(r.request_size);            // the rest is frames
//
// Checks (RFC 6455 §4.2.1), in this order, each with its status:
//   request line "GET <target> HTTP/1.1", header syntax, header count  400
//   Host (exactly one)                                                 400
//   Upgrade lists "websocket", Connection lists "Upgrade"              400
//   Sec-WebSocket-Version is 13 (absent, other, or repeated)           426 with
//                                                 "Sec-WebSocket-Version: 13"
//   Sec-WebSocket-Key: one, base64 of 16 bytes                         400
//   Origin allowed by HandshakeOptions (browsers always send one)      403
//   Sec-WebSocket-Protocol offers "sip" (RFC 7118 §4)                  400
// Extensions (Sec-WebSocket-Extensions) are never agreed to: the 101 carries
// none, so every RSV bit stays an error in frame.h.
//
// Client (tests and node-to-node links): write_upgrade_request() builds the
// request for a caller-chosen random nonce; read_upgrade_response() checks the
// 101 (status, Upgrade, Connection, Sec-WebSocket-Accept, `sip`, no
// extension).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/ws/limits.h"

namespace fe::ws {

// The GUID of RFC 6455 §1.3, appended to the key before hashing.
inline constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
inline constexpr std::string_view kSubprotocol = "sip";  // RFC 7118 §4, §7

inline constexpr size_t kKeySize = 24;     // base64 of 16 bytes
inline constexpr size_t kAcceptSize = 28;  // base64 of a SHA-1 (20 bytes)
using Key = std::array<char, kKeySize>;
using Accept = std::array<char, kAcceptSize>;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
Accept accept_of(std::string_view key);

// A Sec-WebSocket-Key from 16 random bytes (RFC 6455 §4.1: a fresh nonce per
// connection, chosen by the caller, who owns randomness).
Key key_of(std::span<const uint8_t, 16> nonce);

// Which Origin values a server accepts. Browsers always send Origin (RFC 6455
// §4.1, RFC 6454 serialization such as "https://app.example.com"); native
// SIP stacks usually send none.
struct HandshakeOptions {
    // Origins accepted, compared ASCII case-insensitively. Empty: any.
    std::span<const std::string_view> origins_allowed{};
    // Whether a request without Origin passes when `origins_allowed` is not
    // empty (a non-browser client cannot be policed by Origin anyway).
    enum class Absent : uint8_t { kAllow, kRefuse } origin_absent = Absent::kAllow;
};

enum class HandshakeVerdict : uint8_t { kNeedMore, kAccept, kRefuse };

// Why a handshake was refused, for counters.
enum class HandshakeError : uint8_t {
    kNone,
    kTooLarge,             // no blank line within kHandshakeSizeMax
    kNotGet,               // method is not GET (known from the first bytes)
    kBadRequestLine,       // target or version malformed, or not HTTP/1.1
    kBadHeader,            // header syntax: no colon, space before it, folding, control bytes
    kTooManyHeaders,       // more than kHandshakeHeaderCountMax
    kBadHost,              // Host absent, empty or repeated
    kNoUpgrade,            // Upgrade does not list websocket
    kNoConnectionUpgrade,  // Connection does not list Upgrade
    kBadVersion,           // Sec-WebSocket-Version not exactly one 13 (426)
    kBadKey,               // Sec-WebSocket-Key absent, repeated or not 16 bytes
    kOriginRefused,        // 403
    kBadOrigin,            // Origin repeated
    kNoSip,                // Sec-WebSocket-Protocol does not offer "sip"
};

// The request's fields, views into the bytes given to read_handshake(),
// valid as long as those bytes are.
struct HandshakeRequest {
    std::string_view target{};  // "/" or the path the client asked for
    std::string_view host{};
    std::string_view origin{};  // empty when absent
    std::string_view key{};
};

struct [[nodiscard]] HandshakeResult {
    HandshakeVerdict verdict = HandshakeVerdict::kNeedMore;
    HandshakeError error = HandshakeError::kNone;
    uint16_t status = 0;         // 101, 400, 403 or 426; 0 with kNeedMore
    uint32_t request_size = 0;   // bytes up to the blank line, when it was found
    uint32_t response_size = 0;  // bytes written to `response`
    HandshakeRequest request{};  // filled as far as parsing got
};

// Progress through an incomplete request. One per connection, only valid with
// the same bytes (plus more appended); read_handshake() resets it when it
// returns anything but kNeedMore.
struct HandshakeScan {
    uint32_t scanned_size = 0;  // bytes already searched for the blank line
};

HandshakeResult read_handshake(std::string_view bytes, HandshakeScan& scan,
                               const HandshakeOptions& options,
                               std::span<char, kHandshakeResponseSizeMax> response);

// Client side.

struct UpgradeRequestSpec {
    std::string_view host{};  // Host header: "edge.example.com" or "192.0.2.1:8080"
    std::string_view target = "/";
    std::string_view origin{};  // empty: no Origin header
    std::string_view key{};     // from key_of()
};

// Writes the Upgrade request; returns its size, or 0 when a field is empty,
// too long (kHandshakeHostSizeMax, kHandshakeTargetSizeMax) or holds CR/LF.
size_t write_upgrade_request(const UpgradeRequestSpec& spec,
                             std::span<char, kHandshakeRequestSizeMax> out);

enum class UpgradeError : uint8_t {
    kNone,
    kTooLarge,       // no blank line within kHandshakeSizeMax
    kBadStatusLine,  // not "HTTP/1.1 NNN reason"
    kNotSwitching,   // a status other than 101 (see `status`)
    kBadHeader,      // header syntax or count
    kNoUpgrade,      // Upgrade is not websocket
    kNoConnectionUpgrade,
    kBadAccept,  // Sec-WebSocket-Accept absent, repeated or wrong
    kNoSip,      // the server did not select "sip" (RFC 7118 §4)
    kExtension,  // the server selected an extension we did not offer
};

struct [[nodiscard]] UpgradeResult {
    HandshakeVerdict verdict = HandshakeVerdict::kNeedMore;  // kAccept or kRefuse when done
    UpgradeError error = UpgradeError::kNone;
    uint16_t status = 0;         // the server's status code, once read
    uint32_t response_size = 0;  // bytes up to the blank line; frames follow
};

// Reads the server's answer to a request sent with `key`.
UpgradeResult read_upgrade_response(std::string_view bytes, HandshakeScan& scan,
                                    std::string_view key);

}  // namespace fe::ws
