// File: core/syntax/internal/chars.h
//
// Character classes of the RFC 3261 §25 grammar as one 256-entry table of bit
// masks, so each class test is a load and an AND, and helpers shared by the
// parsers (escaped runs, linear white space, numbers, IP addresses).
//
//   if (all_of_class(user, kUserChar | kEscapeStart)) ...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/syntax/error.h"

namespace fe::syntax::internal {

// Bit per character class. A character may be in several classes.
inline constexpr uint16_t kAlpha = 1 << 0;
inline constexpr uint16_t kDigit = 1 << 1;
inline constexpr uint16_t kHexDigit = 1 << 2;
inline constexpr uint16_t kUnreserved = 1 << 3;       // alphanum / mark
inline constexpr uint16_t kUserChar = 1 << 4;         // unreserved / user-unreserved
inline constexpr uint16_t kPasswordChar = 1 << 5;     // unreserved / & = + $ ,
inline constexpr uint16_t kParamChar = 1 << 6;        // unreserved / param-unreserved
inline constexpr uint16_t kHnvChar = 1 << 7;          // unreserved / hnv-unreserved
inline constexpr uint16_t kTokenChar = 1 << 8;        // RFC 3261 token
inline constexpr uint16_t kSchemeChar = 1 << 9;       // ALPHA DIGIT + - .
inline constexpr uint16_t kTelGlobalChar = 1 << 10;   // DIGIT and visual separators
inline constexpr uint16_t kTelLocalChar = 1 << 11;    // HEXDIG * # and visual separators
inline constexpr uint16_t kWordChar = 1 << 12;        // RFC 3261 word (Call-ID)

constexpr std::array<uint16_t, 256> make_char_table() {
    std::array<uint16_t, 256> t{};
    auto add = [&t](std::string_view chars, uint16_t bits) {
        for (char c : chars) {
            t[static_cast<uint8_t>(c)] = static_cast<uint16_t>(t[static_cast<uint8_t>(c)] | bits);
        }
    };
    constexpr std::string_view kLetters =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    constexpr std::string_view kDigits = "0123456789";
    constexpr std::string_view kMark = "-_.!~*'()";
    const uint16_t unreserved_classes =
        kUnreserved | kUserChar | kPasswordChar | kParamChar | kHnvChar;
    add(kLetters, kAlpha | kSchemeChar | kTokenChar | kWordChar | unreserved_classes);
    add(kDigits, kDigit | kHexDigit | kSchemeChar | kTokenChar | kWordChar | unreserved_classes |
                     kTelGlobalChar | kTelLocalChar);
    add("abcdefABCDEF", kHexDigit | kTelLocalChar);
    add(kMark, unreserved_classes);
    add("&=+$,;?/", kUserChar);
    add("&=+$,", kPasswordChar);
    add("[]/:&+$", kParamChar);
    add("[]/?:+$", kHnvChar);
    add("-.!%*_+`'~", kTokenChar);
    add("+-.", kSchemeChar);
    add("-.()", kTelGlobalChar | kTelLocalChar);
    add("*#", kTelLocalChar);
    add("-.!%*_+`'~()<>:\\\"/[]?{}", kWordChar);
    return t;
}

inline constexpr std::array<uint16_t, 256> kCharTable = make_char_table();

constexpr bool in_class(char c, uint16_t classes) {
    return (kCharTable[static_cast<uint8_t>(c)] & classes) != 0;
}

constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// True when every byte of `s` is in `classes` or starts a valid %XX escape.
// Sets *bad_escape when the only defect is a malformed escape, so callers can
// report kBadEscape rather than a generic character error.
constexpr bool is_escaped_run(std::string_view s, uint16_t classes, bool* bad_escape) {
    *bad_escape = false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) {
                *bad_escape = true;
                return false;
            }
            if (hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
                *bad_escape = true;
                return false;
            }
            i += 2;
            continue;
        }
        if (!in_class(s[i], classes)) {
            return false;
        }
    }
    return true;
}

constexpr bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!in_class(c, kTokenChar)) {
            return false;
        }
    }
    return true;
}

constexpr bool is_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// Linear white space: SP, HTAB, or a CRLF fold followed by SP/HTAB. Returns the
// index of the first byte at or after `pos` that is not white space.
constexpr size_t skip_lws(std::string_view s, size_t pos) {
    while (pos < s.size()) {
        char c = s[pos];
        if (c == ' ' || c == '\t') {
            ++pos;
        } else if (c == '\r' && pos + 2 < s.size() && s[pos + 1] == '\n' &&
                   (s[pos + 2] == ' ' || s[pos + 2] == '\t')) {
            pos += 3;
        } else {
            break;
        }
    }
    return pos;
}

// The end of a token starting at `pos` (pos itself when there is none).
constexpr size_t scan_token(std::string_view s, size_t pos) {
    while (pos < s.size() && in_class(s[pos], kTokenChar)) {
        ++pos;
    }
    return pos;
}

// A decimal number of 1*DIGIT no larger than `max`, with errors named for the
// two distinct defects: a non-digit (kNotANumber) and too large
// (kNumberOutOfRange). Never overflows, whatever the length.
[[nodiscard]] Error parse_number(std::string_view s, uint64_t max, uint64_t& out);

// quoted-string starting at s[pos] == '"' (RFC 3261 §25.1: qdtext / quoted-pair).
// On success `end` is the index just past the closing quote.
[[nodiscard]] Error scan_quoted_string(std::string_view s, size_t pos, size_t& end);

// IPv4address as four dec-octets 0..255 (leading zeros allowed, 1-3 digits).
bool parse_ipv4(std::string_view s, uint8_t out[4]);
// IPv6address (RFC 3261 §25.1 / RFC 4291 text form, optional trailing IPv4),
// without brackets. No zone id.
bool parse_ipv6(std::string_view s, uint8_t out[16]);

// True when `s` looks like an attempt at an IPv4 address (its last label starts
// with a digit), so a failure is reported as kBadIpv4, not kBadHost.
constexpr bool looks_numeric_host(std::string_view s) {
    if (!s.empty() && s.back() == '.') {
        s.remove_suffix(1);
    }
    size_t dot = s.rfind('.');
    std::string_view last = dot == std::string_view::npos ? s : s.substr(dot + 1);
    return !last.empty() && last[0] >= '0' && last[0] <= '9';
}

}  // namespace fe::syntax::internal
