// File: core/token/internal/base64url.h
//
// Base64url without padding (RFC 4648 §5), strict: only A-Z a-z 0-9 - _, no
// '=' padding, no whitespace, and the unused low bits of the last character
// must be zero. Strictness matters: a lenient decoder maps several texts to one
// byte string, and then changing a character of a token could still verify.
//
//   size_t n = encode_base64url(bytes, out);                  // n == base64url_size(bytes.size())
//   std::optional<size_t> m = decode_base64url(text, buffer); // nullopt on any defect
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fe::token::internal {

// Writes base64url_size(bytes.size()) characters to `out`, which must hold them.
size_t encode_base64url(std::span<const uint8_t> bytes, std::span<char> out);

enum class Base64Error : uint8_t {
    kOk = 0,
    kBadLength,     // size % 4 == 1 can never come out of the encoder
    kBadCharacter,  // outside A-Z a-z 0-9 - _
    kNonCanonical,  // unused trailing bits are not zero
    kTooLong,       // decodes to more than out.size() bytes
};

// Decodes into `out`; on kOk, `size` is the number of bytes written.
[[nodiscard]] Base64Error decode_base64url(std::string_view text, std::span<uint8_t> out,
                                           size_t& size);

constexpr bool is_base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

}  // namespace fe::token::internal
