#include "core/stun/internal/wire.h"

#include <cstring>

#include "core/stun/internal/crc32.h"

namespace fe::stun::internal {

Writer::Writer(std::span<uint8_t> out, uint16_t type, const TransactionId& transaction_id)
    : out_(out) {
    FE_ASSERT(out_.size() >= kHeaderSize);
    FE_ASSERT((type & 0xC000) == 0);
    store_u16(out_.data(), type);
    store_u16(out_.data() + 2, 0);
    store_u32(out_.data() + 4, kMagicCookie);
    std::memcpy(out_.data() + 8, transaction_id.data(), kTransactionIdSize);
    size_ = kHeaderSize;
}

uint8_t* Writer::begin_attribute(uint16_t type, size_t value_size) {
    FE_ASSERT(value_size <= UINT16_MAX);
    size_t total = kAttributeHeaderSize + padded_size(value_size);
    FE_ASSERT(total <= out_.size() - size_);
    uint8_t* p = out_.data() + size_;
    store_u16(p, type);
    store_u16(p + 2, static_cast<uint16_t>(value_size));
    std::memset(p + kAttributeHeaderSize, 0, padded_size(value_size));
    size_ += total;
    return p + kAttributeHeaderSize;
}

size_t Writer::finish(FingerprintMode fingerprint) {
    if (fingerprint == FingerprintMode::kAdd) {
        // RFC 5389 §15.5: the CRC covers the header with a length that already
        // counts the FINGERPRINT attribute itself.
        size_t crc_size = size_;
        FE_ASSERT(kAttributeHeaderSize + 4 <= out_.size() - size_);
        store_u16(out_.data() + 2, static_cast<uint16_t>(size_ + 8 - kHeaderSize));
        uint32_t crc = crc32(out_.first(crc_size)) ^ kFingerprintXor;
        store_u32(begin_attribute(kAttrFingerprint, 4), crc);
    }
    FE_ASSERT(size_ - kHeaderSize <= UINT16_MAX);
    store_u16(out_.data() + 2, static_cast<uint16_t>(size_ - kHeaderSize));
    return size_;
}

void put_xor_mapped_address(Writer& w, const Endpoint& mapped, const TransactionId& id) {
    FE_ASSERT(!mapped.empty());
    size_t address_size = mapped.is_v4() ? 4 : 16;
    uint8_t* v = w.begin_attribute(kAttrXorMappedAddress, 4 + address_size);
    v[0] = 0;
    v[1] = mapped.is_v4() ? kFamilyV4 : kFamilyV6;
    store_u16(v + 2, static_cast<uint16_t>(mapped.port ^ (kMagicCookie >> 16)));
    xor_address(mapped.addr.data(), address_size, id, v + 4);
}

}  // namespace fe::stun::internal
