// The registrar's responses (RFC 3261 §10.3 step 8, RFC 3327 §5.3, RFC 5626 §6).
#include <charconv>
#include <cstdint>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/outbound/registrar.h"
#include "core/syntax/name_addr.h"

namespace fe::outbound {

namespace {

using sip::HeaderField;
using sip::HeaderId;

// FNV-1a, 64 bits: a To tag that is stable for one Call-ID, so a
// retransmitted REGISTER gets byte-identical answers. The tag only has to
// differ between registrations (RFC 3261 §8.2.6.2), not be secret.
uint64_t fnv1a64(std::string_view text) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (char c : text) {
        hash ^= static_cast<uint8_t>(c);
        hash *= 0x100000001b3ull;
    }
    return hash;
}

constexpr size_t kToTagSize = 16;

void write_to_tag(std::string_view call_id, char (&tag)[kToTagSize]) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t hash = fnv1a64(call_id);
    for (size_t i = 0; i < kToTagSize; ++i) {
        tag[i] = kHex[hash & 0xf];
        hash >>= 4;
    }
}

// Name through trimmed value as received, then CRLF (as sip::build_response).
void copy_field(const sip::Message& m, const HeaderField& f, sip::Writer& out) {
    out.append(std::string_view(m.data() + f.line_begin, f.value_end - f.line_begin));
    out.append("\r\n");
}

// Status line, Via, From, To with our tag, Call-ID, CSeq (RFC 3261 §8.2.6.2).
void write_head(const sip::Message& request, const RegisterDecision& d, uint16_t status,
                std::string_view reason, std::string_view detail, sip::Writer& out) {
    out.append("SIP/2.0 ");
    out.append_u32(status);
    out.append(" ");
    out.append(reason);
    if (!detail.empty()) {
        out.append(" (");
        out.append(detail);
        out.append(")");
    }
    out.append("\r\n");
    sip::write_via_lines(request, d.top_via, out);
    copy_field(request, request.field(request.first_index(HeaderId::kFrom)), out);
    const HeaderField& to = request.field(request.first_index(HeaderId::kTo));
    out.append(std::string_view(request.data() + to.line_begin, to.value_end - to.line_begin));
    if (!sip::has_tag_param(request.value(to))) {
        char tag[kToTagSize];
        write_to_tag(request.header(HeaderId::kCallId), tag);
        out.append(";tag=");
        out.append(std::string_view(tag, kToTagSize));
    }
    out.append("\r\n");
    copy_field(request, request.field(request.first_index(HeaderId::kCallId)), out);
    copy_field(request, request.field(request.first_index(HeaderId::kCSeq)), out);
}

void write_tail(sip::Writer& out) { out.append("Content-Length: 0\r\n\r\n"); }

sip::BuildError finish(sip::Writer& out) {
    return out.overflowed() ? sip::BuildError::kNoSpace : sip::BuildError::kOk;
}

sip::BuildError write_rejection(const sip::Message& request, const RegisterDecision& d,
                                sip::Writer& out) {
    const uint16_t status = register_error_status(d.error);
    const std::string_view detail =
        d.syntax_error == syntax::Error::kOk ? std::string_view() : syntax::error_text(d.syntax_error);
    write_head(request, d, status, register_error_reason(d.error), detail, out);
    if (d.error == RegisterError::kIntervalTooBrief) {
        out.append("Min-Expires: ");
        out.append_u32(d.min_expires_s);
        out.append("\r\n");
    } else if (d.error == RegisterError::kBadExtension) {
        out.append("Unsupported: ");
        out.append(d.unsupported_tag);
        out.append("\r\n");
    }
    write_tail(out);
    return finish(out);
}

sip::BuildError write_commit_failure(const sip::Message& request, const RegisterDecision& d,
                                     CommitResult commit, sip::Writer& out) {
    switch (commit) {
        case CommitResult::kUnavailable:
            // RFC 3261 §10.3 step 7: a failed commit is a 500.
            write_head(request, d, 500, "Binding Store Unavailable", {}, out);
            break;
        case CommitResult::kTooManyBindings:
            // Not transient, so not 503: RFC 5626 UAs retry a 503 (OB-UA-16).
            write_head(request, d, 403, "Too Many Bindings", {}, out);
            break;
        case CommitResult::kOutOfOrder:
            // §10.3 steps 6-7 say only that "the request fails"; 500 is what
            // §12.2.2 prescribes for a lower CSeq inside a dialog.
            write_head(request, d, 500, "Out Of Order Request", {}, out);
            break;
        case CommitResult::kOk:
            FE_ASSERT(false);
    }
    write_tail(out);
    return finish(out);
}

// The stored Contact value without its own expires parameter, then ours
// (§10.3 step 8: "expires" chosen by the registrar).
// Whether `text` may hold an "expires" parameter: a value without the
// letters needs no parse (most do not: UAs send Expires as a header).
bool may_name_expires(std::string_view text) {
    for (size_t i = 0; i + 7 <= text.size(); ++i) {
        if ((text[i] | 0x20) == 'e' && equals_ignore_case(text.substr(i, 7), "expires")) {
            return true;
        }
    }
    return false;
}

void write_contact(const CurrentBinding& b, sip::Writer& out) {
    out.append("Contact: ");
    syntax::NameAddr parsed;
    std::string_view text = b.contact;
    if (!may_name_expires(text)) {
        out.append(text);
    } else if (syntax::parse_name_addr(text, parsed) == syntax::Error::kOk) {
        const auto expires = parsed.params.find("expires");
        if (expires) {
            const size_t begin = static_cast<size_t>(expires->range.data() - text.data());
            const size_t end = begin + expires->range.size();
            out.append(text.substr(0, begin));
            out.append(text.substr(end));
        } else {
            out.append(text);
        }
    } else {
        // Stored values were parsed when registered; write as stored.
        (void)FE_BUG(true, "a stored Contact value does not parse");
        out.append(text);
    }
    out.append(";expires=");
    out.append_u32(b.expires_s);
    out.append("\r\n");
}

}  // namespace

sip::BuildError build_register_response(const sip::Message& request,
                                        const RegisterDecision& decision, CommitResult commit,
                                        std::span<const CurrentBinding> bindings, sip::Writer& out,
                                        std::string_view date) {
    if (!request.is_request()) {
        return sip::BuildError::kNotARequest;
    }
    if (decision.rejected()) {
        return write_rejection(request, decision, out);
    }
    if (commit != CommitResult::kOk) {
        return write_commit_failure(request, decision, commit, out);
    }
    write_head(request, decision, 200, "OK", {}, out);
    for (const CurrentBinding& b : bindings) {
        write_contact(b, out);
    }
    for (std::string_view path : decision.path_vector()) {
        out.append("Path: ");
        out.append(path);
        out.append("\r\n");
    }
    if (decision.require_outbound) {
        out.append("Require: outbound\r\n");
        if (decision.flow_timer_s != 0) {
            out.append("Flow-Timer: ");
            out.append_u32(decision.flow_timer_s);
            out.append("\r\n");
        }
    }
    out.append("Supported: path, outbound\r\n");
    if (!date.empty()) {
        out.append("Date: ");
        out.append(date);
        out.append("\r\n");
    }
    write_tail(out);
    return finish(out);
}

}  // namespace fe::outbound
