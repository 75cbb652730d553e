// File: core/stun/server.h
//
// The limited STUN server every RFC 5626 edge runs on each SIP UDP port
// (§8, OB-STUN-03): it answers Binding requests with the request's source
// address in XOR-MAPPED-ADDRESS, answers a request carrying unknown
// comprehension-required attributes with 420, and silently drops everything
// else. No per-transaction state: Binding is idempotent, so a retransmission
// gets a byte-identical answer (RFC 5389 §7.3.1, OB-DEP-11). No allocation.
//
//   std::array<uint8_t, fe::stun::kResponseSizeMax> out;
//   fe::stun::Answer a = fe::stun::answer(datagram, source, out);
//   if (a.verdict == fe::stun::Verdict::kSendSuccess ||
//       a.verdict == fe::stun::Verdict::kSendUnknownAttributes) {
//       send_to(source, {out.data(), a.response_size});   // from the receiving socket
//   } else {
//       count(a);                                          // drop silently
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/endpoint.h"
#include "core/stun/limits.h"
#include "core/stun/message.h"

namespace fe::stun {

enum class Verdict : uint8_t {
    kSendSuccess,            // Binding success response built
    kSendUnknownAttributes,  // 420 error response built (OB-DEP-10)
    kDropMalformed,          // parse failed; Answer::error says why
    kDropNotRequest,         // indication or response: nothing to answer
    kDropUnsupportedMethod,  // a request for a method other than Binding (RFC 5389 §7.3)
};

struct [[nodiscard]] Answer {
    Verdict verdict = Verdict::kDropMalformed;
    ParseError error = ParseError::kOk;
    // Bytes of the response at the front of `out`; 0 unless a kSend* verdict.
    size_t response_size = 0;
};

// Decides what to do with a datagram that looks_like_stun() and builds the
// answer into `out` (at least kResponseSizeMax bytes). `source` is the
// request's source address as received; it becomes the XOR-MAPPED-ADDRESS.
Answer answer(std::span<const uint8_t> datagram, const Endpoint& source, std::span<uint8_t> out);

// The two answers on their own, for callers that parsed already. Each returns
// the size written to `out` (at least kResponseSizeMax bytes).
[[nodiscard]] size_t build_binding_success(const TransactionId& transaction_id,
                                           const Endpoint& mapped, FingerprintMode fingerprint,
                                           std::span<uint8_t> out);
// `unknown_types` holds 1..kUnknownAttributeCountMax attribute types.
[[nodiscard]] size_t build_unknown_attributes_error(const TransactionId& transaction_id,
                                                    std::span<const uint16_t> unknown_types,
                                                    FingerprintMode fingerprint,
                                                    std::span<uint8_t> out);

}  // namespace fe::stun
