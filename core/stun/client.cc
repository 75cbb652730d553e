#include "core/stun/client.h"

#include "core/base/assert.h"
#include "core/stun/internal/wire.h"

namespace fe::stun {

size_t build_binding_request(const TransactionId& transaction_id, FingerprintMode fingerprint,
                             std::span<uint8_t> out) {
    FE_ASSERT(out.size() >= kRequestSizeMax);
    internal::Writer w(out, kBindingRequest, transaction_id);
    size_t size = w.finish(fingerprint);
    FE_ASSERT(size <= kRequestSizeMax);
    return size;
}

BindingResponse read_binding_response(std::span<const uint8_t> datagram,
                                      const TransactionId& expected) {
    BindingResponse result;
    Message msg;
    result.error = parse(datagram, msg);
    if (result.error != ParseError::kOk) {
        result.kind = ResponseKind::kMalformed;
        return result;
    }
    if ((msg.type != kBindingSuccess && msg.type != kBindingError) ||
        msg.transaction_id != expected) {
        result.kind = ResponseKind::kNotOurs;
        return result;
    }
    if (msg.type == kBindingError) {
        // RFC 5389 §7.3.4: unknown attributes in an error response are
        // harmless; the code is what matters.
        result.kind = msg.error_code != 0 ? ResponseKind::kError : ResponseKind::kMissingErrorCode;
        result.error_code = msg.error_code;
        return result;
    }
    if (msg.unknown_attribute_count > 0) {
        result.kind = ResponseKind::kUnknownRequiredAttribute;
        return result;
    }
    if (msg.xor_mapped_address.empty()) {
        result.kind = ResponseKind::kMissingMappedAddress;
        return result;
    }
    result.kind = ResponseKind::kSuccess;
    result.mapped = msg.xor_mapped_address;
    return result;
}

}  // namespace fe::stun
