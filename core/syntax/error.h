// File: core/syntax/error.h
//
// The one result enum of every parser in core/syntax. Each malformed case has
// its own name so a 400 reason phrase and a counter can say exactly what was
// wrong (DESIGN "Bad input"), and tests can assert the precise defect.
//
//   fe::syntax::Uri uri;
//   if (auto e = fe::syntax::parse_uri(text, uri); e != fe::syntax::Error::kOk) {
//       reply_400(fe::syntax::error_text(e));   // e.g. "bad port"
//   }
#pragma once

#include <cstdint>
#include <string_view>

namespace fe::syntax {

enum class [[nodiscard]] Error : uint8_t {
    kOk = 0,
    kEmpty,               // nothing where a value is required
    kTooLong,             // over kUriSizeMax / kHeaderValueSizeMax / kDisplayNameSizeMax
    kBadScheme,           // no "scheme:" or bad scheme characters
    kUnsupportedScheme,   // well-formed scheme other than sip, sips, tel
    kBadUser,             // empty user before '@', or a character not allowed in user
    kBadPassword,         // character not allowed in password
    kBadEscape,           // '%' not followed by two hex digits
    kMissingHost,         // nothing where the host must be
    kBadHost,             // hostname grammar (labels, characters)
    kHostTooLong,         // over kHostSizeMax, or a label over kHostLabelSizeMax
    kBadIpv4,             // looks numeric but is not a dotted quad of 0..255
    kBadIpv6,             // "[...]" that is not an IPv6 address
    kBadPort,             // ':' not followed by digits only
    kPortOutOfRange,      // port 0 or above 65535
    kBadParamName,        // empty parameter name or bad characters
    kBadParamValue,       // '=' with an empty or malformed value
    kExpectedSemicolon,   // something other than ';' between parameters
    kTooManyParams,       // over kParamCountMax
    kDuplicateParam,      // a parameter name twice (RFC 3261 §7.3.1)
    kUnterminatedQuote,   // quoted-string without its closing '"'
    kBadQuotedString,     // control character or bad quoted-pair inside quotes
    kBadUriHeader,        // "?name=value&..." grammar
    kTooManyUriHeaders,   // over kUriHeaderCountMax
    kBadTelNumber,        // tel: number grammar (RFC 3966)
    kMissingPhoneContext, // local tel: number without ;phone-context
    kBadDisplayName,      // unquoted display name that is not tokens and spaces
    kUnterminatedAngle,   // '<' without '>'
    kTrailingGarbage,     // bytes after a complete value that are not parameters
    kBadSentProtocol,     // Via "SIP/2.0/UDP" part
    kMissingSentBy,       // Via without a host after the protocol
    kBadBranch,           // Via branch without a value
    kBadReceived,         // Via received that is not an IPv4/IPv6 address
    kBadRport,            // Via rport value not 1..65535 digits
    kBadTtl,              // Via ttl not 0..255
    kBadMaddr,            // maddr that is not a host
    kBadKeep,             // Via keep value not 1*DIGIT within 32 bits (RFC 6223)
    kBadExpires,          // expires param not delta-seconds within 32 bits
    kBadQValue,           // q not 0..1 with at most 3 decimals
    kBadInstance,         // +sip.instance not a quoted "<urn:...>"
    kBadRegId,            // reg-id not 1 .. 2^31-1 (RFC 5626 §10)
    kBadStar,             // Contact "*" with anything else
    kNotANumber,          // a numeric value with a non-digit (sign, letter, space)
    kNumberOutOfRange,    // a number above the field's maximum (no overflow)
    kBadToken,            // a token with a character outside RFC 3261 token
    kMissingMethod,       // CSeq without its method
    kBadComment,          // Retry-After comment not balanced
    kBufferTooSmall,      // caller's output buffer cannot hold the result
};

// Short, stable, lower-case text for a 400 reason phrase or a counter label.
std::string_view error_text(Error e);

}  // namespace fe::syntax
