// Scaling of the embedded binding store (state/embedded_store.h) with the
// number of AORs one flow carries. An edge in front of a registrar, a PBX
// trunk or a load generator on one socket registers every user over a single
// flow token, so the flow index must cost the same per REGISTER whether a
// token carries one AOR or 100,000 (issue 9). Each benchmark runs in two
// shapes over the same N AORs (`aors`), one outbound binding each with a Path:
//   one_token:1   every AOR over ONE flow token (a trunk)
//   one_token:0   one token per AOR (a phone per connection)
//
//   BM_EmbeddedStoreRegister  N REGISTERs of new AORs into an empty store
//   BM_EmbeddedStoreRefresh   N refreshes (same flow, higher CSeq) of N AORs
//   BM_EmbeddedStoreMove      N re-registrations, each moving its binding to the
//                             other of two flow tokens (OB-REG-18)
//   BM_EmbeddedStoreLookup    N lookups by AOR (a request routed by AOR)
//   BM_EmbeddedStoreExpire    expire() until N AORs' bindings are gone
//   BM_EmbeddedStoreForget    forget_flow of every token: one token carrying N
//                             AORs, or N tokens carrying one each
// Each reports `per_op`: CPU seconds per binding handled (the time of one
// iteration / N), and Register also `heap_B_per_aor`: malloc'd bytes per AOR
// held by the store (mallinfo2), index and expiry heap included.
//
//   flowedge-micro --benchmark_filter=EmbeddedStore --benchmark_repetitions=5
//                  --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "state/embedded_store.h"

namespace {

using namespace fe;

constexpr size_t kAorCountMax = 100'000;

// Strings of realistic sizes (an AOR of 26 bytes, a 40-character TCP flow
// token, an outbound Contact of ~110), built once for the largest N.
struct Corpus {
    std::vector<std::string> aors;
    std::vector<std::string> contacts;
    std::vector<std::string> contact_uris;
    // tokens[i] and paths[i]: flow i. Index kAorCountMax is the trunk's second
    // token (Move).
    std::vector<std::string> tokens;
    std::vector<std::string> paths;

    Corpus() {
        char buf[256];
        for (size_t i = 0; i < kAorCountMax; ++i) {
            std::snprintf(buf, sizeof(buf), "sip:user%06zu@example.com", i);
            aors.emplace_back(buf);
            std::snprintf(buf, sizeof(buf), "sip:user%06zu@192.0.2.10:%zu;transport=tcp;ob", i,
                          1024 + i % 60000);
            contact_uris.emplace_back(buf);
            contacts.push_back("<" + contact_uris.back() +
                               ">;reg-id=1;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
                               "AABBCCDDEEFF>\"");
        }
        for (size_t i = 0; i <= kAorCountMax; ++i) {
            std::snprintf(buf, sizeof(buf), "AbCdEfGhIjKlMnOpQrStUvWxYz01234-%08zx", i);
            tokens.emplace_back(buf);
            paths.push_back("<sip:" + tokens.back() + "@edge1.example.com;transport=tcp;lr;ob>");
        }
    }
};

const Corpus& corpus() {
    static const Corpus c;
    return c;
}

const Time kT0 = Time{} + hours(1);
constexpr Duration kExpiresIn = seconds(3600);

// The flow AOR `i` registers over: the trunk's (`second` picks its other
// token) or its own.
size_t flow_of(size_t i, bool one_token, bool second = false) {
    if (one_token) {
        return second ? kAorCountMax : 0;
    }
    return i;
}

void apply_one(state::EmbeddedStore& store, size_t i, size_t flow, uint32_t cseq, Time now,
               bool& failed) {
    const Corpus& c = corpus();
    const state::BindingUpdate binding{
        .action = state::BindingAction::kUpsert,
        .instance_key = "<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>",
        .reg_id = 1,
        .contact_key = c.contact_uris[i],
        .contact = c.contacts[i],
        .contact_uri = c.contact_uris[i],
        .expires_in = kExpiresIn};
    const std::string_view path[] = {c.paths[flow]};
    const state::RegisterUpdate update{.aor_key = c.aors[i],
                                       .call_id = "a84b4c76e66710@pc33.example.com",
                                       .cseq = cseq,
                                       .path = path,
                                       .flow_token = c.tokens[flow],
                                       .node_id = 1,
                                       .bindings = {&binding, 1}};
    store.apply(update, now, [&failed](state::StoreStatus s, const state::AorView& aor) {
        failed |= s != state::StoreStatus::kOk || aor.bindings.size() != 1;
        benchmark::DoNotOptimize(aor.bindings.data());
    });
}

// Registers AORs [0, n) over their flows; false if any failed.
bool fill(state::EmbeddedStore& store, size_t n, bool one_token, Time now = kT0) {
    bool failed = false;
    for (size_t i = 0; i < n; ++i) {
        apply_one(store, i, flow_of(i, one_token), 1, now, failed);
    }
    return !failed;
}

size_t heap_in_use() { return mallinfo2().uordblks; }

void report(benchmark::State& state, size_t n) {
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
    state.counters["per_op"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                       benchmark::Counter::kInvert);
}

void BM_EmbeddedStoreRegister(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    corpus();
    double heap_per_aor = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const size_t heap_before = heap_in_use();
        auto store = std::make_unique<state::EmbeddedStore>();
        state.ResumeTiming();
        if (!fill(*store, n, one_token)) {
            state.SkipWithError("a REGISTER was not applied");
        }
        state.PauseTiming();
        heap_per_aor = static_cast<double>(heap_in_use() - heap_before) / static_cast<double>(n);
        store.reset();
        state.ResumeTiming();
    }
    report(state, n);
    state.counters["heap_B_per_aor"] = heap_per_aor;
}

void BM_EmbeddedStoreRefresh(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    corpus();
    state::EmbeddedStore store;
    if (!fill(store, n, one_token)) {
        state.SkipWithError("a REGISTER was not applied");
        return;
    }
    uint32_t cseq = 1;
    Time now = kT0;
    bool failed = false;
    for (auto _ : state) {
        ++cseq;
        now += seconds(1);
        for (size_t i = 0; i < n; ++i) {
            apply_one(store, i, flow_of(i, one_token), cseq, now, failed);
        }
    }
    if (failed) {
        state.SkipWithError("a refresh was not applied");
    }
    report(state, n);
}

// One-token shape: every binding moves between the trunk's two tokens, so
// both tokens' lists change per REGISTER. Per-AOR shape: each AOR moves
// between its own token and the next AOR's.
void BM_EmbeddedStoreMove(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    corpus();
    state::EmbeddedStore store;
    if (!fill(store, n, one_token)) {
        state.SkipWithError("a REGISTER was not applied");
        return;
    }
    uint32_t cseq = 1;
    Time now = kT0;
    bool failed = false;
    for (auto _ : state) {
        ++cseq;
        now += seconds(1);
        const bool second = cseq % 2 == 0;
        for (size_t i = 0; i < n; ++i) {
            const size_t flow = one_token ? flow_of(i, true, second) : (second ? i + 1 : i);
            apply_one(store, i, flow, cseq, now, failed);
        }
    }
    if (failed) {
        state.SkipWithError("a re-registration was not applied");
    }
    report(state, n);
}

// The routing side: a request by AOR looks the AOR's bindings up (the proxy
// role, once per request), N AORs each once per iteration.
void BM_EmbeddedStoreLookup(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    const Corpus& c = corpus();
    state::EmbeddedStore store;
    if (!fill(store, n, one_token)) {
        state.SkipWithError("a REGISTER was not applied");
        return;
    }
    size_t found = 0;
    for (auto _ : state) {
        for (size_t i = 0; i < n; ++i) {
            store.lookup(c.aors[i], kT0, [&found](state::StoreStatus, const state::AorView& aor) {
                found += aor.bindings.size();
                benchmark::DoNotOptimize(aor.bindings.data());
            });
        }
    }
    if (found != n * static_cast<size_t>(state.iterations())) {
        state.SkipWithError("a lookup found no binding");
    }
    report(state, n);
}

void BM_EmbeddedStoreExpire(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    corpus();
    for (auto _ : state) {
        state.PauseTiming();
        auto store = std::make_unique<state::EmbeddedStore>();
        const bool filled = fill(*store, n, one_token);
        state.ResumeTiming();
        size_t removed = 0;
        while (removed < n) {
            const size_t now_removed = store->expire(kT0 + kExpiresIn);
            if (now_removed == 0) {
                break;
            }
            removed += now_removed;
        }
        state.PauseTiming();
        if (!filled || removed != n || store->binding_count_for_test() != 0) {
            state.SkipWithError("expire() did not remove every binding");
        }
        store.reset();
        state.ResumeTiming();
    }
    report(state, n);
}

void BM_EmbeddedStoreForget(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    const bool one_token = state.range(1) == 1;
    const Corpus& c = corpus();
    for (auto _ : state) {
        state.PauseTiming();
        auto store = std::make_unique<state::EmbeddedStore>();
        const bool filled = fill(*store, n, one_token);
        state.ResumeTiming();
        const size_t token_count = one_token ? 1 : n;
        for (size_t t = 0; t < token_count; ++t) {
            store->forget_flow(c.tokens[t], kT0);
        }
        state.PauseTiming();
        if (!filled || store->binding_count_for_test() != 0) {
            state.SkipWithError("forget_flow() did not remove every binding");
        }
        store.reset();
        state.ResumeTiming();
    }
    report(state, n);
}

void sizes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"aors", "one_token"});
    for (int64_t one_token : {1, 0}) {
        for (int64_t n : {1'000, 10'000, 100'000}) {
            b->Args({n, one_token});
        }
    }
    b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_EmbeddedStoreRegister)->Apply(sizes);
BENCHMARK(BM_EmbeddedStoreRefresh)->Apply(sizes);
BENCHMARK(BM_EmbeddedStoreMove)->Apply(sizes);
BENCHMARK(BM_EmbeddedStoreLookup)->Apply(sizes);
BENCHMARK(BM_EmbeddedStoreExpire)->Apply(sizes);
BENCHMARK(BM_EmbeddedStoreForget)->Apply(sizes);

}  // namespace
