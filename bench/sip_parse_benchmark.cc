// Message::parse (start line + full header index + message-level checks) and
// stream framing on the fixed messages in bench/data/. Reports bytes/s and
// messages/s; target >= 1 GB/s on the REGISTER in Release.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/sip/framing.h"
#include "core/sip/message.h"

namespace {

std::string load(const char* name) {
    std::ifstream in(std::string(FE_BENCH_DATA_DIR) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.empty()) {
        std::abort();
    }
    return s;
}

void BM_SipParse(benchmark::State& state, const char* file) {
    const std::string bytes = load(file);
    fe::sip::Message message;
    if (message.parse(bytes) != fe::sip::ParseError::kOk) {
        state.SkipWithError("bench message does not parse");
        return;
    }
    for (auto _ : state) {
        fe::sip::ParseError e = message.parse(bytes);
        benchmark::DoNotOptimize(e);
        benchmark::DoNotOptimize(message);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_SipParse, register, "register.sip");
BENCHMARK_CAPTURE(BM_SipParse, invite, "invite.sip");
BENCHMARK_CAPTURE(BM_SipParse, ok200, "ok200.sip");

void BM_SipFrameStream(benchmark::State& state, const char* file) {
    const std::string bytes = load(file);
    for (auto _ : state) {
        fe::sip::FrameResult r = fe::sip::frame_stream(bytes);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_SipFrameStream, register, "register.sip");
BENCHMARK_CAPTURE(BM_SipFrameStream, invite, "invite.sip");

void BM_SipListIterate(benchmark::State& state) {
    const std::string bytes = load("register.sip");
    fe::sip::Message message;
    if (message.parse(bytes) != fe::sip::ParseError::kOk) {
        state.SkipWithError("bench message does not parse");
        return;
    }
    for (auto _ : state) {
        size_t n = 0;
        for (std::string_view v : message.list(fe::sip::HeaderId::kAllow)) {
            n += v.size();
        }
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK(BM_SipListIterate);

}  // namespace
