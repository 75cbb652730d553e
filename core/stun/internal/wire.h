// File: core/stun/internal/wire.h
//
// Big-endian loads and stores and the message writer shared by the server and
// client builders. Not part of the public API.
//
//   Writer w(out, kBindingSuccess, transaction_id);
//   uint8_t* v = w.begin_attribute(kAttrXorMappedAddress, 8);
//   ... fill v ...
//   size_t size = w.finish(FingerprintMode::kAdd);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/assert.h"
#include "core/stun/message.h"

namespace fe::stun {

namespace internal {

inline uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load_u32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}
inline void store_u16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void store_u32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// RFC 5389 §15.2: the port is XORed with the cookie's top half, an IPv4
// address with the cookie, an IPv6 address with the cookie then the
// transaction id. The same operation encodes and decodes; `size` is 4 or 16.
inline void xor_address(const uint8_t* in, size_t size, const TransactionId& id, uint8_t* out) {
    uint8_t mask[16];
    store_u32(mask, kMagicCookie);
    for (size_t i = 0; i < kTransactionIdSize; ++i) {
        mask[4 + i] = id[i];
    }
    for (size_t i = 0; i < size; ++i) {
        out[i] = static_cast<uint8_t>(in[i] ^ mask[i]);
    }
}

constexpr size_t padded_size(size_t size) { return (size + 3) & ~size_t{3}; }

// Appends attributes to a message in a caller buffer. The caller sizes the
// buffer (limits.h); running past it is a programmer error and asserts.
class Writer {
  public:
    Writer(std::span<uint8_t> out, uint16_t type, const TransactionId& transaction_id);

    // Writes an attribute header, zeroes the padded value and returns where
    // the `value_size` value bytes go.
    uint8_t* begin_attribute(uint16_t type, size_t value_size);

    // Sets the header length, appends FINGERPRINT when asked, returns the size.
    size_t finish(FingerprintMode fingerprint);

  private:
    std::span<uint8_t> out_;
    // Bytes written so far; always a multiple of 4 and <= out_.size().
    size_t size_ = 0;
};

// Writes XOR-MAPPED-ADDRESS for `mapped` (RFC 5389 §15.2).
void put_xor_mapped_address(Writer& w, const Endpoint& mapped, const TransactionId& id);

}  // namespace internal
}  // namespace fe::stun
