// File: core/sip/limits.h
//
// Named limits of the SIP message layer, each with its reason. Every parser,
// framer and editor in core/sip/ refuses input beyond these limits with a named
// error instead of growing. Change a value here and the static_asserts below
// check that the pieces still fit together.
//
//   if (bytes.size() > fe::sip::kMessageSizeMax) { ... ParseError::kMessageTooLarge ... }
#pragma once

#include <cstddef>
#include <cstdint>

namespace fe::sip {

// Largest message we accept on any transport, start line to end of body.
// RFC 3261 §18.1.1 caps UDP at 65535 bytes; SIP messages at an edge are a few
// KiB (a REGISTER ~600 B, an INVITE with SDP ~1-3 KiB). 64 KiB bounds the
// receive buffer a stream connection may pin while a message is incomplete.
inline constexpr uint32_t kMessageSizeMax = 64 * 1024;

// Header lines per message. Real traffic carries 10-40; carriers stack P-
// headers, so 128 leaves room while keeping Message's fixed header array at
// ~2.5 KiB. Must stay below 255: header indexes are uint8_t with 0xff = none.
inline constexpr uint32_t kHeaderCountMax = 128;

// Via values (not lines: one line may hold several) per message. Each proxy
// adds one and RFC 3261 §8.1.1.6 starts Max-Forwards at 70, so a legitimate
// request carries at most ~70; more is a loop or an attack. (RFC 4475
// §3.1.1.7's valid long request has 34, so 32 would be too tight.)
inline constexpr uint32_t kViaCountMax = 70;

// Request-Line / Status-Line bytes including CRLF. The Request-URI dominates;
// RFC 3261 sets no cap, 4 KiB covers long URIs with escaped headers.
inline constexpr uint32_t kStartLineSizeMax = 4 * 1024;

// One header field including every folded continuation line and the CRLF.
// Long Contact lists and Authorization headers stay well under 8 KiB.
inline constexpr uint32_t kHeaderLineSizeMax = 8 * 1024;

// Header field name bytes. Standard names are under 32 bytes, but RFC 4475
// §3.1.1.7 calls a 94-byte extension name valid; 256 keeps that and still
// bounds the case-insensitive compares.
inline constexpr uint32_t kHeaderNameSizeMax = 256;

// Edits (insert / remove / replace) one forwarded message may carry. A proxy
// hop adds a Via, Record-Route or Path, removes a Route, rewrites the
// Request-URI and Max-Forwards, and adds received/rport: about 8.
inline constexpr uint32_t kEditCountMax = 32;

// Bytes of inserted text per forwarded message (EditArena capacity): a Via
// (~120 B), a Path/Record-Route with a flow token (~150 B each), received/rport
// (~40 B) and a rewritten Request-URI (~200 B) fit with room to spare.
inline constexpr uint32_t kEditArenaSizeMax = 2 * 1024;

// Output ranges of an edited message: each edit can split one received range
// in two, plus its own inserted text.
inline constexpr uint32_t kEditRangeCountMax = 2 * kEditCountMax + 1;

static_assert(kHeaderCountMax < 0xff, "header indexes are uint8_t with 0xff as 'none'");
static_assert(kStartLineSizeMax <= kMessageSizeMax);
static_assert(kHeaderLineSizeMax <= kMessageSizeMax);
static_assert(kMessageSizeMax <= UINT32_MAX / 2, "offsets are uint32_t with room to add");

}  // namespace fe::sip
