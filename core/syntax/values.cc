#include "core/syntax/values.h"

#include "core/base/strings.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::skip_lws;

Error parse_u32_value(std::string_view value, uint32_t max, uint32_t& out) {
    out = 0;
    uint64_t number = 0;
    if (Error e = internal::parse_number(value, max, number); e != Error::kOk) {
        return e;
    }
    out = static_cast<uint32_t>(number);
    return Error::kOk;
}

// comment = LPAREN *(ctext / quoted-pair / comment) RPAREN (RFC 3261 §25.1),
// nested by counting, not recursion. On success `end` is past the last ')'.
Error scan_comment(std::string_view s, size_t pos, size_t& end) {
    size_t depth = 0;
    for (size_t i = pos; i < s.size(); ++i) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (depth == 0) {
                return Error::kBadComment;
            }
            if (--depth == 0) {
                end = i + 1;
                return Error::kOk;
            }
        } else if (c == '\\') {
            if (i + 1 >= s.size() || s[i + 1] == '\r' || s[i + 1] == '\n') {
                return Error::kBadComment;
            }
            ++i;
        } else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) {
            return Error::kBadComment;
        }
    }
    return Error::kBadComment;
}

}  // namespace

Error parse_cseq(std::string_view value, CSeq& out) {
    out = CSeq{};
    const size_t start = skip_lws(value, 0);
    size_t digits_end = start;
    while (digits_end < value.size() && value[digits_end] >= '0' && value[digits_end] <= '9') {
        ++digits_end;
    }
    if (start == value.size()) {
        return Error::kEmpty;
    }
    if (digits_end == start) {
        return Error::kNotANumber;
    }
    uint32_t number = 0;
    if (Error e = parse_u32_value(value.substr(start, digits_end - start), UINT32_MAX, number);
        e != Error::kOk) {
        return e;
    }
    const size_t method_start = skip_lws(value, digits_end);
    if (method_start == value.size()) {
        return Error::kMissingMethod;
    }
    if (method_start == digits_end) {
        return Error::kNotANumber;  // "12a INVITE"
    }
    const size_t method_end = internal::scan_token(value, method_start);
    if (method_end == method_start) {
        return Error::kBadToken;
    }
    if (skip_lws(value, method_end) != value.size()) {
        return Error::kTrailingGarbage;
    }
    out.number = number;
    out.method = value.substr(method_start, method_end - method_start);
    return Error::kOk;
}

Error parse_max_forwards(std::string_view value, uint32_t& hops) {
    return parse_u32_value(value, kMaxForwardsMax, hops);
}

Error parse_delta_seconds(std::string_view value, uint32_t& seconds) {
    return parse_u32_value(value, UINT32_MAX, seconds);
}

Error parse_flow_timer(std::string_view value, uint32_t& seconds) {
    return parse_u32_value(value, UINT32_MAX, seconds);
}

Error parse_content_length(std::string_view value, uint32_t& size) {
    return parse_u32_value(value, UINT32_MAX, size);
}

Error parse_option_tag(std::string_view value, std::string_view& tag) {
    tag = {};
    if (Error e = parse_token(value); e != Error::kOk) {
        return e;
    }
    tag = value;
    return Error::kOk;
}

bool option_tag_equal(std::string_view a, std::string_view b) {
    return equals_ignore_case(a, b);
}

Error parse_token(std::string_view value) {
    if (value.empty()) {
        return Error::kEmpty;
    }
    return internal::is_token(value) ? Error::kOk : Error::kBadToken;
}

Error parse_retry_after(std::string_view value, RetryAfter& out) {
    out = RetryAfter{};
    if (value.size() > kHeaderValueSizeMax) {
        return Error::kTooLong;
    }
    const size_t start = skip_lws(value, 0);
    size_t pos = start;
    while (pos < value.size() && value[pos] >= '0' && value[pos] <= '9') {
        ++pos;
    }
    if (start == value.size()) {
        return Error::kEmpty;
    }
    const bool number_ends = pos < value.size() && std::string_view(" \t\r(;").find(value[pos]) !=
                                                       std::string_view::npos;
    if (pos == start || (pos < value.size() && !number_ends)) {
        return Error::kNotANumber;
    }
    uint32_t seconds = 0;
    if (Error e = parse_u32_value(value.substr(start, pos - start), UINT32_MAX, seconds);
        e != Error::kOk) {
        return e;
    }
    RetryAfter result;
    result.seconds = seconds;
    const size_t comment_start = skip_lws(value, pos);
    if (comment_start < value.size() && value[comment_start] == '(') {
        size_t comment_end = 0;
        if (Error e = scan_comment(value, comment_start, comment_end); e != Error::kOk) {
            return e;
        }
        result.comment = value.substr(comment_start, comment_end - comment_start);
        pos = comment_end;
    }
    if (Error e = Params::parse(value.substr(pos), ParamSyntax::kHeader, result.params);
        e != Error::kOk) {
        return e == Error::kExpectedSemicolon ? Error::kTrailingGarbage : e;
    }
    if (const auto duration = result.params.find("duration")) {
        if (!duration->has_value ||
            parse_delta_seconds(duration->value, result.duration_s) != Error::kOk) {
            return Error::kBadParamValue;
        }
        result.has_duration = true;
    }
    out = result;
    return Error::kOk;
}

}  // namespace fe::syntax
