// Micro-benchmarks for the registrar role: the pure decision on an outbound
// REGISTER (bench/data/register.sip), and a whole refresh as a worker runs it:
// decide, apply to the embedded store, write the 200. The refresh re-uses one
// message, so the store sees a fresh CSeq per iteration (set on the update)
// to stay on the "refresh" path instead of the out-of-order one.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/outbound/registrar.h"
#include "core/sip/message.h"
#include "state/embedded_store.h"

namespace {

using namespace fe;

std::string load_register() {
    std::ifstream in(std::string(FE_BENCH_DATA_DIR) + "/register.sip", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    // The data file may carry bare LF line ends; SIP needs CRLF.
    std::string text = ss.str();
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            out += '\r';
        }
        out += text[i];
    }
    return out;
}

constexpr std::string_view kEdgePath =
    "<sip:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_@edge1.example.com;transport=tcp;lr;ob>";
constexpr std::string_view kToken = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_";

void BM_RegistrarDecide(benchmark::State& state) {
    const std::string bytes = load_register();
    sip::Message m;
    if (m.parse(bytes) != sip::ParseError::kOk) {
        state.SkipWithError("register.sip does not parse");
        return;
    }
    outbound::RegistrarConfig config;
    const outbound::RegisterInput in{.first_hop = true, .path_value = kEdgePath,
                                     .flow_token = kToken, .config = &config};
    auto decision = std::make_unique<outbound::RegisterDecision>();
    outbound::decide_register(m, in, *decision);
    if (decision->rejected() || decision->update_count != 1 || !decision->require_outbound) {
        state.SkipWithError("register.sip is not accepted as an outbound REGISTER");
        return;
    }
    for (auto _ : state) {
        outbound::decide_register(m, in, *decision);
        benchmark::DoNotOptimize(decision->update_count);
    }
}
BENCHMARK(BM_RegistrarDecide);

void BM_RegistrarRefresh(benchmark::State& state) {
    const std::string bytes = load_register();
    sip::Message m;
    if (m.parse(bytes) != sip::ParseError::kOk) {
        state.SkipWithError("register.sip does not parse");
        return;
    }
    outbound::RegistrarConfig config;
    config.flow_timer_s = 120;
    state::EmbeddedStore store;
    const outbound::RegisterInput in{.first_hop = true, .path_value = kEdgePath,
                                     .flow_token = kToken, .config = &config};
    auto decision = std::make_unique<outbound::RegisterDecision>();
    std::string response(8192, '\0');
    uint32_t cseq = 1;
    Time now = Time{} + seconds(1);
    for (auto _ : state) {
        outbound::decide_register(m, in, *decision);
        const outbound::RegisterDecision& d = *decision;
        state::BindingUpdate updates[outbound::kContactCountPerRegisterMax];
        for (uint32_t i = 0; i < d.update_count; ++i) {
            const outbound::ContactUpdate& c = d.updates[i];
            updates[i] = state::BindingUpdate{.action = state::BindingAction::kUpsert,
                                              .instance_key = c.instance_key,
                                              .reg_id = c.reg_id,
                                              .contact_key = c.contact_key,
                                              .contact = c.contact,
                                              .contact_uri = c.contact_uri,
                                              .expires_in = seconds(c.expires_s),
                                              .has_q = c.has_q,
                                              .q_thousandths = c.q_thousandths};
        }
        const state::RegisterUpdate update{.aor_key = d.aor_key,
                                           .call_id = d.call_id,
                                           .cseq = ++cseq,
                                           .remove_all = false,
                                           .path = d.path_vector(),
                                           .flow_token = d.flow_token,
                                           .node_id = 1,
                                           .bindings = {updates, d.update_count}};
        store.apply(update, now, [&](state::StoreStatus s, const state::AorView& aor) {
            if (s != state::StoreStatus::kOk || aor.bindings.size() != 1) {
                state.SkipWithError("the refresh was not applied");
            }
            outbound::CurrentBinding listed[outbound::kListedBindingCountMax];
            size_t count = 0;
            for (const state::Binding& b : aor.bindings) {
                listed[count++] = outbound::CurrentBinding{b.contact, 3600};
            }
            sip::Writer out(response.data(), response.size());
            const auto commit =
                s == state::StoreStatus::kOk ? outbound::CommitResult::kOk
                                             : outbound::CommitResult::kUnavailable;
            benchmark::DoNotOptimize(outbound::build_register_response(
                m, d, commit, {listed, count}, out));
            benchmark::DoNotOptimize(out.size());
        });
        now += milliseconds(1);
    }
}
BENCHMARK(BM_RegistrarRefresh);

}  // namespace
