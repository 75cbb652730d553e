// File: core/syntax/host.h
//
// The host grammar shared by URIs and Via sent-by (RFC 3261 §25.1): hostname,
// IPv4address, or IPv6reference "[...]", plus the host comparison used by URI
// equality (names case-insensitive, addresses by value).
//
//   fe::syntax::HostKind kind;
//   if (fe::syntax::parse_host("[2001:db8::1]", kind) == fe::syntax::Error::kOk) {
//       // kind == HostKind::kIpv6
//   }
#pragma once

#include <cstdint>
#include <string_view>

#include "core/syntax/error.h"

namespace fe::syntax {

enum class HostKind : uint8_t {
    kNone = 0,   // tel: URIs have no host
    kHostname,
    kIpv4,
    kIpv6,       // written with brackets in URIs and sent-by
};

// Validates `host` as a whole. IPv6 must be bracketed. Errors: kMissingHost,
// kBadHost, kHostTooLong, kBadIpv4, kBadIpv6.
Error parse_host(std::string_view host, HostKind& kind);

// Validates an IPv4address or a bare (unbracketed) IPv6address, as in Via
// received (RFC 3261 §20.42). Errors: kBadIpv4, kBadIpv6.
Error parse_ip_address(std::string_view text, HostKind& kind);

// The IPv6 address without its brackets; other hosts unchanged.
constexpr std::string_view host_address(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

// Host equality for RFC 3261 §19.1.4: hostnames compare case-insensitively,
// IP addresses by value ("[::1]" equals "[0:0::1]", "010.0.0.1" equals
// "10.0.0.1"). Both arguments must have passed parse_host().
bool host_equal(std::string_view a, HostKind a_kind, std::string_view b, HostKind b_kind);

}  // namespace fe::syntax
