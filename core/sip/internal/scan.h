// File: core/sip/internal/scan.h
//
// Byte-level scanning shared by the parser, the framer and the editor:
// character classes, CRLF line ends and comma-list element ends.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace fe::sip::internal {

// RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
constexpr std::array<bool, 256> make_token_table() {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) {
        table[static_cast<size_t>(c)] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        table[static_cast<size_t>(c)] = true;
        table[static_cast<size_t>(c - 32)] = true;
    }
    for (char c : {'-', '.', '!', '%', '*', '_', '+', '`', '\'', '~'}) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}
inline constexpr std::array<bool, 256> kTokenChar = make_token_table();

constexpr bool is_token_char(char c) { return kTokenChar[static_cast<unsigned char>(c)]; }
constexpr bool is_ws(char c) { return c == ' ' || c == '\t'; }
// Linear white space as it appears inside a folded field value.
constexpr bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

enum class LineScan : uint8_t { kFound, kNoLineEnd, kBadLineEnding };

// Finds the CRLF ending the line that starts at `p`. On kFound, `*cr` points
// at its CR. A LF without CR before it, or a CR not followed by LF, is
// kBadLineEnding; no LF before `end` is kNoLineEnd (a CR right at `end` may
// still be completed by more bytes).
inline LineScan scan_line(const char* p, const char* end, const char** cr) {
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (lf == nullptr) {
        const auto* stray =
            static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
        if (stray != nullptr && stray + 1 != end) {
            return LineScan::kBadLineEnding;
        }
        return LineScan::kNoLineEnd;
    }
    if (lf == p || lf[-1] != '\r') {
        return LineScan::kBadLineEnding;
    }
    const auto* first_cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(lf - p)));
    if (first_cr != lf - 1) {
        return LineScan::kBadLineEnding;
    }
    *cr = lf - 1;
    return LineScan::kFound;
}

// End of the comma-list element starting at `p`: the separating comma, or
// `end`. Commas inside "quoted strings" (with \-escapes) and <...> don't
// count. An unterminated quote or bracket runs to `end`.
inline const char* list_element_end(const char* p, const char* end) {
    while (p < end) {
        const char c = *p;
        if (c == ',') {
            return p;
        }
        if (c == '"') {
            ++p;
            while (p < end && *p != '"') {
                p += (*p == '\\' && end - p >= 2) ? 2 : 1;
            }
            if (p == end) {
                return end;
            }
            ++p;
        } else if (c == '<') {
            const auto* close =
                static_cast<const char*>(std::memchr(p, '>', static_cast<size_t>(end - p)));
            if (close == nullptr) {
                return end;
            }
            p = close + 1;
        } else {
            ++p;
        }
    }
    return end;
}

}  // namespace fe::sip::internal
