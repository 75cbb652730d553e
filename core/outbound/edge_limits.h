// File: core/outbound/edge_limits.h
//
// Named limits of the pure edge decisions (core/outbound/edge.h), each with
// its reason. Callers size their stack buffers from these.
//
//   char path[fe::outbound::kFlowUriValueSizeMax];
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/token/limits.h"

namespace fe::outbound {

// Longest host we put into our own Path / Record-Route / Via (the
// --advertise name or the listen address). A DNS name is at most 253 bytes;
// 255 keeps a bracketed IPv6 literal too.
inline constexpr size_t kEdgeHostSizeMax = 255;

// "<sip:" TOKEN "@" HOST ":" PORT ";transport=" T ";lr;ob>": 5 + token + 1 +
// host + 6 + 11 + 3 + 3 + 4 + 1. 64 bytes of slack for the fixed parts.
inline constexpr size_t kFlowUriValueSizeMax = token::kTokenTextSizeMax + kEdgeHostSizeMax + 64;

// Our Via branch: "z9hG4bK" "-fe" 16 hex digits "-" 16 hex digits = 43 bytes.
inline constexpr size_t kBranchSizeMax = 48;

// ";received=" IPv6 (45 bytes at most in text) ";rport=" 5 digits.
inline constexpr size_t kViaReceivedSizeMax = 80;

// Our whole Via value: "SIP/2.0/TLS " host ":" port ";branch=" branch
// ";fl=" token. 40 bytes of slack for the fixed parts.
inline constexpr size_t kEdgeViaValueSizeMax =
    kEdgeHostSizeMax + kBranchSizeMax + token::kTokenTextSizeMax + 40;

// Route values naming this node that one request may carry at its top and
// have removed (RFC 3261 §16.4, RFC 5626 §5.3). A route set visits this node
// at most twice in a row (the caller's and the callee's token Record-Route
// when both sit behind it); 8 leaves room for spirals without letting a
// request make the walk long.
inline constexpr uint8_t kRouteValuesOursMax = 8;

// Max-Forwards the edge adds when a request has none (RFC 3261 §16.6 step 3).
// (The home proxy has its own kMaxForwardsDefault in proxy_limits.h.)
inline constexpr uint32_t kEdgeMaxForwardsDefault = 70;

}  // namespace fe::outbound
