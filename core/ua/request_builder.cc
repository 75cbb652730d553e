#include "core/ua/request_builder.h"

#include <charconv>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/strings.h"

namespace fe::ua {

namespace {

// Appends into a fixed buffer; once something does not fit, every later
// append is a no-op and overflowed() stays true, so builders check once.
class Writer {
public:
    explicit Writer(std::span<char> buffer) : begin_(buffer.data()), end_(buffer.data() + buffer.size()), out_(begin_) {}

    void text(std::string_view s) {
        if (overflow_ || static_cast<size_t>(end_ - out_) < s.size()) {
            overflow_ = true;
            return;
        }
        if (!s.empty()) {
            std::memcpy(out_, s.data(), s.size());
        }
        out_ += s.size();
    }

    void number(uint64_t value) {
        char digits[20];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
        FE_ASSERT(ec == std::errc());
        text(std::string_view(digits, static_cast<size_t>(end - digits)));
    }

    void hex64(uint64_t value) {
        constexpr char kHex[] = "0123456789abcdef";
        char digits[16];
        for (int i = 15; i >= 0; --i) {
            digits[i] = kHex[value & 0xF];
            value >>= 4;
        }
        text(std::string_view(digits, sizeof(digits)));
    }

    BuildResult finish() const {
        if (overflow_) {
            return {BuildError::kBufferTooSmall, {}};
        }
        return {BuildError::kNone, std::string_view(begin_, static_cast<size_t>(out_ - begin_))};
    }

private:
    char* begin_;
    char* end_;
    char* out_;  // begin_ <= out_ <= end_
    bool overflow_ = false;
};

void via_line(Writer& w, Transport transport, std::string_view host, uint16_t port,
              uint64_t branch) {
    w.text("Via: SIP/2.0/");
    w.text(transport_via_name(transport));
    w.text(" ");
    w.text(host);
    w.text(":");
    w.number(port);
    w.text(";branch=z9hG4bK");
    w.hex64(branch);
    w.text(";rport\r\n");
}

void route_line(Writer& w, std::string_view route_uri) {
    if (route_uri.empty()) {
        return;
    }
    w.text("Route: <");
    w.text(route_uri);
    w.text(";lr>\r\n");
}

void aor(Writer& w, std::string_view user, std::string_view domain) {
    w.text("<sip:");
    w.text(user);
    w.text("@");
    w.text(domain);
    w.text(">");
}

// "<sip:user@host:port;transport=tcp" without the closing bracket, so callers
// can add URI parameters such as ;ob.
void contact_uri_open(Writer& w, std::string_view user, std::string_view host, uint16_t port,
                      Transport transport) {
    w.text("Contact: <sip:");
    w.text(user);
    w.text("@");
    w.text(host);
    w.text(":");
    w.number(port);
    w.text(";transport=");
    w.text(transport_param_name(transport));
}

void instance_param(Writer& w, std::string_view instance_urn) {
    if (instance_urn.empty()) {
        return;
    }
    w.text(";+sip.instance=\"<");
    w.text(instance_urn);
    w.text(">\"");
}

void body_part(Writer& w, std::string_view content_type, std::string_view body) {
    FE_ASSERT(body.empty() || !content_type.empty());
    if (!body.empty()) {
        w.text("Content-Type: ");
        w.text(content_type);
        w.text("\r\n");
    }
    w.text("Content-Length: ");
    w.number(body.size());
    w.text("\r\n\r\n");
    w.text(body);
}

void line(Writer& w, std::string_view header_line) {
    w.text(header_line);
    w.text("\r\n");
}

std::string_view method_name(RequestMethod method) {
    return method == RequestMethod::kInvite ? "INVITE" : "MESSAGE";
}

}  // namespace

BuildResult build_register(const RegisterParams& p, std::span<char> buffer) {
    FE_ASSERT(!p.domain.empty());
    FE_ASSERT(!p.user.empty());
    FE_ASSERT(!p.call_id.empty());
    Writer w(buffer);
    w.text("REGISTER sip:");
    w.text(p.domain);
    w.text(" SIP/2.0\r\n");
    via_line(w, p.transport, p.local_host, p.local_port, p.branch);
    w.text("Max-Forwards: 70\r\n");
    route_line(w, p.route_uri);
    w.text("From: ");
    aor(w, p.user, p.domain);
    w.text(";tag=");
    w.text(p.from_tag);
    w.text("\r\nTo: ");
    aor(w, p.user, p.domain);
    w.text("\r\nCall-ID: ");
    w.text(p.call_id);
    w.text("\r\nCSeq: ");
    w.number(p.cseq);
    w.text(" REGISTER\r\nSupported: path, outbound\r\n");
    contact_uri_open(w, p.user, p.local_host, p.local_port, p.transport);
    w.text(">");
    if (p.reg_id != 0) {
        w.text(";reg-id=");
        w.number(p.reg_id);
    }
    instance_param(w, p.instance_urn);
    w.text("\r\nExpires: ");
    w.number(p.expires_s);
    w.text("\r\nContent-Length: 0\r\n\r\n");
    return w.finish();
}

BuildResult build_response(const ResponseParams& p, std::span<char> buffer) {
    FE_ASSERT(p.status_code >= 100);
    FE_ASSERT(p.status_code <= 699);
    Writer w(buffer);
    w.text("SIP/2.0 ");
    w.number(p.status_code);
    w.text(" ");
    w.text(p.reason);
    w.text("\r\n");
    for (std::string_view via : p.via_lines) {
        line(w, via);
    }
    line(w, p.from_line);
    w.text(p.to_line);
    if (p.status_code > 100 && !p.to_tag.empty() && !header_line_has_tag(p.to_line)) {
        w.text(";tag=");
        w.text(p.to_tag);
    }
    w.text("\r\n");
    line(w, p.call_id_line);
    line(w, p.cseq_line);
    if (!p.contact.empty()) {
        w.text("Contact: ");
        line(w, p.contact);
    }
    body_part(w, p.content_type, p.body);
    return w.finish();
}

BuildResult build_request(const RequestParams& p, std::span<char> buffer) {
    FE_ASSERT(!p.target_uri.empty());
    FE_ASSERT(!p.call_id.empty());
    const std::string_view method = method_name(p.method);
    Writer w(buffer);
    w.text(method);
    w.text(" ");
    w.text(p.target_uri);
    w.text(" SIP/2.0\r\n");
    via_line(w, p.transport, p.local_host, p.local_port, p.branch);
    w.text("Max-Forwards: 70\r\n");
    route_line(w, p.route_uri);
    w.text("From: ");
    aor(w, p.user, p.domain);
    w.text(";tag=");
    w.text(p.from_tag);
    w.text("\r\nTo: <");
    w.text(p.target_uri);
    w.text(">\r\nCall-ID: ");
    w.text(p.call_id);
    w.text("\r\nCSeq: ");
    w.number(p.cseq);
    w.text(" ");
    w.text(method);
    w.text("\r\n");
    contact_uri_open(w, p.user, p.local_host, p.local_port, p.transport);
    w.text(";ob>");
    instance_param(w, p.instance_urn);
    w.text("\r\nSupported: outbound\r\n");
    body_part(w, p.content_type, p.body);
    return w.finish();
}

bool header_line_has_tag(std::string_view line) {
    size_t pos = line.find(':');
    if (pos == std::string_view::npos) {
        return false;
    }
    // Parameters inside <...> belong to the URI; header parameters follow '>'.
    const size_t close = line.find('>', pos);
    if (line.find('<', pos) != std::string_view::npos && close != std::string_view::npos) {
        pos = close;
    }
    while ((pos = line.find(';', pos)) != std::string_view::npos) {
        ++pos;
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) {
            ++pos;
        }
        if (!starts_with_ignore_case(line.substr(pos), "tag")) {
            continue;
        }
        size_t after = pos + 3;
        while (after < line.size() && (line[after] == ' ' || line[after] == '\t')) {
            ++after;
        }
        if (after < line.size() && line[after] == '=') {
            return true;
        }
    }
    return false;
}

}  // namespace fe::ua
