#include "core/syntax/via.h"

#include "core/base/strings.h"
#include "core/syntax/internal/chars.h"
#include "core/syntax/limits.h"

namespace fe::syntax {

namespace {

using internal::skip_lws;

// sent-protocol = protocol-name SLASH protocol-version SLASH transport, with
// SLASH = SWS "/" SWS. On success `pos` is just past the transport.
Error parse_sent_protocol(std::string_view value, size_t& pos, Via& out) {
    std::string_view* parts[3] = {&out.protocol_name, &out.protocol_version, &out.transport_text};
    size_t i = skip_lws(value, pos);
    for (size_t k = 0; k < 3; ++k) {
        if (k > 0) {
            i = skip_lws(value, i);
            if (i >= value.size() || value[i] != '/') {
                return Error::kBadSentProtocol;
            }
            i = skip_lws(value, i + 1);
        }
        const size_t end = internal::scan_token(value, i);
        if (end == i) {
            return Error::kBadSentProtocol;
        }
        *parts[k] = value.substr(i, end - i);
        i = end;
    }
    pos = i;
    return Error::kOk;
}

// sent-by = host [ COLON port ], COLON = SWS ":" SWS. On success `pos` is just
// past the sent-by.
Error parse_sent_by(std::string_view value, size_t& pos, Via& out) {
    const size_t start = pos;
    size_t host_end = pos;
    if (pos < value.size() && value[pos] == '[') {
        const size_t close = value.find(']', pos);
        if (close == std::string_view::npos) {
            return Error::kBadIpv6;
        }
        host_end = close + 1;
    } else {
        while (host_end < value.size() &&
               (internal::in_class(value[host_end], internal::kAlpha | internal::kDigit) ||
                value[host_end] == '.' || value[host_end] == '-')) {
            ++host_end;
        }
    }
    if (host_end == start) {
        return Error::kMissingSentBy;
    }
    out.host = value.substr(start, host_end - start);
    if (Error e = parse_host(out.host, out.host_kind); e != Error::kOk) {
        return e;
    }
    size_t end = host_end;
    const size_t colon = skip_lws(value, host_end);
    if (colon < value.size() && value[colon] == ':') {
        const size_t port_start = skip_lws(value, colon + 1);
        size_t port_end = port_start;
        while (port_end < value.size() && value[port_end] >= '0' && value[port_end] <= '9') {
            ++port_end;
        }
        uint64_t port = 0;
        switch (internal::parse_number(value.substr(port_start, port_end - port_start), 65535,
                                       port)) {
            case Error::kOk:
                break;
            case Error::kNumberOutOfRange:
                return Error::kPortOutOfRange;
            default:
                return Error::kBadPort;
        }
        if (port == 0) {
            return Error::kPortOutOfRange;
        }
        out.port = static_cast<uint16_t>(port);
        end = port_end;
    }
    out.sent_by = value.substr(start, end - start);
    pos = end;
    return Error::kOk;
}

Error decode_number_param(const Param& p, uint64_t max, Error error, uint64_t& value) {
    if (!p.has_value || internal::parse_number(p.value, max, value) != Error::kOk) {
        return error;
    }
    return Error::kOk;
}

// Decodes the parameters the edge acts on; the rest stay in out.params.
Error decode_via_param(const Param& p, Via& out) {
    uint64_t number = 0;
    if (equals_ignore_case(p.name, "branch")) {
        if (!p.has_value || !internal::is_token(p.value)) {
            return Error::kBadBranch;
        }
        out.branch = p.value;
    } else if (equals_ignore_case(p.name, "received")) {
        if (!p.has_value || parse_ip_address(p.value, out.received_kind) != Error::kOk) {
            return Error::kBadReceived;
        }
        out.received = p.value;
    } else if (equals_ignore_case(p.name, "rport")) {
        out.rport = FlagOrValue::kFlag;
        if (p.has_value) {
            if (decode_number_param(p, 65535, Error::kBadRport, number) != Error::kOk ||
                number == 0) {
                return Error::kBadRport;
            }
            out.rport = FlagOrValue::kValue;
            out.rport_value = static_cast<uint16_t>(number);
        }
    } else if (equals_ignore_case(p.name, "alias")) {
        out.alias = !p.has_value;
    } else if (equals_ignore_case(p.name, "keep")) {
        out.keep = FlagOrValue::kFlag;
        if (p.has_value) {
            if (decode_number_param(p, UINT32_MAX, Error::kBadKeep, number) != Error::kOk) {
                return Error::kBadKeep;
            }
            out.keep = FlagOrValue::kValue;
            out.keep_value = static_cast<uint32_t>(number);
        }
    } else if (equals_ignore_case(p.name, "maddr")) {
        if (!p.has_value || parse_host(p.value, out.maddr_kind) != Error::kOk) {
            return Error::kBadMaddr;
        }
        out.maddr = p.value;
    } else if (equals_ignore_case(p.name, "ttl")) {
        if (decode_number_param(p, kViaTtlMax, Error::kBadTtl, number) != Error::kOk) {
            return Error::kBadTtl;
        }
        out.has_ttl = true;
        out.ttl = static_cast<uint8_t>(number);
    }
    return Error::kOk;
}

Error parse_via_impl(std::string_view value, Via& out) {
    if (value.size() > kHeaderValueSizeMax) {
        return Error::kTooLong;
    }
    if (skip_lws(value, 0) == value.size()) {
        return Error::kEmpty;
    }
    out.text = value;
    size_t pos = 0;
    if (Error e = parse_sent_protocol(value, pos, out); e != Error::kOk) {
        return e;
    }
    // sent-protocol LWS sent-by: the white space is required.
    const size_t sent_by_start = skip_lws(value, pos);
    if (sent_by_start == pos) {
        return sent_by_start == value.size() ? Error::kMissingSentBy : Error::kBadSentProtocol;
    }
    pos = sent_by_start;
    if (Error e = parse_sent_by(value, pos, out); e != Error::kOk) {
        return e;
    }
    if (Error e = Params::parse(value.substr(pos), ParamSyntax::kHeader, out.params);
        e != Error::kOk) {
        return e == Error::kExpectedSemicolon ? Error::kTrailingGarbage : e;
    }
    for (const Param& p : out.params) {
        if (Error e = decode_via_param(p, out); e != Error::kOk) {
            return e;
        }
    }
    return Error::kOk;
}

}  // namespace

bool Via::is_sip_2_0() const {
    return equals_ignore_case(protocol_name, "SIP") && protocol_version == "2.0";
}

Error parse_via(std::string_view value, Via& out) {
    out = Via{};
    const Error e = parse_via_impl(value, out);
    if (e != Error::kOk) {
        out = Via{};
    }
    return e;
}

}  // namespace fe::syntax
