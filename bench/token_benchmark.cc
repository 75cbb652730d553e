// Flow-token mint and verify (core/token): verify runs for every request
// routed back to a flow, mint for every REGISTER and dialog-creating request.
// Target: verify <= 1 us.
#include <benchmark/benchmark.h>

#include <array>
#include <string_view>

#include "core/token/flow_token.h"
#include "core/token/key_ring.h"

namespace {

fe::token::KeyRing bench_ring() {
    std::array<uint8_t, fe::token::kKeySize> key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 13 + 5);
    return fe::token::KeyRing::from_random(1, key);
}

fe::token::Fields bench_fields(int64_t kind) {
    fe::token::Fields f;
    f.node_id = 12;
    f.worker_index = 3;
    f.slot = 123456;
    f.generation = 7;
    f.transport = fe::Transport::kTcp;
    if (kind != 0) {
        f.transport = fe::Transport::kUdp;
        f.remote = *fe::Endpoint::parse(kind == 4 ? "198.51.100.7:61000" : "[2001:db8::7]:61000");
        f.local_socket_index = 2;
    }
    return f;
}

// Arg: 0 = TCP, 4 = UDP IPv4, 6 = UDP IPv6.
void BM_TokenMint(benchmark::State& state) {
    fe::token::KeyRing ring = bench_ring();
    fe::token::Fields f = bench_fields(state.range(0));
    std::array<char, fe::token::kTokenTextSizeMax> out{};
    for (auto _ : state) {
        fe::token::MintResult m = fe::token::mint(ring, f, out);
        benchmark::DoNotOptimize(m);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_TokenMint)->Arg(0)->Arg(4)->Arg(6);

void BM_TokenVerify(benchmark::State& state) {
    fe::token::KeyRing ring = bench_ring();
    std::array<char, fe::token::kTokenTextSizeMax> out{};
    fe::token::MintResult m = fe::token::mint(ring, bench_fields(state.range(0)), out);
    std::string_view text(out.data(), m.size);
    for (auto _ : state) {
        fe::token::VerifyResult v = fe::token::verify(ring, text);
        benchmark::DoNotOptimize(v);
    }
}
BENCHMARK(BM_TokenVerify)->Arg(0)->Arg(4)->Arg(6);

// A forged token of the right shape costs the same MAC as a good one.
void BM_TokenVerifyForged(benchmark::State& state) {
    fe::token::KeyRing ring = bench_ring();
    std::array<char, fe::token::kTokenTextSizeMax> out{};
    fe::token::MintResult m = fe::token::mint(ring, bench_fields(0), out);
    out[10] = out[10] == 'A' ? 'B' : 'A';
    std::string_view text(out.data(), m.size);
    for (auto _ : state) {
        fe::token::VerifyResult v = fe::token::verify(ring, text);
        benchmark::DoNotOptimize(v);
    }
}
BENCHMARK(BM_TokenVerifyForged);

}  // namespace
