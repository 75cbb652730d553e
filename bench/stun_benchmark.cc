// STUN keep-alive answering (core/stun): the cost a worker pays per RFC 5626
// §8 keep-alive on a UDP port, from demultiplexing to the response bytes.
#include <benchmark/benchmark.h>

#include <array>

#include "core/stun/client.h"
#include "core/stun/message.h"
#include "core/stun/server.h"

namespace {

const fe::stun::TransactionId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

template <fe::stun::FingerprintMode kMode>
void BM_StunAnswerBindingRequest(benchmark::State& state) {
    std::array<uint8_t, fe::stun::kRequestSizeMax> request{};
    size_t request_size = fe::stun::build_binding_request(kId, kMode, request);
    fe::Endpoint source = *fe::Endpoint::parse(state.range(0) == 4 ? "198.51.100.7:61000"
                                                                   : "[2001:db8::7]:61000");
    std::array<uint8_t, fe::stun::kResponseSizeMax> out{};
    for (auto _ : state) {
        std::span<const uint8_t> datagram(request.data(), request_size);
        bool stun = fe::stun::looks_like_stun(datagram);
        fe::stun::Answer a = fe::stun::answer(datagram, source, out);
        benchmark::DoNotOptimize(stun);
        benchmark::DoNotOptimize(a);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_StunAnswerBindingRequest<fe::stun::FingerprintMode::kOmit>)->Arg(4)->Arg(6);
BENCHMARK(BM_StunAnswerBindingRequest<fe::stun::FingerprintMode::kAdd>)->Arg(4)->Arg(6);

void BM_StunReadBindingResponse(benchmark::State& state) {
    std::array<uint8_t, fe::stun::kRequestSizeMax> request{};
    size_t request_size =
        fe::stun::build_binding_request(kId, fe::stun::FingerprintMode::kAdd, request);
    std::array<uint8_t, fe::stun::kResponseSizeMax> response{};
    fe::stun::Answer a = fe::stun::answer({request.data(), request_size},
                                          *fe::Endpoint::parse("198.51.100.7:61000"), response);
    for (auto _ : state) {
        fe::stun::BindingResponse r =
            fe::stun::read_binding_response({response.data(), a.response_size}, kId);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_StunReadBindingResponse);

}  // namespace
