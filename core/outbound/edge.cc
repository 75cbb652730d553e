#include "core/outbound/edge.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/sip/header_names.h"
#include "core/syntax/host.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/values.h"

namespace fe::outbound {
namespace {

// Appends into a fixed buffer; remembers an overflow so callers check once.
class Out {
public:
    Out(char* data, size_t capacity) : data_(data), capacity_(capacity) {}
    void put(std::string_view text) {
        if (overflow_ || text.size() > capacity_ - size_) {
            overflow_ = true;
            return;
        }
        std::memcpy(data_ + size_, text.data(), text.size());
        size_ += text.size();
    }
    void put_u64(uint64_t value) {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof(digits), value);
        put(std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
    }
    // The size written, or 0 after an overflow.
    size_t result() const { return overflow_ ? 0 : size_; }

private:
    char* data_;
    size_t capacity_;
    size_t size_ = 0;
    bool overflow_ = false;
};

// FNV-1a, 64 bits: stable across processes and builds (a branch must map the
// same way for every retransmission; absl::Hash is seeded per process).
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
uint64_t fnv(uint64_t h, std::string_view text) {
    for (char c : text) {
        h ^= static_cast<uint8_t>(c);
        h *= kFnvPrime;
    }
    // A separator, so ("ab","c") and ("a","bc") differ.
    h ^= 0xff;
    h *= kFnvPrime;
    return h;
}

// The To tag, or empty. Enough for hashing and the dialog test; a To that
// does not parse counts as tagless (the request is judged elsewhere).
std::string_view to_tag(const sip::Message& m) {
    syntax::NameAddr to;
    if (syntax::parse_name_addr(m.header(sip::HeaderId::kTo), to) != syntax::Error::kOk) {
        return {};
    }
    return to.tag();
}

}  // namespace

bool has_to_tag(const sip::Message& request) { return !to_tag(request).empty(); }

bool is_dialog_forming(const sip::Message& request) {
    switch (request.method()) {
        case sip::Method::kInvite:
        case sip::Method::kSubscribe:
        case sip::Method::kRefer:
            return to_tag(request).empty();
        default:
            return false;
    }
}

uint16_t edge_port_for(Transport transport, const EdgePorts& ports) {
    uint16_t port = 0;
    switch (transport) {
        case Transport::kUdp: port = ports.udp; break;
        case Transport::kTcp: port = ports.tcp; break;
        case Transport::kTls: port = ports.tls != 0 ? ports.tls : ports.tcp; break;
        case Transport::kWs: port = ports.ws; break;
        case Transport::kWss: port = ports.wss; break;
    }
    if (port != 0) {
        return port;
    }
    for (const uint16_t any : {ports.udp, ports.tcp, ports.tls, ports.ws, ports.wss}) {
        if (any != 0) {
            return any;
        }
    }
    return 0;
}

syntax::UriScheme uri_scheme_of(std::string_view uri) {
    return starts_with_ignore_case(uri, "sips:") ? syntax::UriScheme::kSips
                                                 : syntax::UriScheme::kSip;
}

size_t write_flow_uri_value(std::string_view token, const EdgeAddress& at, ObParam ob, char* out,
                            size_t capacity) {
    FE_ASSERT(!token.empty());
    FE_ASSERT(at.port != 0);
    FE_ASSERT(at.scheme != syntax::UriScheme::kTel);
    Out o(out, capacity);
    o.put(at.scheme == syntax::UriScheme::kSips ? "<sips:" : "<sip:");
    o.put(token);
    o.put("@");
    o.put(at.host);
    o.put(":");
    o.put_u64(at.port);
    o.put(";transport=");
    o.put(transport_param_name(at.transport));
    o.put(";lr");
    if (ob == ObParam::kAdd) {
        o.put(";ob");
    }
    o.put(">");
    return o.result();
}

namespace {

// IP literals compare as addresses ("[::1]" and "[0:0::1]" are one host),
// names case-insensitively.
bool same_host(std::string_view a, std::string_view b) {
    return equals_ignore_case(syntax::host_address(a), syntax::host_address(b));
}

bool host_names_node(std::string_view host, const EdgeIdentity& me) {
    if (same_host(host, me.host)) {
        return true;
    }
    return std::any_of(me.aliases.begin(), me.aliases.end(),
                       [&](const std::string& alias) { return same_host(host, alias); });
}

bool port_is_ours(uint16_t port, const EdgeIdentity& me) {
    const uint16_t wanted = port == 0 ? 5060 : port;
    return std::find(me.ports.begin(), me.ports.end(), wanted) != me.ports.end();
}

}  // namespace

bool uri_is_ours(std::string_view host, uint16_t port, const EdgeIdentity& me) {
    return host_names_node(host, me) && port_is_ours(port, me);
}

bool is_local_host(std::string_view host, const EdgeIdentity& me) {
    return host_names_node(host, me) ||
           std::any_of(me.domains.begin(), me.domains.end(), [&](const std::string& domain) {
               return equals_ignore_case(domain, host);
           });
}

bool uri_names_node(const syntax::Uri& uri, const EdgeIdentity& me) {
    if (uri.is_tel()) {
        return false;
    }
    if (uri_is_ours(uri.host, uri.port, me)) {
        return true;
    }
    return uri.host_kind == syntax::HostKind::kHostname &&
           std::any_of(me.domains.begin(), me.domains.end(),
                       [&](const std::string& domain) { return equals_ignore_case(domain, uri.host); });
}

bool serves_domain(std::string_view host, const EdgeIdentity& me) {
    return me.domains.empty() || is_local_host(host, me);
}

syntax::Error write_local_aor_key(const syntax::Uri& uri, const EdgeIdentity& me, char* buffer,
                                  size_t buffer_size, std::string_view& key) {
    if (uri.is_tel() || !uri.has_port() || !port_is_ours(uri.port, me)) {
        return syntax::write_aor_key(uri, buffer, buffer_size, key);
    }
    if (!is_local_host(uri.host, me)) {
        return syntax::write_aor_key(uri, buffer, buffer_size, key);
    }
    syntax::Uri without_port = uri;
    without_port.port = 0;
    return syntax::write_aor_key(without_port, buffer, buffer_size, key);
}

bool same_flow(const token::Fields& t, const token::Fields& source) {
    if (t.transport != source.transport) {
        return false;
    }
    if (t.transport == Transport::kUdp) {
        // OB-EDGE-10: "same source IP and port". The socket matters too: the
        // same remote address talking to another of our ports is another flow.
        return t.remote == source.remote && t.local_socket_index == source.local_socket_index;
    }
    return t.node_id == source.node_id && t.worker_index == source.worker_index &&
           t.slot == source.slot && t.generation == source.generation;
}

MaxForwards check_max_forwards(const sip::Message& request) {
    MaxForwards mf;
    const std::string_view value = request.header(sip::HeaderId::kMaxForwards);
    if (value.data() == nullptr) {
        mf.verdict = MaxForwardsVerdict::kAbsent;
        mf.next_value = kEdgeMaxForwardsDefault;
        return mf;
    }
    uint32_t hops = 0;
    if (syntax::parse_max_forwards(value, hops) != syntax::Error::kOk) {
        mf.verdict = MaxForwardsVerdict::kMalformed;
        return mf;
    }
    if (hops == 0) {
        mf.verdict = MaxForwardsVerdict::kTooManyHops;
        mf.next_value = 0;
        return mf;
    }
    mf.verdict = MaxForwardsVerdict::kForward;
    mf.next_value = hops - 1;
    return mf;
}

size_t write_via_received(const syntax::Via& top, const Endpoint& source, char* out,
                          size_t capacity) {
    FE_ASSERT(!source.empty());
    char address_text[Endpoint::kAddressTextSizeMax];
    const std::string_view address(address_text, source.write_address(address_text));
    bool add_received = top.rport == syntax::FlagOrValue::kFlag;  // RFC 3581 §4: always
    if (!add_received && top.received.empty()) {
        // RFC 3261 §18.2.1: when sent-by's host differs from the source address.
        const syntax::HostKind kind =
            source.is_v4() ? syntax::HostKind::kIpv4 : syntax::HostKind::kIpv6;
        add_received = top.host_kind == syntax::HostKind::kHostname ||
                       !syntax::host_equal(syntax::host_address(top.host), kind, address, kind);
    }
    Out o(out, capacity);
    if (add_received && top.received.empty()) {
        o.put(";received=");
        o.put(address);
    }
    if (top.rport == syntax::FlagOrValue::kFlag) {
        o.put(";rport=");
        o.put_u64(source.port);
    }
    return o.result();
}

ViaReceived via_received_of(const sip::Message& request, const Endpoint& source) {
    const sip::ListRange vias = request.list(sip::HeaderId::kVia);
    syntax::Via top;
    if (vias.empty() || syntax::parse_via(*vias.begin(), top) != syntax::Error::kOk) {
        return ViaReceived{};
    }
    return via_received_of(top, source);
}

ViaReceived via_received_of(const syntax::Via& top, const Endpoint& source) {
    ViaReceived out;
    if (source.empty() || top.host.empty()) {
        return out;
    }
    out.size = static_cast<uint8_t>(
        write_via_received(top, source, out.bytes.data(), out.bytes.size()));
    if (out.size > 0 && top.rport == syntax::FlagOrValue::kFlag) {
        // The flag gets its value: ";rport" goes, ";rport=PORT" is appended.
        if (const std::optional<syntax::Param> rport = top.params.find("rport")) {
            out.drop = rport->range;
        }
    }
    return out;
}

uint64_t loop_hash(const sip::Message& request) {
    uint64_t h = kFnvOffset;
    h = fnv(h, request.request_uri());
    syntax::NameAddr from;
    if (syntax::parse_name_addr(request.header(sip::HeaderId::kFrom), from) ==
        syntax::Error::kOk) {
        h = fnv(h, from.tag());
    }
    h = fnv(h, to_tag(request));
    h = fnv(h, request.header(sip::HeaderId::kCallId));
    char cseq[16];
    auto r = std::to_chars(cseq, cseq + sizeof(cseq), request.cseq_number());
    h = fnv(h, std::string_view(cseq, static_cast<size_t>(r.ptr - cseq)));
    return h;
}

BranchId write_branch(const sip::Message& request, std::string_view top_branch, BranchKind kind) {
    FE_ASSERT(kind != BranchKind::kProxy);
    // ACK and CANCEL carry the INVITE's top Via branch; hashing the method
    // class (INVITE-ish vs other) keeps them on the INVITE's branch, as a
    // stateless proxy must (RFC 3261 §16.11).
    const sip::Method m = request.method();
    const bool invite_class =
        m == sip::Method::kInvite || m == sip::Method::kAck || m == sip::Method::kCancel;
    uint64_t h = fnv(kFnvOffset, top_branch);
    h = fnv(h, invite_class ? "INVITE" : request.method_text());
    if (top_branch.empty()) {
        // An RFC 2543 peer without a branch: fall back on the transaction's
        // identifying fields (§16.11 "the request's Request-URI, To, From, Call-ID, CSeq").
        h = fnv(h, request.header(sip::HeaderId::kFrom));
        h = fnv(h, request.header(sip::HeaderId::kCallId));
        h = fnv(h, request.request_uri());
    }
    return write_branch_id(BranchFields{.kind = kind, .hash = h, .loop = loop_hash(request)});
}

LoopResult detect_loop(const sip::Message& request, const EdgeIdentity& me) {
    LoopResult result;
    std::optional<uint64_t> loop;
    bool first = true;
    for (std::string_view value : request.list(sip::HeaderId::kVia)) {
        syntax::Via via;
        if (syntax::Error e = syntax::parse_via(value, via); e != syntax::Error::kOk) {
            result.verdict = LoopCheck::kMalformed;
            result.error = e;
            result.top = syntax::Via{};
            return result;
        }
        if (first) {
            result.top = via;
            first = false;
        }
        const std::optional<BranchFields> ours = read_branch_id(via.branch);
        if (!ours || !uri_is_ours(via.host, via.port, me)) {
            continue;
        }
        if (!loop) {
            loop = loop_hash(request);
        }
        if (ours->loop == *loop) {
            result.verdict = LoopCheck::kLoop;
            return result;
        }
    }
    return result;
}

size_t write_via_value(const EdgeAddress& at, std::string_view branch, std::string_view flow_token,
                       char* out, size_t capacity) {
    FE_ASSERT(!branch.empty());
    Out o(out, capacity);
    o.put("SIP/2.0/");
    o.put(transport_via_name(at.transport));
    o.put(" ");
    o.put(at.host);
    o.put(":");
    o.put_u64(at.port);
    o.put(";branch=");
    o.put(branch);
    if (!flow_token.empty()) {
        o.put(";fl=");
        o.put(flow_token);
    }
    return o.result();
}

namespace {

// The header lines build_raw_error_response() copies, by name.
bool is_copied_header(std::string_view name) {
    const sip::HeaderId id = sip::lookup_header(name);
    return id == sip::HeaderId::kVia || id == sip::HeaderId::kFrom || id == sip::HeaderId::kTo ||
           id == sip::HeaderId::kCallId || id == sip::HeaderId::kCSeq;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

bool build_raw_error_response(std::string_view bytes, uint16_t status_code,
                              std::string_view reason, sip::Writer& out) {
    FE_ASSERT(status_code >= 300 && status_code <= 699);
    // A request line starts with a method token; a response with "SIP/".
    if (bytes.empty() || starts_with_ignore_case(bytes, "SIP/") ||
        !((bytes[0] >= 'A' && bytes[0] <= 'Z') || (bytes[0] >= 'a' && bytes[0] <= 'z'))) {
        return false;
    }
    const size_t first_line_end = bytes.find("\r\n");
    if (first_line_end == std::string_view::npos) {
        return false;
    }
    // "ACK" is never answered (RFC 3261 §17.1.1.1).
    if (bytes.starts_with("ACK ")) {
        return false;
    }
    out.append("SIP/2.0 ");
    out.append_u32(status_code);
    out.append(" ");
    out.append(reason);
    out.append("\r\n");
    size_t pos = first_line_end + 2;
    bool copied_to = false;
    while (pos < bytes.size()) {
        size_t end = bytes.find("\r\n", pos);
        if (end == std::string_view::npos || end == pos) {
            break;  // end of the header block (or of what we got)
        }
        std::string_view line = bytes.substr(pos, end - pos);
        pos = end + 2;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || line[0] == ' ' || line[0] == '\t') {
            continue;  // a fold or a broken line: not something we copy
        }
        const std::string_view name = trim(line.substr(0, colon));
        if (!is_copied_header(name)) {
            continue;
        }
        out.append(line);
        if (sip::lookup_header(name) == sip::HeaderId::kTo && !copied_to) {
            copied_to = true;
            if (!sip::has_tag_param(trim(line.substr(colon + 1)))) {
                // A fixed tag: this answer ends the transaction, no dialog forms.
                out.append(";tag=fe-err");
            }
        }
        out.append("\r\n");
    }
    out.append("Content-Length: 0\r\n\r\n");
    return !out.overflowed();
}

bool has_option(const sip::Message& message, sip::HeaderId header, std::string_view option) {
    for (std::string_view value : message.list(header)) {
        if (equals_ignore_case(trim(value), option)) {
            return true;
        }
    }
    return false;
}

bool response_is_outbound_register_ok(const sip::Message& response) {
    return !response.is_request() && response.cseq_method() == sip::Method::kRegister &&
           response.status_code() >= 200 && response.status_code() < 300 &&
           has_option(response, sip::HeaderId::kRequire, "outbound");
}

bool response_wants_flow_timer(const sip::Message& response) {
    return response_is_outbound_register_ok(response) && !response.has(sip::HeaderId::kFlowTimer);
}

}  // namespace fe::outbound
