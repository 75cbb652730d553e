// File: core/stun/limits.h
//
// Named limits of the STUN keep-alive codec (RFC 5389 as RFC 5626 §8 uses it),
// each with the reason for its value. Everything here bounds work done on
// untrusted datagrams or sizes a caller-provided buffer.
//
//   std::array<uint8_t, fe::stun::kResponseSizeMax> out;   // always enough
#pragma once

#include <cstddef>

namespace fe::stun {

// Largest datagram parse() looks at. RFC 5389 §7.1 asks senders to stay under
// the path MTU (576 bytes for IPv4 when unknown); a RFC 5626 keep-alive is a
// 20-byte request, plus FINGERPRINT or SOFTWARE at most. 1280 (the IPv6 minimum
// MTU) leaves room for ICE-style requests (RFC 5769 samples are about 100 bytes)
// while bounding the attribute walk on a shared SIP port.
inline constexpr size_t kMessageSizeMax = 1280;

// Unknown comprehension-required attributes remembered per message and listed
// in a 420 response. RFC 5389 §15.9 does not require listing every one; a
// legitimate client sends at most a handful, and a longer list only helps an
// attacker amplify.
inline constexpr size_t kUnknownAttributeCountMax = 8;

// Longest ERROR-CODE reason phrase kept from a response (RFC 5389 §15.6 says
// fewer than 128 characters, up to 763 bytes of UTF-8).
inline constexpr size_t kErrorReasonSizeMax = 763;

// Largest response the server side builds: header 20, then either
// XOR-MAPPED-ADDRESS for IPv6 (4 + 20) or ERROR-CODE "Unknown Attribute"
// (4 + 4 + 20) with UNKNOWN-ATTRIBUTES (4 + 2 * 8), then FINGERPRINT (8).
inline constexpr size_t kResponseSizeMax = 20 + 28 + 4 + 2 * kUnknownAttributeCountMax + 8;

// Size of a Binding request built by the client side: header plus an optional
// FINGERPRINT.
inline constexpr size_t kRequestSizeMax = 20 + 8;

static_assert(kResponseSizeMax <= kMessageSizeMax, "our own responses must parse");
static_assert(kResponseSizeMax % 4 == 0, "STUN messages are 4-byte aligned");

}  // namespace fe::stun
