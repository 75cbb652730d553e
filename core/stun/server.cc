#include "core/stun/server.h"

#include <cstring>
#include <string_view>

#include "core/base/assert.h"
#include "core/stun/internal/wire.h"

namespace fe::stun {
namespace {

// RFC 5389 §15.6 recommends this phrase for 420.
constexpr std::string_view kUnknownAttributeReason = "Unknown Attribute";

}  // namespace

size_t build_binding_success(const TransactionId& transaction_id, const Endpoint& mapped,
                             FingerprintMode fingerprint, std::span<uint8_t> out) {
    FE_ASSERT(out.size() >= kResponseSizeMax);
    FE_ASSERT(!mapped.empty());
    internal::Writer w(out, kBindingSuccess, transaction_id);
    internal::put_xor_mapped_address(w, mapped, transaction_id);
    size_t size = w.finish(fingerprint);
    FE_ASSERT(size <= kResponseSizeMax);
    return size;
}

size_t build_unknown_attributes_error(const TransactionId& transaction_id,
                                      std::span<const uint16_t> unknown_types,
                                      FingerprintMode fingerprint, std::span<uint8_t> out) {
    FE_ASSERT(out.size() >= kResponseSizeMax);
    FE_ASSERT(!unknown_types.empty());
    FE_ASSERT(unknown_types.size() <= kUnknownAttributeCountMax);
    internal::Writer w(out, kBindingError, transaction_id);

    uint8_t* code = w.begin_attribute(kAttrErrorCode, 4 + kUnknownAttributeReason.size());
    code[2] = 4;   // class: 420 / 100
    code[3] = 20;  // number: 420 % 100
    std::memcpy(code + 4, kUnknownAttributeReason.data(), kUnknownAttributeReason.size());

    // RFC 5389 §15.9: a list of 16-bit types; the padding is ordinary zero
    // padding (RFC 3489's "repeat an attribute" rule is gone).
    uint8_t* list = w.begin_attribute(kAttrUnknownAttributes, 2 * unknown_types.size());
    for (size_t i = 0; i < unknown_types.size(); ++i) {
        internal::store_u16(list + 2 * i, unknown_types[i]);
    }
    size_t size = w.finish(fingerprint);
    FE_ASSERT(size <= kResponseSizeMax);
    return size;
}

Answer answer(std::span<const uint8_t> datagram, const Endpoint& source, std::span<uint8_t> out) {
    FE_ASSERT(out.size() >= kResponseSizeMax);
    Message request;
    Answer result;
    result.error = parse(datagram, request);
    if (result.error != ParseError::kOk) {
        result.verdict = Verdict::kDropMalformed;
        return result;
    }
    if (message_method(request.type) != kMethodBinding) {
        result.verdict = Verdict::kDropUnsupportedMethod;
        return result;
    }
    if (request.type != kBindingRequest) {
        result.verdict = Verdict::kDropNotRequest;
        return result;
    }
    FingerprintMode fingerprint =
        request.has_fingerprint ? FingerprintMode::kAdd : FingerprintMode::kOmit;
    if (request.unknown_attribute_count > 0) {
        result.verdict = Verdict::kSendUnknownAttributes;
        result.response_size = build_unknown_attributes_error(
            request.transaction_id, request.unknown_attributes(), fingerprint, out);
        return result;
    }
    result.verdict = Verdict::kSendSuccess;
    result.response_size =
        build_binding_success(request.transaction_id, source, fingerprint, out);
    return result;
}

}  // namespace fe::stun
