// File: core/stun/client.h
//
// The client half of RFC 5626 §4.4.2 STUN keep-alives, for the UA emulator and
// for an edge that pings an upstream server that asked for it: build a Binding
// request and read the answer. Retransmission timing (RFC 5389 §7.2.1) and the
// "mapped address changed means the flow failed" rule (OB-KA-16) belong to the
// caller, which owns the clock and the flow.
//
//   fe::stun::TransactionId id = random_transaction_id();
//   std::array<uint8_t, fe::stun::kRequestSizeMax> req;
//   size_t size = fe::stun::build_binding_request(id, fe::stun::FingerprintMode::kOmit, req);
//   ...
//   fe::stun::BindingResponse r = fe::stun::read_binding_response(datagram, id);
//   if (r.kind == fe::stun::ResponseKind::kSuccess && r.mapped != last_mapped) {
//       flow_failed();                                   // NAT rebooted or remapped
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/endpoint.h"
#include "core/stun/limits.h"
#include "core/stun/message.h"

namespace fe::stun {

// A 20-byte attribute-less Binding request (plus FINGERPRINT when asked), into
// `out` of at least kRequestSizeMax bytes. Returns the size written.
[[nodiscard]] size_t build_binding_request(const TransactionId& transaction_id,
                                           FingerprintMode fingerprint, std::span<uint8_t> out);

enum class ResponseKind : uint8_t {
    kSuccess,                    // Binding success; `mapped` is the reflexive address
    kError,                      // Binding error; `error_code` says which (OB-KA-15: flow failed)
    kNotOurs,                    // not a Binding response, or another transaction's
    kMalformed,                  // parse failed; `error` says why
    kUnknownRequiredAttribute,   // RFC 5389 §7.3.3: such a success response is discarded
    kMissingMappedAddress,       // success without XOR-MAPPED-ADDRESS: useless for keep-alive
    kMissingErrorCode,           // error response without a usable ERROR-CODE
};

struct [[nodiscard]] BindingResponse {
    ResponseKind kind = ResponseKind::kMalformed;
    ParseError error = ParseError::kOk;
    Endpoint mapped;          // set for kSuccess
    uint16_t error_code = 0;  // set for kError: 300..699
};

// Reads a datagram as the answer to the Binding request `expected`.
BindingResponse read_binding_response(std::span<const uint8_t> datagram,
                                      const TransactionId& expected);

}  // namespace fe::stun
