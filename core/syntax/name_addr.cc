#include "core/syntax/name_addr.h"

#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::skip_lws;

bool is_lws_start(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Header parameters after the address; anything that is not ";param" there is
// trailing garbage ("<sip:a@b> x", "<sip:a@b>>").
Error parse_trailing_params(std::string_view rest, NameAddr& out) {
    const Error e = Params::parse(rest, ParamSyntax::kHeader, out.params);
    return e == Error::kExpectedSemicolon ? Error::kTrailingGarbage : e;
}

Error parse_bracketed(std::string_view value, size_t lt, NameAddr& out) {
    const size_t gt = value.find('>', lt + 1);
    if (gt == std::string_view::npos) {
        return Error::kUnterminatedAngle;
    }
    out.bracketed = true;
    out.uri_text = value.substr(lt + 1, gt - lt - 1);
    if (Error e = parse_uri(out.uri_text, out.uri); e != Error::kOk) {
        return e;
    }
    return parse_trailing_params(value.substr(gt + 1), out);
}

Error parse_bare(std::string_view value, size_t start, NameAddr& out) {
    size_t end = start;
    while (end < value.size() && value[end] != ';' && !is_lws_start(value[end])) {
        ++end;
    }
    out.uri_text = value.substr(start, end - start);
    if (Error e = parse_uri(out.uri_text, out.uri); e != Error::kOk) {
        return e;
    }
    // §20.10: a URI with headers (or ',' / '?' / ';') must be in "<>"
    // (RFC 4475 regbadct). The ';' case cannot reach here.
    if (out.uri.header_count != 0) {
        return Error::kBadUriHeader;
    }
    return parse_trailing_params(value.substr(end), out);
}

Error parse_name_addr_impl(std::string_view value, NameAddr& out) {
    if (value.size() > kHeaderValueSizeMax) {
        return Error::kTooLong;
    }
    const size_t start = skip_lws(value, 0);
    if (start == value.size()) {
        return Error::kEmpty;
    }
    out.text = value;
    if (value[start] == '"') {
        size_t end = 0;
        if (Error e = internal::scan_quoted_string(value, start, end); e != Error::kOk) {
            return e;
        }
        if (end - start - 2 > kDisplayNameSizeMax) {
            return Error::kTooLong;
        }
        out.display_name_range = value.substr(start, end - start);
        out.display_name = value.substr(start + 1, end - start - 2);
        out.display_name_quoted = true;
        const size_t lt = skip_lws(value, end);
        if (lt == value.size() || value[lt] != '<') {
            return Error::kBadDisplayName;
        }
        return parse_bracketed(value, lt, out);
    }
    if (value[start] == '<') {
        return parse_bracketed(value, start, out);
    }
    // display-name = *(token LWS): tokens then '<', or else a bare addr-spec
    // (a URI scheme stops the token scan at its ':').
    size_t pos = start;
    size_t display_end = start;
    while (true) {
        const size_t token_end = internal::scan_token(value, pos);
        if (token_end == pos) {
            break;
        }
        display_end = token_end;
        pos = skip_lws(value, token_end);
    }
    if (pos < value.size() && value[pos] == '<') {
        if (display_end - start > kDisplayNameSizeMax) {
            return Error::kTooLong;
        }
        out.display_name_range = value.substr(start, display_end - start);
        out.display_name = out.display_name_range;
        return parse_bracketed(value, pos, out);
    }
    // Tokens then something other than '<': if white space separated them it
    // was meant as a display name ("Bob sip:bob@b"); otherwise it is a URI.
    if (pos > display_end) {
        return Error::kBadDisplayName;
    }
    return parse_bare(value, start, out);
}

}  // namespace

Error parse_name_addr(std::string_view value, NameAddr& out) {
    out = NameAddr{};
    const Error e = parse_name_addr_impl(value, out);
    if (e != Error::kOk) {
        out = NameAddr{};
    }
    return e;
}

}  // namespace fe::syntax
