// File: core/base/endpoint.h
//
// Transport-level names shared by every layer: the transport of a flow and an
// IP endpoint (address + port), kept as plain bytes so core/ needs no socket
// headers. net/ converts to and from sockaddr.
//
//   fe::Endpoint ep = *fe::Endpoint::parse("192.0.2.2:5060");
//   ep.is_v4();            // true
//   ep.to_string();        // "192.0.2.2:5060"; IPv6 prints as "[2001:db8::1]:5060"
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"

namespace fe {

// Values are part of the flow-token wire format: never renumber.
enum class Transport : uint8_t {
    kUdp = 1,
    kTcp = 2,
    kTls = 3,
    kWs = 4,
    kWss = 5,
};

// "UDP", "TCP", "TLS", "WS", "WSS" as in a Via sent-protocol.
std::string_view transport_via_name(Transport t);
// "udp", "tcp", "tls", "ws", "wss" as in a URI transport= parameter.
std::string_view transport_param_name(Transport t);
// Case-insensitive inverse of both; nullopt when unknown.
std::optional<Transport> transport_from_name(std::string_view name);
constexpr bool transport_is_stream(Transport t) { return t != Transport::kUdp; }

struct Endpoint {
    enum class Family : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

    Family family = Family::kNone;
    uint16_t port = 0;
    // IPv4 uses the first 4 bytes; the rest stay zero so equality and hashing
    // can look at the whole array.
    std::array<uint8_t, 16> addr{};

    static Endpoint v4(uint32_t host_order_addr, uint16_t port);
    static Endpoint v6(const std::array<uint8_t, 16>& addr, uint16_t port);
    // "1.2.3.4:5", "[::1]:5", and without a port "1.2.3.4", "::1", "[::1]"
    // (port 0). nullopt on anything else.
    static std::optional<Endpoint> parse(std::string_view text);

    bool is_v4() const { return family == Family::kV4; }
    bool is_v6() const { return family == Family::kV6; }
    bool empty() const { return family == Family::kNone; }
    // Address only: "192.0.2.2" or "2001:db8::1" (no brackets).
    std::string address_string() const;
    // The same text into `out` (at least kAddressTextSizeMax bytes), without
    // an allocation, for the per-message paths; returns its size.
    static constexpr size_t kAddressTextSizeMax = 40;  // 8 groups of 4 hex digits, 7 colons
    size_t write_address(char* out) const;
    // Address and port: "192.0.2.2:5060" or "[2001:db8::1]:5060".
    std::string to_string() const;

    friend bool operator==(const Endpoint&, const Endpoint&) = default;

    template <typename H>
    friend H AbslHashValue(H h, const Endpoint& e) {
        return H::combine(std::move(h), e.family, e.port, e.addr);
    }
};

}  // namespace fe
