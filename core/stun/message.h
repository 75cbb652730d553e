// File: core/stun/message.h
//
// STUN (RFC 5389) message decoding, limited to what RFC 5626 §8 keep-alives
// need: demultiplexing from SIP on a shared UDP port, the header, a bounds-
// checked attribute walk, FINGERPRINT, XOR-MAPPED-ADDRESS, ERROR-CODE, and the
// list of unknown comprehension-required attributes for a 420 answer.
// Server answers are in core/stun/server.h, the client side in client.h.
//
//   if (fe::stun::looks_like_stun(datagram)) {          // else try SIP
//       fe::stun::Message msg;
//       if (fe::stun::parse(datagram, msg) != fe::stun::ParseError::kOk) {
//           return;                                      // RFC 5389 §7.3: discard
//       }
//       ... msg.type, msg.transaction_id, msg.unknown_attributes() ...
//   }
//
// Wire format (RFC 5389 §6, §15), all integers big-endian:
//
//   0      2      4              8                                 20
//   +------+------+--------------+---------------------------------+
//   | type |length| magic cookie | transaction id (96 bits)        |  header, 20 bytes
//   +------+------+--------------+---------------------------------+
//   | attr type 2 | value length 2 | value, padded to 4 bytes ...   |  repeated
//   +-------------+----------------+--------------------------------+
//
// `type` has its top two bits zero; `length` counts the bytes after the header
// and is a multiple of 4.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/stun/limits.h"

namespace fe::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;
inline constexpr size_t kHeaderSize = 20;
inline constexpr size_t kAttributeHeaderSize = 4;
inline constexpr size_t kTransactionIdSize = 12;
// RFC 5389 §15.5: the CRC-32 is XORed with this so that a STUN message inside
// another protocol's CRC-protected payload does not match by accident.
inline constexpr uint32_t kFingerprintXor = 0x5354554E;

using TransactionId = std::array<uint8_t, kTransactionIdSize>;

// Message types (method and class folded together, RFC 5389 §6). Only Binding
// exists in RFC 5389 and it is all RFC 5626 uses.
inline constexpr uint16_t kBindingRequest = 0x0001;
inline constexpr uint16_t kBindingIndication = 0x0011;
inline constexpr uint16_t kBindingSuccess = 0x0101;
inline constexpr uint16_t kBindingError = 0x0111;

// The 12-bit method without the two class bits (RFC 5389 §6, figure 3).
constexpr uint16_t message_method(uint16_t type) {
    return static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
inline constexpr uint16_t kMethodBinding = 0x001;

// Attribute types (RFC 5389 §18.2). Types below 0x8000 are comprehension-
// required: an agent that does not know one must not ignore it.
inline constexpr uint16_t kAttrMappedAddress = 0x0001;
inline constexpr uint16_t kAttrUsername = 0x0006;
inline constexpr uint16_t kAttrMessageIntegrity = 0x0008;
inline constexpr uint16_t kAttrErrorCode = 0x0009;
inline constexpr uint16_t kAttrUnknownAttributes = 0x000A;
inline constexpr uint16_t kAttrRealm = 0x0014;
inline constexpr uint16_t kAttrNonce = 0x0015;
inline constexpr uint16_t kAttrXorMappedAddress = 0x0020;
inline constexpr uint16_t kAttrSoftware = 0x8022;
inline constexpr uint16_t kAttrAlternateServer = 0x8023;
inline constexpr uint16_t kAttrFingerprint = 0x8028;

constexpr bool attribute_is_comprehension_required(uint16_t type) { return type < 0x8000; }

// Address family codes in (XOR-)MAPPED-ADDRESS (RFC 5389 §15.1).
inline constexpr uint8_t kFamilyV4 = 0x01;
inline constexpr uint8_t kFamilyV6 = 0x02;

// Whether a built message ends with FINGERPRINT (RFC 5389 §15.5). Our server
// adds it exactly when the request had one.
enum class FingerprintMode : uint8_t { kOmit, kAdd };

// Why a datagram is not a usable STUN message. Every value means "discard
// silently" (RFC 5389 §7.3); they differ only so that counters say why.
enum class ParseError : uint8_t {
    kOk = 0,
    kTooShort,                   // fewer than 20 bytes: no full header
    kBadLeadingBits,             // top two bits of the type are not 00 (SIP, SigComp)
    kBadMagicCookie,             // RFC 3489 STUN or not STUN at all (OB-STUN-09)
    kLengthNotAligned,           // header length is not a multiple of 4
    kLengthMismatch,             // header length + 20 differs from the datagram size
    kTooLarge,                   // well-formed header, but over kMessageSizeMax bytes
    kAttributeValueTruncated,    // an attribute's padded value runs past the end
    kFingerprintBadLength,       // FINGERPRINT value is not exactly 4 bytes
    kFingerprintNotLast,         // an attribute follows FINGERPRINT
    kFingerprintMismatch,        // CRC-32 does not match the message
    kXorMappedAddressBadLength,  // not 8 (IPv4) or 20 (IPv6) bytes for its family
    kXorMappedAddressBadFamily,  // family is neither 0x01 nor 0x02
    kErrorCodeBadLength,         // shorter than 4 bytes or reason over kErrorReasonSizeMax
    kErrorCodeBadValue,          // class outside 3..6 or number over 99
};

// "too_short", "bad_magic_cookie", ... for counters and logs.
std::string_view parse_error_name(ParseError error);

// A decoded message. Plain data; parse() fills every field.
struct Message {
    uint16_t type = 0;
    TransactionId transaction_id{};

    // FINGERPRINT was present (and, since parse() succeeded, correct and last).
    bool has_fingerprint = false;
    // MESSAGE-INTEGRITY was present. We run no credential mechanism (RFC 5626
    // §8 keep-alives are unauthenticated), so it is not checked; attributes
    // after it other than FINGERPRINT are ignored as RFC 5389 §15.4 says.
    bool has_message_integrity = false;

    // First XOR-MAPPED-ADDRESS, decoded (empty() when absent).
    Endpoint xor_mapped_address;

    // First ERROR-CODE: 300..699, or 0 when absent. The reason points into the
    // parsed datagram and is valid as long as that buffer is.
    uint16_t error_code = 0;
    std::string_view error_reason;

    // Distinct unknown comprehension-required attribute types, in order of
    // appearance, at most kUnknownAttributeCountMax of them.
    std::array<uint16_t, kUnknownAttributeCountMax> unknown_attribute_types{};
    uint8_t unknown_attribute_count = 0;

    std::span<const uint16_t> unknown_attributes() const {
        return {unknown_attribute_types.data(), unknown_attribute_count};
    }
};

// Cheap demultiplexing test for a datagram that arrived on a port shared with
// SIP (RFC 5626 §8 note, OB-STUN-04): top two bits 00, the magic cookie at
// offset 4, and a header length that is a multiple of 4 and accounts for
// exactly the rest of the datagram. SIP text can never pass (its first byte is
// a letter); RFC 3489 requests (no cookie) do not either and are dropped
// (OB-STUN-09). A datagram that passes may still fail parse().
bool looks_like_stun(std::span<const uint8_t> datagram);

// Decodes a whole datagram into `out`. kOk or the first defect found; on an
// error `out` is unspecified. Does not look at the method or class: that is
// the caller's decision (server.h answers Binding requests only).
[[nodiscard]] ParseError parse(std::span<const uint8_t> datagram, Message& out);

}  // namespace fe::stun
