#include "core/syntax/internal/chars.h"

namespace fe::syntax::internal {

Error parse_number(std::string_view s, uint64_t max, uint64_t& out) {
    out = 0;
    if (s.empty()) {
        return Error::kEmpty;
    }
    // Check every byte first so "99999999999999999999x" reports the bad
    // character rather than the overflow.
    if (!is_digits(s)) {
        return Error::kNotANumber;
    }
    uint64_t value = 0;
    for (char c : s) {
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (value > (max - digit) / 10) {
            return Error::kNumberOutOfRange;
        }
        value = value * 10 + digit;
    }
    out = value;
    return Error::kOk;
}

Error scan_quoted_string(std::string_view s, size_t pos, size_t& end) {
    if (pos >= s.size() || s[pos] != '"') {
        return Error::kBadQuotedString;
    }
    size_t i = pos + 1;
    while (i < s.size()) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c == '"') {
            end = i + 1;
            return Error::kOk;
        }
        if (c == '\\') {
            if (i + 1 >= s.size()) {
                return Error::kUnterminatedQuote;
            }
            const auto escaped = static_cast<uint8_t>(s[i + 1]);
            // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
            if (escaped == '\r' || escaped == '\n' || escaped > 0x7F) {
                return Error::kBadQuotedString;
            }
            i += 2;
            continue;
        }
        if (c == '\r') {
            // Only a header fold (CRLF then SP/HTAB) may appear; it is LWS.
            if (i + 2 < s.size() && s[i + 1] == '\n' && (s[i + 2] == ' ' || s[i + 2] == '\t')) {
                i += 3;
                continue;
            }
            return Error::kBadQuotedString;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return Error::kBadQuotedString;
        }
        // Bytes >= 0x80 are UTF8-NONASCII; we pass them through unvalidated
        // because nothing in the edge interprets display names or values.
        ++i;
    }
    return Error::kUnterminatedQuote;
}

bool parse_ipv4(std::string_view s, uint8_t out[4]) {
    size_t part_index = 0;
    size_t i = 0;
    while (part_index < 4) {
        size_t digit_count = 0;
        uint32_t value = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digit_count < 3) {
            value = value * 10 + static_cast<uint32_t>(s[i] - '0');
            ++i;
            ++digit_count;
        }
        if (digit_count == 0 || value > 255) {
            return false;
        }
        out[part_index] = static_cast<uint8_t>(value);
        ++part_index;
        if (part_index < 4) {
            if (i >= s.size() || s[i] != '.') {
                return false;
            }
            ++i;
        }
    }
    return i == s.size();
}

namespace {

// One group of 1-4 hex digits; false on anything else.
bool parse_hex4(std::string_view piece, uint16_t& value) {
    if (piece.empty() || piece.size() > 4) {
        return false;
    }
    uint32_t v = 0;
    for (char c : piece) {
        const int h = hex_value(c);
        if (h < 0) {
            return false;
        }
        v = v * 16 + static_cast<uint32_t>(h);
    }
    value = static_cast<uint16_t>(v);
    return true;
}

}  // namespace

bool parse_ipv6(std::string_view s, uint8_t out[16]) {
    uint16_t groups[8] = {};
    int group_count = 0;
    int gap_index = -1;  // where "::" stands, as a group index
    size_t i = 0;
    if (s.size() < 2) {
        return false;
    }
    if (s[0] == ':') {
        if (s[1] != ':') {
            return false;
        }
        gap_index = 0;
        i = 2;
    }
    while (i < s.size()) {
        if (group_count == 8) {
            return false;
        }
        const size_t colon = s.find(':', i);
        const size_t piece_end = colon == std::string_view::npos ? s.size() : colon;
        const std::string_view piece = s.substr(i, piece_end - i);
        if (piece.find('.') != std::string_view::npos) {
            // An embedded IPv4 address ends the address and fills two groups.
            uint8_t v4[4];
            if (colon != std::string_view::npos || group_count > 6 || !parse_ipv4(piece, v4)) {
                return false;
            }
            groups[group_count++] = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
            groups[group_count++] = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
            i = s.size();
            break;
        }
        if (!parse_hex4(piece, groups[group_count])) {
            return false;
        }
        ++group_count;
        i = piece_end;
        if (i == s.size()) {
            break;
        }
        ++i;  // the ':'
        if (i < s.size() && s[i] == ':') {
            if (gap_index >= 0) {
                return false;  // "::" twice
            }
            gap_index = group_count;
            ++i;
        } else if (i == s.size()) {
            return false;  // a single trailing ':'
        }
    }
    if (gap_index < 0 ? group_count != 8 : group_count > 7) {
        return false;
    }
    const int zero_count = 8 - group_count;
    int out_group = 0;
    for (int g = 0; g < group_count; ++g) {
        if (g == gap_index) {
            out_group += zero_count;
        }
        out[2 * out_group] = static_cast<uint8_t>(groups[g] >> 8);
        out[2 * out_group + 1] = static_cast<uint8_t>(groups[g] & 0xFF);
        ++out_group;
    }
    // Zero the gap (it may be at the end, after every written group).
    for (int g = 0; g < 8; ++g) {
        const bool in_gap = gap_index >= 0 && g >= gap_index && g < gap_index + zero_count;
        if (in_gap) {
            out[2 * g] = 0;
            out[2 * g + 1] = 0;
        }
    }
    return true;
}

}  // namespace fe::syntax::internal
