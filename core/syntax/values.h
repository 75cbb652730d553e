// File: core/syntax/values.h
//
// Small single-value headers (RFC 3261 §20, RFC 5626 §10): CSeq, Max-Forwards,
// Expires / Min-Expires, Flow-Timer, Content-Length, option tags (one value of
// Supported / Require / Proxy-Require / Unsupported), tokens, Retry-After.
// Numbers are 1*DIGIT only: no sign, no spaces inside, no overflow whatever
// the length (kNotANumber / kNumberOutOfRange).
//
//   uint32_t seconds;
//   if (fe::syntax::parse_flow_timer("120", seconds) == fe::syntax::Error::kOk) { ... }
//   fe::syntax::CSeq cseq;
//   (void)fe::syntax::parse_cseq("4711 INVITE", cseq);   // cseq.number == 4711
//   fe::syntax::option_tag_equal(tag, "outbound");
#pragma once

#include <cstdint>
#include <string_view>

#include "core/syntax/error.h"
#include "core/syntax/params.h"

namespace fe::syntax {

struct CSeq {
    uint32_t number = 0;
    std::string_view method;  // case-sensitive token (RFC 3261 §7.1), e.g. "REGISTER"
};

// CSeq = 1*DIGIT LWS Method. The number must fit 32 bits (§8.1.1.5; a sender
// keeps it below 2^31, a receiver accepts any 32-bit value). Errors: kEmpty,
// kNotANumber, kNumberOutOfRange, kMissingMethod, kBadToken, kTrailingGarbage.
Error parse_cseq(std::string_view value, CSeq& out);

// Max-Forwards 0 .. kMaxForwardsMax. Errors: kEmpty, kNotANumber, kNumberOutOfRange.
Error parse_max_forwards(std::string_view value, uint32_t& hops);

// delta-seconds for Expires and Min-Expires: 1*DIGIT within 32 bits. Larger
// values are refused rather than clamped: nothing we serve needs 136 years.
// Errors: kEmpty, kNotANumber, kNumberOutOfRange.
Error parse_delta_seconds(std::string_view value, uint32_t& seconds);

// Flow-Timer (RFC 5626 §10): 1*DIGIT within 32 bits. "abc", "-5" and
// "99999999999999999999" are refused (OB-FT-06).
Error parse_flow_timer(std::string_view value, uint32_t& seconds);

// Content-Length: 1*DIGIT within 32 bits (message size limits are far lower;
// core/sip enforces those).
Error parse_content_length(std::string_view value, uint32_t& size);

// One option tag (a token). Errors: kEmpty, kBadToken.
Error parse_option_tag(std::string_view value, std::string_view& tag);
// Option tags are tokens, so they compare ignoring case (RFC 3261 §7.3.1).
bool option_tag_equal(std::string_view a, std::string_view b);

// Validates a token value (Call-ID excepted: that is a word). Errors: kEmpty,
// kBadToken.
Error parse_token(std::string_view value);

struct RetryAfter {
    uint32_t seconds = 0;
    std::string_view comment;  // "(...)" as written, with the parentheses; empty when absent
    Params params;             // retry-params (ParamSyntax::kHeader)
    bool has_duration = false;
    uint32_t duration_s = 0;
};

// Retry-After = delta-seconds [ comment ] *( SEMI retry-param ). Errors:
// kEmpty, kNotANumber, kNumberOutOfRange, kBadComment, kTrailingGarbage,
// Params::parse() errors, kBadParamValue (duration not delta-seconds).
Error parse_retry_after(std::string_view value, RetryAfter& out);

}  // namespace fe::syntax
