// File: core/base/strings.h
//
// Small string helpers over std::string_view. Debian's abseil (20220623) has
// its own absl::string_view type, distinct from std::string_view, so its
// string functions do not take ours; these fill the gap without a copy.
//
//   fe::equals_ignore_case("Via", "VIA");          // true
//   fe::parse_u32("5060");                          // 5060
//   absl::StrCat(fe::to_absl(view), "x");           // pass a view to abseil
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/strings/string_view.h"

namespace fe {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

constexpr bool starts_with_ignore_case(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && equals_ignore_case(s.substr(0, prefix.size()), prefix);
}

inline absl::string_view to_absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view to_std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// Decimal digits only (no sign, no spaces, no empty string), value <= max.
// nullopt on anything else, including overflow.
constexpr std::optional<uint64_t> parse_u64(std::string_view s, uint64_t max = UINT64_MAX) {
    if (s.empty() || s.size() > 20) {
        return std::nullopt;
    }
    uint64_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        uint64_t digit = static_cast<uint64_t>(c - '0');
        if (value > (max - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

constexpr std::optional<uint32_t> parse_u32(std::string_view s, uint32_t max = UINT32_MAX) {
    auto v = parse_u64(s, max);
    if (!v) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(*v);
}

}  // namespace fe
