// Fuzzes the STUN codec (core/stun): parse() and the server's answer() on
// arbitrary datagrams must never crash or over-read; whatever the server
// answers must itself parse, echo the transaction id, and carry the source
// address back (success) or the 420 code (error).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/stun/client.h"
#include "core/stun/message.h"
#include "core/stun/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> datagram(data, size);
    bool stun = fe::stun::looks_like_stun(datagram);
    fe::stun::Message msg;
    fe::stun::ParseError error = fe::stun::parse(datagram, msg);
    if (error == fe::stun::ParseError::kOk && !stun) {
        abort();  // parse() accepts nothing the demultiplexer rejects
    }

    // The source address comes from the input too, so both families are tried.
    fe::Endpoint source = (size % 2 == 0) ? *fe::Endpoint::parse("198.51.100.7:61000")
                                          : *fe::Endpoint::parse("[2001:db8::7]:5060");
    std::array<uint8_t, fe::stun::kResponseSizeMax> out{};
    fe::stun::Answer a = fe::stun::answer(datagram, source, out);
    if (a.verdict != fe::stun::Verdict::kSendSuccess &&
        a.verdict != fe::stun::Verdict::kSendUnknownAttributes) {
        return 0;
    }
    if (error != fe::stun::ParseError::kOk) {
        abort();
    }
    fe::stun::BindingResponse r =
        fe::stun::read_binding_response({out.data(), a.response_size}, msg.transaction_id);
    if (a.verdict == fe::stun::Verdict::kSendSuccess &&
        (r.kind != fe::stun::ResponseKind::kSuccess || r.mapped != source)) {
        abort();
    }
    if (a.verdict == fe::stun::Verdict::kSendUnknownAttributes &&
        (r.kind != fe::stun::ResponseKind::kError || r.error_code != 420)) {
        abort();
    }
    return 0;
}
