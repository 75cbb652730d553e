#include "core/base/endpoint.h"

#include <cstdio>

#include "core/base/strings.h"

namespace fe {
namespace {

std::optional<std::array<uint8_t, 4>> parse_v4(std::string_view s) {
    std::array<uint8_t, 4> out{};
    size_t part = 0;
    size_t i = 0;
    while (part < 4) {
        size_t start = i;
        uint32_t value = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' &&
               i - start < 3) {
            value = value * 10 + static_cast<uint32_t>(s[i] - '0');
            ++i;
        }
        if (i == start || value > 255) {
            return std::nullopt;
        }
        out[part++] = static_cast<uint8_t>(value);
        if (part < 4) {
            if (i >= s.size() || s[i] != '.') {
                return std::nullopt;
            }
            ++i;
        }
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 4291 §2.2 text forms, including "::" and a trailing dotted quad.
std::optional<std::array<uint8_t, 16>> parse_v6(std::string_view s) {
    std::array<uint16_t, 8> groups{};
    int count = 0;
    int gap = -1;  // index in groups where "::" stands
    size_t i = 0;
    if (s.size() < 2 || s.size() > 45) {
        return std::nullopt;
    }
    if (s[0] == ':') {
        if (s[1] != ':') return std::nullopt;
        gap = 0;
        i = 2;
        if (i == s.size()) {
            return std::array<uint8_t, 16>{};
        }
    }
    while (i < s.size()) {
        if (count == 8) return std::nullopt;
        // A dotted quad may end the address.
        size_t dot = s.find('.', i);
        size_t colon = s.find(':', i);
        if (dot != std::string_view::npos && (colon == std::string_view::npos || dot < colon)) {
            auto v4 = parse_v4(s.substr(i));
            if (!v4 || count > 6) return std::nullopt;
            groups[static_cast<size_t>(count++)] = static_cast<uint16_t>((*v4)[0] << 8 | (*v4)[1]);
            groups[static_cast<size_t>(count++)] = static_cast<uint16_t>((*v4)[2] << 8 | (*v4)[3]);
            i = s.size();
            break;
        }
        uint32_t value = 0;
        size_t start = i;
        while (i < s.size() && hex_value(s[i]) >= 0 && i - start < 4) {
            value = value << 4 | static_cast<uint32_t>(hex_value(s[i]));
            ++i;
        }
        if (i == start) return std::nullopt;
        groups[static_cast<size_t>(count++)] = static_cast<uint16_t>(value);
        if (i == s.size()) break;
        if (s[i] != ':') return std::nullopt;
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (gap >= 0) return std::nullopt;
            gap = count;
            ++i;
        } else if (i == s.size()) {
            return std::nullopt;  // trailing single colon
        }
    }
    std::array<uint16_t, 8> full{};
    if (gap >= 0) {
        if (count == 8) return std::nullopt;
        int tail = count - gap;
        for (int k = 0; k < gap; ++k) full[static_cast<size_t>(k)] = groups[static_cast<size_t>(k)];
        for (int k = 0; k < tail; ++k) {
            full[static_cast<size_t>(8 - tail + k)] = groups[static_cast<size_t>(gap + k)];
        }
    } else {
        if (count != 8) return std::nullopt;
        full = groups;
    }
    std::array<uint8_t, 16> out{};
    for (size_t k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<uint8_t>(full[k] & 0xff);
    }
    return out;
}

}  // namespace

std::string_view transport_via_name(Transport t) {
    switch (t) {
        case Transport::kUdp: return "UDP";
        case Transport::kTcp: return "TCP";
        case Transport::kTls: return "TLS";
        case Transport::kWs: return "WS";
        case Transport::kWss: return "WSS";
    }
    return "UDP";
}

std::string_view transport_param_name(Transport t) {
    switch (t) {
        case Transport::kUdp: return "udp";
        case Transport::kTcp: return "tcp";
        case Transport::kTls: return "tls";
        case Transport::kWs: return "ws";
        case Transport::kWss: return "wss";
    }
    return "udp";
}

std::optional<Transport> transport_from_name(std::string_view name) {
    for (Transport t : {Transport::kUdp, Transport::kTcp, Transport::kTls, Transport::kWs,
                        Transport::kWss}) {
        if (equals_ignore_case(name, transport_param_name(t))) {
            return t;
        }
    }
    return std::nullopt;
}

Endpoint Endpoint::v4(uint32_t host_order_addr, uint16_t port) {
    Endpoint e;
    e.family = Family::kV4;
    e.port = port;
    e.addr[0] = static_cast<uint8_t>(host_order_addr >> 24);
    e.addr[1] = static_cast<uint8_t>(host_order_addr >> 16);
    e.addr[2] = static_cast<uint8_t>(host_order_addr >> 8);
    e.addr[3] = static_cast<uint8_t>(host_order_addr);
    return e;
}

Endpoint Endpoint::v6(const std::array<uint8_t, 16>& addr, uint16_t port) {
    Endpoint e;
    e.family = Family::kV6;
    e.port = port;
    e.addr = addr;
    return e;
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    std::string_view host = text;
    std::string_view port_text;
    bool bracketed = false;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        bracketed = true;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return std::nullopt;
            port_text = rest.substr(1);
            if (port_text.empty()) return std::nullopt;
        }
    } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                              text.find(':', colon + 1) == std::string_view::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (port_text.empty()) return std::nullopt;
    }
    uint16_t port = 0;
    if (!port_text.empty()) {
        auto p = parse_u32(port_text, 65535);
        if (!p) {
            return std::nullopt;
        }
        port = static_cast<uint16_t>(*p);
    }
    if (!bracketed) {
        if (auto v4 = parse_v4(host)) {
            Endpoint e;
            e.family = Family::kV4;
            e.port = port;
            std::copy(v4->begin(), v4->end(), e.addr.begin());
            return e;
        }
    }
    if (auto v6 = parse_v6(host)) {
        return Endpoint::v6(*v6, port);
    }
    return std::nullopt;
}

size_t Endpoint::write_address(char* out) const {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t n = 0;
    if (is_v4()) {
        for (size_t k = 0; k < 4; ++k) {
            if (k > 0) {
                out[n++] = '.';
            }
            const unsigned v = addr[k];
            if (v >= 100) {
                out[n++] = static_cast<char>('0' + v / 100);
            }
            if (v >= 10) {
                out[n++] = static_cast<char>('0' + v / 10 % 10);
            }
            out[n++] = static_cast<char>('0' + v % 10);
        }
        return n;
    }
    if (!is_v6()) {
        return 0;
    }
    // RFC 5952: lower case, longest run of zero groups (length >= 2) as "::".
    uint16_t g[8];
    for (size_t k = 0; k < 8; ++k) g[k] = static_cast<uint16_t>(addr[2 * k] << 8 | addr[2 * k + 1]);
    int best = -1, best_len = 0;
    for (int k = 0; k < 8;) {
        if (g[k] != 0) {
            ++k;
            continue;
        }
        int start = k;
        while (k < 8 && g[k] == 0) ++k;
        if (k - start > best_len && k - start >= 2) {
            best = start;
            best_len = k - start;
        }
    }
    for (int k = 0; k < 8; ++k) {
        if (k == best) {
            out[n++] = ':';
            out[n++] = ':';
            k += best_len - 1;
            continue;
        }
        if (n > 0 && out[n - 1] != ':') {
            out[n++] = ':';
        }
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned digit = (g[k] >> shift) & 0xF;
            if (started || digit != 0 || shift == 0) {
                out[n++] = kHex[digit];
                started = true;
            }
        }
    }
    return n;
}

std::string Endpoint::address_string() const {
    char buf[kAddressTextSizeMax];
    return std::string(buf, write_address(buf));
}

std::string Endpoint::to_string() const {
    std::string out = is_v6() ? "[" + address_string() + "]" : address_string();
    out += ':';
    out += std::to_string(port);
    return out;
}

}  // namespace fe
