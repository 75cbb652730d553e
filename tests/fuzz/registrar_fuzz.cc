// Fuzzes the registrar decision and response writer (core/outbound/registrar.h)
// with arbitrary messages: any REGISTER that parses is decided as first hop and
// as a far hop with an edge Path, and answered listing its own contacts. Must
// never crash, assert, over-read or overflow the response buffer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/outbound/registrar.h"
#include "core/sip/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static auto* decision = new fe::outbound::RegisterDecision();
    static char response[16 * 1024];
    fe::sip::Message m;
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (m.parse(bytes) != fe::sip::ParseError::kOk || !m.is_request() ||
        m.method() != fe::sip::Method::kRegister) {
        return 0;
    }
    fe::outbound::RegistrarConfig config;
    config.flow_timer_s = 120;
    config.domains = {"example.com"};
    for (int variant = 0; variant < 2; ++variant) {
        const fe::outbound::RegisterInput in{
            .first_hop = variant == 0,
            .path_value = variant == 0 ? std::string_view() : "<sip:TOK@ep1.example.com;lr;ob>",
            .flow_token = variant == 0 ? std::string_view() : "TOK",
            .config = &config};
        fe::outbound::decide_register(m, in, *decision);
        fe::outbound::CurrentBinding listed[fe::outbound::kContactCountPerRegisterMax];
        size_t count = 0;
        for (const auto& u : decision->contact_updates()) {
            listed[count++] = fe::outbound::CurrentBinding{u.contact, u.expires_s};
        }
        fe::sip::Writer out(response, sizeof(response));
        (void)fe::outbound::build_register_response(m, *decision, fe::outbound::CommitResult::kOk,
                                                    {listed, count}, out);
    }
    return 0;
}
