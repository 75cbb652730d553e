// Forwarding edit of the INVITE as an edge does it (remove the top Route,
// decrement Max-Forwards, add received on the top Via, add our Via and a
// Path), then serialise into a contiguous buffer. Target: <= 2x the parse.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/sip/edit.h"
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

bool forward(const fe::sip::Message& m, fe::sip::EditList& edits) {
    using fe::sip::EditError;
    using fe::sip::HeaderId;
    bool ok = true;
    if (m.has(HeaderId::kRoute)) {
        ok &= edits.remove_first_value(HeaderId::kRoute) == EditError::kOk;
    }
    const uint8_t mf = m.first_index(HeaderId::kMaxForwards);
    ok &= edits.replace_value(m.field(mf), 69u) == EditError::kOk;
    ok &= edits.insert_after(*m.list(HeaderId::kVia).begin(), ";received=198.51.100.7") ==
          EditError::kOk;
    ok &= edits.insert_header_before(HeaderId::kVia, "Via",
                                     "SIP/2.0/TLS edge1.example.com;branch=z9hG4bK-e-7f3a9c") ==
          EditError::kOk;
    ok &= edits.insert_header_before(HeaderId::kPath, "Path",
                                     "<sip:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob@edge1.example.com;lr;ob>") ==
          EditError::kOk;
    return ok;
}

void BM_SipEditForward(benchmark::State& state, const char* file) {
    const std::string bytes = load(file);
    fe::sip::Message message;
    fe::sip::EditArena arena;
    std::string out(bytes.size() + 1024, '\0');
    for (auto _ : state) {
        if (message.parse(bytes) != fe::sip::ParseError::kOk) {
            state.SkipWithError("bench message does not parse");
            return;
        }
        arena.reset();
        fe::sip::EditList edits(message, arena);
        if (!forward(message, edits)) {
            state.SkipWithError("edit failed");
            return;
        }
        size_t size = edits.serialize_into(out.data(), out.size());
        benchmark::DoNotOptimize(size);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// Parse + edit + serialise, so compare with BM_SipParse of the same file.
BENCHMARK_CAPTURE(BM_SipEditForward, invite, "invite.sip");
BENCHMARK_CAPTURE(BM_SipEditForward, register, "register.sip");

void BM_SipEditOnly(benchmark::State& state) {
    const std::string bytes = load("invite.sip");
    fe::sip::Message message;
    fe::sip::EditArena arena;
    if (message.parse(bytes) != fe::sip::ParseError::kOk) {
        state.SkipWithError("bench message does not parse");
        return;
    }
    std::string out(bytes.size() + 1024, '\0');
    for (auto _ : state) {
        arena.reset();
        fe::sip::EditList edits(message, arena);
        if (!forward(message, edits)) {
            state.SkipWithError("edit failed");
            return;
        }
        fe::sip::ConstBuffer ranges[fe::sip::kEditRangeCountMax];
        size_t n = edits.gather(ranges, fe::sip::kEditRangeCountMax);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(ranges);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// Edit + gather (the sendmsg path) on an already parsed message.
BENCHMARK(BM_SipEditOnly);

}  // namespace
