#include "core/stun/message.h"

#include "core/stun/internal/crc32.h"
#include "core/stun/internal/wire.h"

namespace fe::stun {
namespace {

using internal::load_u16;
using internal::load_u32;

// The RFC 5389 attributes we understand. Anything else below 0x8000 is an
// unknown comprehension-required attribute and earns a 420.
bool attribute_is_known(uint16_t type) {
    switch (type) {
        case kAttrMappedAddress:
        case kAttrUsername:
        case kAttrMessageIntegrity:
        case kAttrErrorCode:
        case kAttrUnknownAttributes:
        case kAttrRealm:
        case kAttrNonce:
        case kAttrXorMappedAddress:
            return true;
        default:
            return false;
    }
}

// Cookie and framing come before the size limit so that an oversize SIP
// datagram is never taken for STUN (looks_like_stun() relies on the order).
ParseError check_header(std::span<const uint8_t> datagram) {
    if (datagram.size() < kHeaderSize) {
        return ParseError::kTooShort;
    }
    if ((datagram[0] & 0xC0) != 0) {
        return ParseError::kBadLeadingBits;
    }
    if (load_u32(datagram.data() + 4) != kMagicCookie) {
        return ParseError::kBadMagicCookie;
    }
    size_t length = load_u16(datagram.data() + 2);
    if (length % 4 != 0) {
        return ParseError::kLengthNotAligned;
    }
    if (length + kHeaderSize != datagram.size()) {
        return ParseError::kLengthMismatch;
    }
    if (datagram.size() > kMessageSizeMax) {
        return ParseError::kTooLarge;
    }
    return ParseError::kOk;
}

ParseError decode_xor_mapped_address(std::span<const uint8_t> value, const TransactionId& id,
                                     Endpoint& out) {
    if (value.size() < 4) {
        return ParseError::kXorMappedAddressBadLength;
    }
    uint8_t family = value[1];
    size_t address_size = 0;
    if (family == kFamilyV4) {
        address_size = 4;
        out.family = Endpoint::Family::kV4;
    } else if (family == kFamilyV6) {
        address_size = 16;
        out.family = Endpoint::Family::kV6;
    } else {
        return ParseError::kXorMappedAddressBadFamily;
    }
    if (value.size() != 4 + address_size) {
        return ParseError::kXorMappedAddressBadLength;
    }
    out.port = static_cast<uint16_t>(load_u16(value.data() + 2) ^ (kMagicCookie >> 16));
    out.addr = {};
    internal::xor_address(value.data() + 4, address_size, id, out.addr.data());
    return ParseError::kOk;
}

// RFC 5389 §15.6: 21 reserved bits, class (3 bits, 3..6), number (8 bits,
// 0..99), then a UTF-8 reason phrase.
ParseError decode_error_code(std::span<const uint8_t> value, Message& out) {
    if (value.size() < 4 || value.size() > 4 + kErrorReasonSizeMax) {
        return ParseError::kErrorCodeBadLength;
    }
    uint8_t error_class = value[2] & 0x07;
    uint8_t number = value[3];
    if (error_class < 3 || error_class > 6 || number > 99) {
        return ParseError::kErrorCodeBadValue;
    }
    out.error_code = static_cast<uint16_t>(error_class * 100 + number);
    out.error_reason = std::string_view(reinterpret_cast<const char*>(value.data() + 4),
                                        value.size() - 4);
    return ParseError::kOk;
}

void note_unknown(uint16_t type, Message& out) {
    for (uint16_t seen : out.unknown_attributes()) {
        if (seen == type) {
            return;
        }
    }
    if (out.unknown_attribute_count < kUnknownAttributeCountMax) {
        out.unknown_attribute_types[out.unknown_attribute_count++] = type;
    }
}

// FINGERPRINT must be the last attribute; since the header length already
// matches the datagram, the CRC covers everything before the attribute.
ParseError check_fingerprint(std::span<const uint8_t> datagram, size_t attribute_offset,
                             std::span<const uint8_t> value) {
    if (value.size() != 4) {
        return ParseError::kFingerprintBadLength;
    }
    if (attribute_offset + kAttributeHeaderSize + 4 != datagram.size()) {
        return ParseError::kFingerprintNotLast;
    }
    uint32_t expected = internal::crc32(datagram.first(attribute_offset)) ^ kFingerprintXor;
    if (load_u32(value.data()) != expected) {
        return ParseError::kFingerprintMismatch;
    }
    return ParseError::kOk;
}

ParseError decode_attribute(std::span<const uint8_t> datagram, size_t offset, uint16_t type,
                            std::span<const uint8_t> value, Message& out) {
    if (type == kAttrFingerprint) {
        ParseError error = check_fingerprint(datagram, offset, value);
        out.has_fingerprint = error == ParseError::kOk;
        return error;
    }
    if (out.has_message_integrity) {
        return ParseError::kOk;  // RFC 5389 §15.4: ignore what follows it
    }
    switch (type) {
        case kAttrMessageIntegrity:
            out.has_message_integrity = true;
            return ParseError::kOk;
        case kAttrXorMappedAddress:
            if (!out.xor_mapped_address.empty()) {
                return ParseError::kOk;  // RFC 5389 §15: only the first counts
            }
            return decode_xor_mapped_address(value, out.transaction_id, out.xor_mapped_address);
        case kAttrErrorCode:
            if (out.error_code != 0) {
                return ParseError::kOk;
            }
            return decode_error_code(value, out);
        default:
            if (attribute_is_comprehension_required(type) && !attribute_is_known(type)) {
                note_unknown(type, out);
            }
            return ParseError::kOk;
    }
}

}  // namespace

bool looks_like_stun(std::span<const uint8_t> datagram) {
    ParseError error = check_header(datagram);
    // A STUN-shaped datagram over our size limit is still STUN, not SIP: let
    // parse() count it as too large instead of handing it to the SIP parser.
    return error == ParseError::kOk || error == ParseError::kTooLarge;
}

ParseError parse(std::span<const uint8_t> datagram, Message& out) {
    out = Message{};
    ParseError error = check_header(datagram);
    if (error != ParseError::kOk) {
        return error;
    }
    out.type = load_u16(datagram.data());
    for (size_t i = 0; i < kTransactionIdSize; ++i) {
        out.transaction_id[i] = datagram[8 + i];
    }
    size_t offset = kHeaderSize;
    while (offset < datagram.size()) {
        // Offsets and the size are multiples of 4, so a whole header fits.
        FE_ASSERT(datagram.size() - offset >= kAttributeHeaderSize);
        uint16_t type = load_u16(datagram.data() + offset);
        size_t value_size = load_u16(datagram.data() + offset + 2);
        size_t value_offset = offset + kAttributeHeaderSize;
        if (internal::padded_size(value_size) > datagram.size() - value_offset) {
            return ParseError::kAttributeValueTruncated;
        }
        error = decode_attribute(datagram, offset, type, datagram.subspan(value_offset, value_size),
                                 out);
        if (error != ParseError::kOk) {
            return error;
        }
        offset = value_offset + internal::padded_size(value_size);
    }
    FE_ASSERT(offset == datagram.size());
    return ParseError::kOk;
}

std::string_view parse_error_name(ParseError error) {
    switch (error) {
        case ParseError::kOk: return "ok";
        case ParseError::kTooShort: return "too_short";
        case ParseError::kTooLarge: return "too_large";
        case ParseError::kBadLeadingBits: return "bad_leading_bits";
        case ParseError::kBadMagicCookie: return "bad_magic_cookie";
        case ParseError::kLengthNotAligned: return "length_not_aligned";
        case ParseError::kLengthMismatch: return "length_mismatch";
        case ParseError::kAttributeValueTruncated: return "attribute_value_truncated";
        case ParseError::kFingerprintBadLength: return "fingerprint_bad_length";
        case ParseError::kFingerprintNotLast: return "fingerprint_not_last";
        case ParseError::kFingerprintMismatch: return "fingerprint_mismatch";
        case ParseError::kXorMappedAddressBadLength: return "xor_mapped_address_bad_length";
        case ParseError::kXorMappedAddressBadFamily: return "xor_mapped_address_bad_family";
        case ParseError::kErrorCodeBadLength: return "error_code_bad_length";
        case ParseError::kErrorCodeBadValue: return "error_code_bad_value";
    }
    return "unknown";
}

}  // namespace fe::stun
