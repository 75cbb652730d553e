// File: core/token/flow_token.h
//
// Flow tokens (RFC 5626 §5.2, DESIGN.md "Flow tokens"): the edge puts one in
// the user part of its Path / Record-Route URI (sip:TOKEN@edge;lr;ob) and gets
// it back in the Route of requests for the flow. A token names exactly one
// flow incarnation (the generation changes when a slot is reused, OB-EDGE-04)
// and carries a truncated HMAC-SHA-256, so nobody without the cluster key can
// make or alter one (OB-EDGE-08, OB-SEC-04). Any node with the key ring
// verifies any node's token. No allocation; verify costs two SHA-256 blocks.
//
//   std::array<char, fe::token::kTokenTextSizeMax> buf;
//   fe::token::MintResult m = fe::token::mint(ring, fields, buf);
//   if (m.status != fe::token::MintStatus::kOk) { reject_register(); }  // OB-EDGE-03
//   std::string_view token(buf.data(), m.size);
//   ...
//   fe::token::VerifyResult v = fe::token::verify(ring, route_user_part);
//   if (v.status != fe::token::VerifyStatus::kOk) { answer(403); }       // OB-EDGE-14
//
// Layout (big-endian), then MAC = HMAC-SHA-256(key, layout)[0..12), then the
// text is base64url without padding of layout || MAC:
//
//   offset size  field
//   0      1     version            kTokenVersion (1)
//   1      1     key id             selects the key in the KeyRing
//   2      1     transport          fe::Transport value: 1 UDP, 2 TCP, 3 TLS, 4 WS, 5 WSS
//   3      1     worker index       owning worker on the node
//   4      2     node id            owning node in the cluster
//   6      4     slot               flow-table slot on that worker
//   10     4     generation         bumped each time the slot is reused
//   --- UDP only: the 5-tuple half the node cannot recover from a slot ---
//   14     1     family             4 or 6
//   15     4|16  remote address     the UA's (NAT's) address
//   19|31  2     remote port        never 0
//   21|33  2     local socket index which of our UDP sockets received the flow
//   --- all ---
//   14|23|35 12  MAC
//
//   TCP/TLS/WS/WSS: 26 bytes -> 35 characters; UDP IPv4: 35 -> 47; UDP IPv6: 47 -> 63.
//
// The token text uses only A-Z a-z 0-9 - _, all "unreserved" in RFC 3261's
// user part grammar, so it needs no escaping in a SIP URI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/token/key_ring.h"
#include "core/token/limits.h"

namespace fe::token {

inline constexpr uint8_t kTokenVersion = 1;

// What a token names. For stream transports `remote` is empty and
// `local_socket_index` is 0: the slot and generation identify the connection.
struct Fields {
    uint16_t node_id = 0;
    uint8_t worker_index = 0;
    uint32_t slot = 0;
    uint32_t generation = 0;
    Transport transport = Transport::kTcp;
    Endpoint remote;                  // UDP only: v4 or v6, port != 0
    uint16_t local_socket_index = 0;  // UDP only

    friend bool operator==(const Fields&, const Fields&) = default;
};

enum class MintStatus : uint8_t {
    kOk,
    kNoKey,  // the ring is empty: the REGISTER must be rejected (OB-EDGE-03)
};

struct [[nodiscard]] MintResult {
    MintStatus status = MintStatus::kNoKey;
    size_t size = 0;  // characters written to `out` when kOk
};

// Encodes `fields` with the ring's current key into `out` (at least
// kTokenTextSizeMax characters). Fields that break the rules above are a
// programmer error and assert.
MintResult mint(const KeyRing& ring, const Fields& fields, std::span<char> out);

enum class VerifyStatus : uint8_t {
    kOk,
    kMalformed,   // cannot be a token we minted; VerifyResult::defect says why
    kUnknownKey,  // well-formed, but the key id is unknown or retired
    kBadMac,      // well-formed, known key, MAC does not match: forged or altered
};

// Why a text is kMalformed; kNone for the other statuses.
enum class Defect : uint8_t {
    kNone,
    kBadLength,     // text length is not one mint() produces
    kBadCharacter,  // outside A-Z a-z 0-9 - _
    kNonCanonical,  // base64url with nonzero unused bits
    kBadVersion,    // version byte is not kTokenVersion
    kBadTransport,  // transport byte is not a known fe::Transport
    kBadFamily,     // UDP family byte is not 4 or 6
    kSizeMismatch,  // byte count does not match transport and family
    kBadPort,       // UDP remote port 0
};

struct [[nodiscard]] VerifyResult {
    VerifyStatus status = VerifyStatus::kMalformed;
    Defect defect = Defect::kNone;
    uint8_t key_id = 0;  // set from kUnknownKey on
    Fields fields;       // meaningful only for kOk
};

// Checks a token text (the user part, unescaped) in constant time with respect
// to the MAC. Never asserts on input.
VerifyResult verify(const KeyRing& ring, std::string_view text);

std::string_view verify_status_name(VerifyStatus status);
std::string_view defect_name(Defect defect);

}  // namespace fe::token
