// Home proxy costs per proxied request: a ProxyCall's whole life for the
// common cases (one instance answering 180 then 200; a fork to two instances
// where one flow fails with 430 first), and building one branch request
// (Request-URI, Route from Path, Max-Forwards, Via) plus its CANCEL.
#include <benchmark/benchmark.h>

#include <string>

#include "core/outbound/proxy.h"
#include "core/outbound/edge.h"
#include "core/outbound/proxy_request.h"
#include "core/sip/edit.h"
#include "core/sip/message.h"

namespace {

using fe::outbound::ProxyCall;
using fe::outbound::Target;

const fe::Time kT0 = fe::Time{} + fe::seconds(100);

Target target(std::string_view instance, int updated_s) {
    return Target{.instance_key = instance,
                  .reg_id = 1,
                  .contact_uri = "sip:bob@192.0.2.2;transport=tcp",
                  .updated = fe::Time{} + fe::seconds(updated_s),
                  .reliability = fe::txn::Reliability::kReliable};
}

// One instance, one flow: start, 180, 200 (the call is done).
void BM_ProxyCallSingleFlowAnswered(benchmark::State& state) {
    const fe::outbound::ProxyConfig config;
    const Target targets[] = {target("urn:uuid:a", 10)};
    for (auto _ : state) {
        ProxyCall call(config, fe::outbound::RequestKind::kInvite);
        benchmark::DoNotOptimize(call.start(targets, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(0, 180, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(0, 200, kT0).size());
        benchmark::DoNotOptimize(call.done());
    }
}
BENCHMARK(BM_ProxyCallSingleFlowAnswered);

// Two instances (three flows): instance a's first flow answers 430 and its
// second 200; instance b rings and is CANCELled.
void BM_ProxyCallForkWithFlowFailover(benchmark::State& state) {
    const fe::outbound::ProxyConfig config;
    const Target targets[] = {target("urn:uuid:a", 30), target("urn:uuid:a", 20),
                              target("urn:uuid:b", 10)};
    for (auto _ : state) {
        ProxyCall call(config, fe::outbound::RequestKind::kInvite);
        benchmark::DoNotOptimize(call.start(targets, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(1, 180, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(0, 430, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(2, 200, kT0).size());
        benchmark::DoNotOptimize(call.on_cancel_response(1, 200, kT0).size());
        benchmark::DoNotOptimize(call.on_branch_response(1, 487, kT0).size());
        benchmark::DoNotOptimize(call.done());
    }
}
BENCHMARK(BM_ProxyCallForkWithFlowFailover);

const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP client.a.example:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 69\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Alice <sip:alice@a.example>;tag=9fxced76sl\r\n"
    "Call-ID: klmvCxVWGp6MxJp2T2mb\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@client.a.example;transport=tcp>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// Branch id + edits + serialisation into a send buffer (what the owner does
// on kSendRequest), on an already parsed request.
void BM_BuildBranchRequest(benchmark::State& state) {
    fe::sip::Message request;
    if (request.parse(kInvite) != fe::sip::ParseError::kOk) {
        state.SkipWithError("parse");
        return;
    }
    const std::string_view path[] = {
        "<sip:VskztcQ/S8p4WPbOnHbuyh5iJvJIW3ib@ep1.example.com;lr;ob>"};
    const fe::outbound::BranchSecret secret{1, 2};
    fe::sip::EditArena arena;
    char out[2048];
    for (auto _ : state) {
        arena.reset();
        const fe::outbound::BranchId id = fe::outbound::write_branch_id(
            {.kind = fe::outbound::BranchKind::kProxy,
             .hash = fe::outbound::branch_hash(request, secret),
             .loop = fe::outbound::loop_hash(request)});
        fe::sip::EditList edits(request, arena);
        const fe::outbound::BranchRequestSpec spec{.contact_uri = "sip:bob@192.0.2.2;transport=tcp",
                                                   .path = path,
                                                   .via_transport = fe::Transport::kTcp,
                                                   .via_sent_by = "proxy.example.com",
                                                   .branch_id = id.view()};
        if (fe::outbound::add_branch_edits(request, spec, edits) !=
            fe::outbound::BranchBuildError::kOk) {
            state.SkipWithError("edits");
            return;
        }
        benchmark::DoNotOptimize(edits.serialize_into(out, sizeof(out)));
    }
}
BENCHMARK(BM_BuildBranchRequest);

// A CANCEL from the kept (parsed) branch request.
void BM_BuildCancel(benchmark::State& state) {
    fe::sip::Message branch_request;
    if (branch_request.parse(kInvite) != fe::sip::ParseError::kOk) {
        state.SkipWithError("parse");
        return;
    }
    char buf[1024];
    for (auto _ : state) {
        fe::sip::Writer out(buf, sizeof(buf));
        benchmark::DoNotOptimize(fe::outbound::build_cancel(branch_request, out));
        benchmark::DoNotOptimize(out.size());
    }
}
BENCHMARK(BM_BuildCancel);

}  // namespace
