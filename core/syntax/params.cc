#include "core/syntax/params.h"

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/syntax/host.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::in_class;
using internal::skip_lws;

// Index of the first byte at or after `pos` that is neither in `classes` nor a
// valid %XX escape. Sets bad_escape when it stopped at a malformed escape.
size_t scan_escaped(std::string_view s, size_t pos, uint16_t classes, bool& bad_escape) {
    bad_escape = false;
    while (pos < s.size()) {
        if (s[pos] == '%') {
            if (pos + 2 >= s.size() || internal::hex_value(s[pos + 1]) < 0 ||
                internal::hex_value(s[pos + 2]) < 0) {
                bad_escape = true;
                return pos;
            }
            pos += 3;
        } else if (in_class(s[pos], classes)) {
            ++pos;
        } else {
            return pos;
        }
    }
    return pos;
}

// gen-value (RFC 3261 §7.3.1): token / host / quoted-string. A host is a
// token unless it is an IPv6 reference, so only "[...]" needs its own case.
Error scan_header_value(std::string_view text, size_t start, size_t& end) {
    if (start >= text.size()) {
        return Error::kBadParamValue;
    }
    if (text[start] == '"') {
        return internal::scan_quoted_string(text, start, end);
    }
    if (text[start] == '[') {
        const size_t close = text.find(']', start);
        HostKind kind;
        if (close == std::string_view::npos ||
            parse_host(text.substr(start, close + 1 - start), kind) != Error::kOk) {
            return Error::kBadParamValue;
        }
        end = close + 1;
        return Error::kOk;
    }
    // Via received carries a bare IPv6address (RFC 3261 §20.42), which is
    // neither a token nor a bracketed host, so ':' is accepted inside a token
    // value; the parser that uses such a value checks it as an address.
    end = start;
    while (end < text.size() && (internal::in_class(text[end], internal::kTokenChar) ||
                                 text[end] == ':')) {
        ++end;
    }
    return end == start ? Error::kBadParamValue : Error::kOk;
}

Error scan_uri_value(std::string_view text, size_t start, size_t& end) {
    bool bad_escape = false;
    end = scan_escaped(text, start, internal::kParamChar, bad_escape);
    if (bad_escape) {
        return Error::kBadEscape;
    }
    return end == start ? Error::kBadParamValue : Error::kOk;
}

// One ";name[=value]" starting at text[pos] == ';'. On success `pos` is just
// past the parameter (trailing white space is left for the next call).
Error scan_param(std::string_view text, ParamSyntax syntax, size_t& pos, Param& out) {
    const bool header = syntax == ParamSyntax::kHeader;
    size_t i = pos;
    if (i >= text.size() || text[i] != ';') {
        return Error::kExpectedSemicolon;
    }
    const size_t start = i;
    ++i;
    if (header) {
        i = skip_lws(text, i);
    }
    size_t name_end = 0;
    if (header) {
        name_end = internal::scan_token(text, i);
    } else {
        bool bad_escape = false;
        name_end = scan_escaped(text, i, internal::kParamChar, bad_escape);
        if (bad_escape) {
            return Error::kBadEscape;
        }
    }
    if (name_end == i) {
        return Error::kBadParamName;
    }
    out.name = text.substr(i, name_end - i);
    out.value = {};
    out.has_value = false;
    i = name_end;
    size_t j = header ? skip_lws(text, i) : i;
    if (j < text.size() && text[j] == '=') {
        ++j;
        if (header) {
            j = skip_lws(text, j);
        }
        size_t value_end = 0;
        const Error e = header ? scan_header_value(text, j, value_end)
                               : scan_uri_value(text, j, value_end);
        if (e != Error::kOk) {
            return e;
        }
        out.value = text.substr(j, value_end - j);
        out.has_value = true;
        i = value_end;
    }
    // Only white space (header grammar), ';' or the end may follow.
    const size_t next = header ? skip_lws(text, i) : i;
    if (next < text.size() && text[next] != ';') {
        return out.has_value ? Error::kBadParamValue : Error::kBadParamName;
    }
    out.range = text.substr(start, i - start);
    pos = i;
    return Error::kOk;
}

// Decodes one byte of an escaped string at s[i], advancing i. The string must
// be validated: a '%' is always followed by two hex digits.
char next_decoded(std::string_view s, size_t& i) {
    if (s[i] == '%' && i + 2 < s.size()) {
        const int hi = internal::hex_value(s[i + 1]);
        const int lo = internal::hex_value(s[i + 2]);
        if (hi >= 0 && lo >= 0) {
            i += 3;
            return static_cast<char>(hi * 16 + lo);
        }
    }
    return s[i++];
}

template <bool kIgnoreCase>
bool equals_decoded(std::string_view a, std::string_view b) {
    size_t i = 0;
    size_t j = 0;
    while (i < a.size() && j < b.size()) {
        char x = next_decoded(a, i);
        char y = next_decoded(b, j);
        if constexpr (kIgnoreCase) {
            x = ascii_lower(x);
            y = ascii_lower(y);
        }
        if (x != y) {
            return false;
        }
    }
    return i == a.size() && j == b.size();
}

// URI parameter names may be escaped ("%6C%72" is "lr", RFC 4475 esc01);
// header parameter names are tokens, where '%' is an ordinary character.
bool names_equal(ParamSyntax syntax, std::string_view a, std::string_view b) {
    return syntax == ParamSyntax::kUri ? equals_decoded<true>(a, b) : equals_ignore_case(a, b);
}

// One parameter of a list parse() has validated, from text[pos] == ';': the
// same result as scan_param(), found by looking only for the bytes that end
// a name or a value. Lookups and iteration rescan the list (see params.h),
// and re-validating every byte there cost a fifth of a REGISTER's
// instructions (a quoted +sip.instance is scanned at each lookup).
void skim_param(std::string_view text, ParamSyntax syntax, size_t& pos, Param& out) {
    const bool header = syntax == ParamSyntax::kHeader;
    const auto ends_name = [header](char c) {
        return c == '=' || c == ';' || (header && (c == ' ' || c == '\t' || c == '\r'));
    };
    const size_t start = pos;
    size_t i = start + 1;
    if (header) {
        i = skip_lws(text, i);
    }
    const size_t name_start = i;
    while (i < text.size() && !ends_name(text[i])) {
        ++i;
    }
    out.name = text.substr(name_start, i - name_start);
    out.value = {};
    out.has_value = false;
    size_t j = header ? skip_lws(text, i) : i;
    if (j < text.size() && text[j] == '=') {
        j = header ? skip_lws(text, j + 1) : j + 1;
        size_t end = j;
        if (header && text[j] == '"') {
            end = j + 1;
            while (text[end] != '"') {
                end += text[end] == '\\' ? 2 : 1;
            }
            ++end;
        } else if (header && text[j] == '[') {
            end = text.find(']', j) + 1;
        } else {
            while (end < text.size() && !ends_name(text[end])) {
                ++end;
            }
        }
        out.value = text.substr(j, end - j);
        out.has_value = true;
        i = end;
    }
    out.range = text.substr(start, i - start);
    pos = i;
}

}  // namespace

Error Params::parse(std::string_view text, ParamSyntax syntax, Params& out) {
    out = Params{};
    if (text.size() > kHeaderValueSizeMax) {
        return Error::kTooLong;
    }
    // Names seen so far, for the duplicate check, as offsets into `text`: on
    // the stack, left uninitialised (no 512-byte clear per call).
    static_assert(kHeaderValueSizeMax <= UINT16_MAX, "offsets fit 16 bits");
    uint16_t name_index[kParamCountMax];
    uint16_t name_size[kParamCountMax];
    size_t count = 0;
    size_t pos = 0;
    while (true) {
        if (syntax == ParamSyntax::kHeader) {
            pos = skip_lws(text, pos);
        }
        if (pos >= text.size()) {
            break;
        }
        if (count == kParamCountMax) {
            return Error::kTooManyParams;
        }
        Param param;
        if (const Error e = scan_param(text, syntax, pos, param); e != Error::kOk) {
            return e;
        }
        for (size_t k = 0; k < count; ++k) {
            if (names_equal(syntax, text.substr(name_index[k], name_size[k]), param.name)) {
                return Error::kDuplicateParam;
            }
        }
        name_index[count] = static_cast<uint16_t>(param.name.data() - text.data());
        name_size[count] = static_cast<uint16_t>(param.name.size());
        ++count;
    }
    static_assert(kParamCountMax <= UINT8_MAX, "count_ is a uint8_t");
    out.text_ = text;
    out.syntax_ = syntax;
    out.count_ = static_cast<uint8_t>(count);
    return Error::kOk;
}

Params::Iterator::Iterator(std::string_view text, ParamSyntax syntax, size_t pos)
    : text_(text), syntax_(syntax), pos_(pos) {
    ++*this;
}

Params::Iterator& Params::Iterator::operator++() {
    size_t p = syntax_ == ParamSyntax::kHeader ? skip_lws(text_, pos_) : pos_;
    if (p >= text_.size()) {
        pos_ = text_.size() + 1;
        current_ = Param{};
        return *this;
    }
    // parse() accepted this text: skimming it finds what scan_param() would.
    skim_param(text_, syntax_, p, current_);
    pos_ = p;
    return *this;
}

Params::Iterator Params::begin() const { return Iterator(text_, syntax_, 0); }

Params::Iterator Params::end() const {
    Iterator it;
    it.text_ = text_;
    it.syntax_ = syntax_;
    it.pos_ = text_.size() + 1;
    return it;
}

std::optional<Param> Params::find(std::string_view name) const {
    if (count_ == 0) {
        return std::nullopt;
    }
    for (const Param& p : *this) {
        if (names_equal(syntax_, p.name, name)) {
            return p;
        }
    }
    return std::nullopt;
}

bool is_token(std::string_view text) { return internal::is_token(text); }

Error unescape(std::string_view escaped, char* buffer, size_t buffer_size,
               std::string_view& result) {
    result = {};
    size_t out = 0;
    size_t i = 0;
    while (i < escaped.size()) {
        char c = escaped[i];
        if (c == '%') {
            if (i + 2 >= escaped.size()) {
                return Error::kBadEscape;
            }
            const int hi = internal::hex_value(escaped[i + 1]);
            const int lo = internal::hex_value(escaped[i + 2]);
            if (hi < 0 || lo < 0) {
                return Error::kBadEscape;
            }
            c = static_cast<char>(hi * 16 + lo);
            i += 3;
        } else {
            ++i;
        }
        if (out == buffer_size) {
            return Error::kBufferTooSmall;
        }
        buffer[out++] = c;
    }
    result = std::string_view(buffer, out);
    return Error::kOk;
}

bool equals_unescaped(std::string_view a, std::string_view b) {
    return equals_decoded<false>(a, b);
}

bool equals_unescaped_ignore_case(std::string_view a, std::string_view b) {
    return equals_decoded<true>(a, b);
}

Error unquote(std::string_view quoted, char* buffer, size_t buffer_size,
              std::string_view& result) {
    result = {};
    size_t end = 0;
    if (internal::scan_quoted_string(quoted, 0, end) != Error::kOk || end != quoted.size()) {
        return Error::kBadQuotedString;
    }
    size_t out = 0;
    for (size_t i = 1; i + 1 < quoted.size(); ++i) {
        char c = quoted[i];
        if (c == '\\') {
            c = quoted[++i];
        }
        if (out == buffer_size) {
            return Error::kBufferTooSmall;
        }
        buffer[out++] = c;
    }
    result = std::string_view(buffer, out);
    return Error::kOk;
}

}  // namespace fe::syntax
