#include "core/syntax/host.h"

#include <cstring>

#include "core/base/strings.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::in_class;
using internal::kAlpha;
using internal::kDigit;

bool is_alnum(char c) { return in_class(c, kAlpha | kDigit); }

// hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1).
Error check_hostname(std::string_view host) {
    if (host.back() == '.') {
        host.remove_suffix(1);
    }
    if (host.empty()) {
        return Error::kBadHost;
    }
    size_t label_start = 0;
    while (label_start <= host.size()) {
        size_t dot = host.find('.', label_start);
        if (dot == std::string_view::npos) {
            dot = host.size();
        }
        const std::string_view label = host.substr(label_start, dot - label_start);
        if (label.empty()) {
            return Error::kBadHost;
        }
        if (label.size() > kHostLabelSizeMax) {
            return Error::kHostTooLong;
        }
        if (!is_alnum(label.front()) || !is_alnum(label.back())) {
            return Error::kBadHost;
        }
        for (char c : label) {
            if (!is_alnum(c) && c != '-') {
                return Error::kBadHost;
            }
        }
        label_start = dot + 1;
    }
    // toplabel starts with ALPHA; the caller sent digit-led names to IPv4.
    return Error::kOk;
}

}  // namespace

Error parse_host(std::string_view host, HostKind& kind) {
    kind = HostKind::kNone;
    if (host.empty()) {
        return Error::kMissingHost;
    }
    if (host.front() == '[') {
        uint8_t addr[16];
        if (host.size() < 4 || host.back() != ']' ||
            !internal::parse_ipv6(host.substr(1, host.size() - 2), addr)) {
            return Error::kBadIpv6;
        }
        kind = HostKind::kIpv6;
        return Error::kOk;
    }
    if (host.size() > kHostSizeMax) {
        return Error::kHostTooLong;
    }
    if (internal::looks_numeric_host(host)) {
        uint8_t addr[4];
        if (!internal::parse_ipv4(host, addr)) {
            return Error::kBadIpv4;
        }
        kind = HostKind::kIpv4;
        return Error::kOk;
    }
    if (Error e = check_hostname(host); e != Error::kOk) {
        return e;
    }
    kind = HostKind::kHostname;
    return Error::kOk;
}

Error parse_ip_address(std::string_view text, HostKind& kind) {
    kind = HostKind::kNone;
    // Liberal: some stacks bracket an IPv6 received value; RFC 5954 says not to.
    text = host_address(text);
    if (text.find(':') != std::string_view::npos) {
        uint8_t addr[16];
        if (!internal::parse_ipv6(text, addr)) {
            return Error::kBadIpv6;
        }
        kind = HostKind::kIpv6;
        return Error::kOk;
    }
    uint8_t addr[4];
    if (!internal::parse_ipv4(text, addr)) {
        return Error::kBadIpv4;
    }
    kind = HostKind::kIpv4;
    return Error::kOk;
}

bool host_equal(std::string_view a, HostKind a_kind, std::string_view b, HostKind b_kind) {
    if (a_kind != b_kind) {
        return false;
    }
    switch (a_kind) {
        case HostKind::kNone:
            return true;
        case HostKind::kHostname:
            return equals_ignore_case(a, b);
        case HostKind::kIpv4: {
            uint8_t x[4];
            uint8_t y[4];
            return internal::parse_ipv4(a, x) && internal::parse_ipv4(b, y) &&
                   std::memcmp(x, y, sizeof(x)) == 0;
        }
        case HostKind::kIpv6: {
            uint8_t x[16];
            uint8_t y[16];
            return internal::parse_ipv6(host_address(a), x) &&
                   internal::parse_ipv6(host_address(b), y) && std::memcmp(x, y, sizeof(x)) == 0;
        }
    }
    return false;
}

}  // namespace fe::syntax
