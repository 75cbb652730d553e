// File: core/token/limits.h
//
// Named sizes and limits of flow tokens (RFC 5626 §5.2) and their key ring,
// each with its reason. The token layout itself is drawn in flow_token.h.
//
//   std::array<char, fe::token::kTokenTextSizeMax> out;   // always enough for mint()
#pragma once

#include <cstddef>

namespace fe::token {

// Keys alive at once. Rotation keeps the current key plus the keys of tokens
// that may still sit in registrations (one registration lifetime, DESIGN.md
// "Flow tokens"); a rotation a day with week-long registrations needs 8. The
// key id is one byte, so ids range over 0..255 while at most this many exist.
inline constexpr size_t kKeyCountMax = 16;

// HMAC-SHA-256 keys are 256 bits: as long as the hash output, so a longer key
// adds nothing and a shorter one weakens the MAC (RFC 2104 §3).
inline constexpr size_t kKeySize = 32;

// Truncated MAC. RFC 5626 §5.2 asks for a MAC an attacker cannot forge; NIST
// SP 800-107 and RFC 2104 §5 say keep at least 80 bits. 96 bits costs two
// base64 characters more than 80 and makes a blind forgery a 2^-96 guess.
inline constexpr size_t kMacSize = 12;
static_assert(kMacSize * 8 >= 80, "RFC 2104 §5: truncate to no fewer than 80 bits");

// Layout sizes (see the diagram in flow_token.h).
inline constexpr size_t kLayoutCommonSize = 14;  // version .. generation
inline constexpr size_t kLayoutUdpV4Size = kLayoutCommonSize + 1 + 4 + 2 + 2;
inline constexpr size_t kLayoutUdpV6Size = kLayoutCommonSize + 1 + 16 + 2 + 2;
inline constexpr size_t kLayoutSizeMax = kLayoutUdpV6Size;
inline constexpr size_t kTokenBytesSizeMax = kLayoutSizeMax + kMacSize;

// Base64url without padding: 4 characters per 3 bytes, rounded up.
constexpr size_t base64url_size(size_t byte_size) { return (byte_size * 4 + 2) / 3; }

// Longest token text mint() writes (a UDP IPv6 flow): 63 characters, well
// inside the user part of a Path URI.
inline constexpr size_t kTokenTextSizeMax = base64url_size(kTokenBytesSizeMax);

// Slots of a worker's TokenCache (token_cache.h), each for minting and for
// verifying: a power of two. 1,024 slots hold every token of 1,024 busy flows
// (a call touches the caller's and the callee's) in ~230 kB per worker.
inline constexpr size_t kTokenCacheSlots = 1024;
static_assert(kTokenTextSizeMax == 63);

// Longest key file text KeyRing::parse() reads: a line per key with comments
// to spare. The file is operator-written config, not traffic, so this only
// guards against pointing the loader at the wrong file.
inline constexpr size_t kKeyFileSizeMax = 64 * 1024;

}  // namespace fe::token
