// Fuzzes every core/syntax parser with the same input: URI, name-addr, Via,
// Contact, parameter lists in both grammars and the small values. Checks that
// nothing crashes or reads past the input (ASan), and that every view a
// successful parse returns lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/syntax/contact.h"
#include "core/syntax/name_addr.h"
#include "core/syntax/params.h"
#include "core/syntax/uri.h"
#include "core/syntax/values.h"
#include "core/syntax/via.h"

namespace {

std::string_view g_input;

void check_within(std::string_view part) {
    if (part.empty()) {
        return;
    }
    if (part.data() < g_input.data() ||
        part.data() + part.size() > g_input.data() + g_input.size()) {
        abort();
    }
}

void check_params(const fe::syntax::Params& params) {
    size_t count = 0;
    for (const fe::syntax::Param& p : params) {
        check_within(p.name);
        check_within(p.value);
        check_within(p.range);
        // Iteration skims text parse() validated; each parameter it finds
        // must be one that parse() finds in that parameter's text alone.
        fe::syntax::Params alone;
        if (fe::syntax::Params::parse(p.range, params.syntax(), alone) != fe::syntax::Error::kOk ||
            alone.count() != 1 || alone.begin()->name != p.name ||
            alone.begin()->value != p.value || alone.begin()->has_value != p.has_value) {
            abort();
        }
        ++count;
    }
    if (count != params.count()) {
        abort();
    }
}

void check_uri(const fe::syntax::Uri& uri) {
    check_within(uri.text);
    check_within(uri.user);
    check_within(uri.password);
    check_within(uri.host);
    check_within(uri.headers);
    check_params(uri.params);
    // Equality is reflexive and the AOR key never outgrows the URI.
    if (!fe::syntax::uri_equal(uri, uri)) {
        abort();
    }
    char key[fe::syntax::kAorKeySizeMax];
    std::string_view key_view;
    if (fe::syntax::write_aor_key(uri, key, sizeof(key), key_view) != fe::syntax::Error::kOk) {
        abort();
    }
    (void)uri.transport();
    (void)uri.find_header("route");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A private copy, so ASan sees an over-read past `size` at once.
    const std::string copy(reinterpret_cast<const char*>(data), size);
    g_input = copy;
    const std::string_view in = copy;

    fe::syntax::Uri uri;
    if (fe::syntax::parse_uri(in, uri) == fe::syntax::Error::kOk) {
        check_uri(uri);
    }
    fe::syntax::NameAddr na;
    if (fe::syntax::parse_name_addr(in, na) == fe::syntax::Error::kOk) {
        check_within(na.display_name);
        check_within(na.uri_text);
        check_uri(na.uri);
        check_params(na.params);
    }
    fe::syntax::Via via;
    if (fe::syntax::parse_via(in, via) == fe::syntax::Error::kOk) {
        check_within(via.host);
        check_within(via.branch);
        check_within(via.received);
        check_within(via.sent_by);
        check_params(via.params);
    }
    fe::syntax::Contact contact;
    if (fe::syntax::parse_contact(in, contact) == fe::syntax::Error::kOk && !contact.is_star) {
        check_within(contact.instance);
        if (contact.has_instance()) {
            if (!fe::syntax::instance_equal(contact.instance, contact.instance)) {
                abort();
            }
            char key[fe::syntax::kInstanceKeySizeMax];
            std::string_view key_view;
            if (fe::syntax::write_instance_key(contact.instance, key, sizeof(key), key_view) !=
                fe::syntax::Error::kOk) {
                abort();
            }
        }
        if (contact.reg_id > fe::syntax::kRegIdMax || contact.q_thousandths > 1000) {
            abort();
        }
    }
    fe::syntax::Params params;
    if (fe::syntax::Params::parse(in, fe::syntax::ParamSyntax::kHeader, params) ==
        fe::syntax::Error::kOk) {
        check_params(params);
    }
    if (fe::syntax::Params::parse(in, fe::syntax::ParamSyntax::kUri, params) ==
        fe::syntax::Error::kOk) {
        check_params(params);
    }
    fe::syntax::CSeq cseq;
    (void)fe::syntax::parse_cseq(in, cseq);
    check_within(cseq.method);
    uint32_t number = 0;
    (void)fe::syntax::parse_max_forwards(in, number);
    (void)fe::syntax::parse_delta_seconds(in, number);
    (void)fe::syntax::parse_flow_timer(in, number);
    (void)fe::syntax::parse_content_length(in, number);
    std::string_view tag;
    (void)fe::syntax::parse_option_tag(in, tag);
    fe::syntax::RetryAfter retry;
    if (fe::syntax::parse_retry_after(in, retry) == fe::syntax::Error::kOk) {
        check_within(retry.comment);
        check_params(retry.params);
    }
    char buffer[fe::syntax::kUriSizeMax];
    std::string_view out;
    (void)fe::syntax::unescape(in, buffer, sizeof(buffer), out);
    (void)fe::syntax::unquote(in, buffer, sizeof(buffer), out);
    return 0;
}
