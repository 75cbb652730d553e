// File: core/syntax/limits.h
//
// Named limits of the URI and header-value grammar (STYLE §7: every limit has a
// name and a reason). The parsers in core/syntax refuse input beyond these with
// Error::kTooLong / kTooManyParams / ... so that a hostile value costs a bounded
// amount of work, and callers can size buffers for derived keys at compile time.
//
//   static_assert(fe::syntax::kAorKeySizeMax <= kMyKeyBufferSize);
#pragma once

#include <cstddef>
#include <cstdint>

namespace fe::syntax {

// Longest URI we accept. RFC 3261 sets no limit; real Request-URIs and
// Contacts are under 300 bytes, and our own Path URI (flow token of at most
// ~120 base64 characters, host, ;lr;ob) is under 300. 2 KiB leaves room for
// long tel: numbers, URI headers and vendor parameters without letting one
// value eat a large share of a 64 KiB message.
inline constexpr size_t kUriSizeMax = 2048;

// Longest single header value handed to a parser here (one Via, one Contact).
// Bounded by the message size limit in core/sip; this is the per-value guard.
inline constexpr size_t kHeaderValueSizeMax = 8192;

// Parameters in one list (URI parameters, or header parameters of one value).
// A Contact from a busy UA carries about 8 (expires, q, +sip.instance, reg-id,
// feature tags); 32 is ample. The limit also bounds the O(n^2) duplicate check
// (RFC 3261 §7.3.1: a parameter name appears at most once) to 496 compares.
inline constexpr size_t kParamCountMax = 32;

// URI headers (?a=b&c=d). Used by redirect and click-to-dial URIs, which
// carry a handful; more is abuse.
inline constexpr size_t kUriHeaderCountMax = 16;

// DNS limits (RFC 1035 §2.3.4): 255 octets per name, 63 per label.
inline constexpr size_t kHostSizeMax = 255;
inline constexpr size_t kHostLabelSizeMax = 63;

// A display name longer than this is not a name, it is an attack on logs.
inline constexpr size_t kDisplayNameSizeMax = 512;

// RFC 3261 §20.10: qvalue has at most three decimals ("0.123", "1.000").
inline constexpr size_t kQValueDecimalCountMax = 3;
// q is kept as thousandths: 0 .. 1000.
inline constexpr uint16_t kQValueMax = 1000;

// RFC 5626 §10: reg-id is 1 .. 2^31-1 (OB-INST-01/02).
inline constexpr uint32_t kRegIdMax = 2147483647u;

// RFC 3261 §20.22: Max-Forwards is 0 .. 255 in practice (it is 1*DIGIT, but
// §8.1.1.6 and every implementation treat it as a hop count below 256).
inline constexpr uint32_t kMaxForwardsMax = 255;

// RFC 3261 §20.42: Via ttl is 0 .. 255.
inline constexpr uint32_t kViaTtlMax = 255;

// Longest canonical AOR key write_aor_key() can produce. The key only drops
// parts of the URI (password, parameters, headers), lower-cases the host and
// decodes escapes it does not need, so it is never longer than the URI.
inline constexpr size_t kAorKeySizeMax = kUriSizeMax;

// Longest instance key write_instance_key() can produce (the URN text itself).
inline constexpr size_t kInstanceKeySizeMax = 256;

}  // namespace fe::syntax
