// File: cluster/proxy.h
//
// The home (authoritative) proxy of one worker (RFC 3261 §16, RFC 5626 §7):
// ProxyService glued from the pure forking logic (core/outbound/proxy.h), the
// transaction machines (core/txn), a BindingStore and the edge's ProxySender.
// For a request to an AOR it looks the bindings up, forks one branch per UA
// instance over the freshest flow, retries the next flow of an instance on a
// 430 / 408 / flow failure (OB-AUTH-02, OB-430-02), forwards the best answer
// upstream and CANCELs the rest.
//
//   fe::cluster::HomeProxyConfig config;
//   config.via_host = "edge.example.com";  config.udp_port = 5060;  config.tcp_port = 5060;
//   config.identity = ...;  config.keys = &key_ring;
//   fe::cluster::HomeProxy proxy(store, sender, runtime.timer_wheel(), config);
//   proxy.handle_request(message, flow, now, respond);     // from the edge
//   proxy.handle_response(message, now);                   // a proxy branch's response
//
// Decisions (see proxy.cc for the RFC text behind each):
//   - The target set (§16.5): for a Request-URI in a served domain (or any
//     domain when none is configured), the AOR's bindings; the AOR key drops
//     a port that is ours (outbound::write_local_aor_key()). No binding: 480
//     when the host names this node or a configured domain, else the
//     Request-URI itself is the one target (a foreign URI is forwarded, not
//     refused). A Request-URI of a domain we do not serve is forwarded
//     without a lookup. A tel: URI is 404: we have no number routing.
//   - A binding whose first Path value is one of our own flow tokens is sent
//     straight down that flow, that value taken off the Route (OB-EDGE-12),
//     and a dialog-forming request whose value had `ob` is Record-Routed with
//     the token (OB-EDGE-11): exactly what the edge does when such a request
//     arrives from outside. Any other first hop is sent to its URI.
//   - Our Via carries `fl` naming the caller's flow, so a 2xx retransmission
//     that arrives after the call is gone still goes up (§16.7 step 5, RFC
//     6026 §7.2): handle_response() says false and the edge forwards it.
//   - A CANCEL is matched to its INVITE by the top Via's branch and sent-by
//     (§9.2, §17.2.3), answered 200 and fed to the call; one that matches
//     nothing gets 481 (we are the last proxy with knowledge of the targets,
//     so there is nothing to forward it to statelessly).
//   - An ACK matching an INVITE we answered with a non-2xx is absorbed
//     (hop by hop, §17.2.1); other ACKs reaching us are dropped: an ACK for a
//     2xx follows the dialog's route set, which the edge routes.
//   - The upstream side runs a real server transaction per call, so a request
//     retransmitted over UDP gets the last response again instead of a second
//     fork, and a non-2xx final is retransmitted until its ACK.
//   - A call's slot is released as soon as its ProxyCall is done and its
//     upstream transaction only absorbs retransmissions: a non-INVITE in
//     Completed (Timer J, §17.2.2), an INVITE after its 2xx (RFC 6026 §7.1
//     Accepted, Timer L; RFC 3261's machine ends at the 2xx, so the proxy
//     keeps that state itself), an INVITE in Confirmed (Timer I). Over UDP
//     that state moves to a txn::CompletedTable (~100 B plus the final
//     response, instead of a ~13 KiB slot for 32 s): a retransmitted
//     request gets the final again (or is absorbed: INVITE, the ACK of a
//     non-2xx) and is never forked twice. A CANCEL whose INVITE is there
//     gets 200 and changes nothing (§9.2: the INVITE was answered). An
//     INVITE whose non-2xx awaits its ACK keeps its slot (Timer G resends
//     it from there). The edge forwards 2xx retransmissions statelessly.
//   - A request reusing the branch and sent-by of a live call with another
//     method (§8.1.1.7 forbids it) is forked as a request of its own, which
//     later copies and CANCELs do not find.
//   - A binding without Path (plain RFC 3261, or a UA registered directly)
//     is sent to its Contact URI.
//
// Branch ids: the kProxy kind of core/outbound/branch_id.h. The worker says
// which worker's proxy holds the call; the hash is outbound::branch_hash() of
// the request (keyed per node, not guessable), the slot finds the call in
// O(1) and the hash proves the response belongs to it.
//
// Threading and lifetimes: one HomeProxy per worker, every call on that
// worker's thread, built on that thread once its timer wheel exists. Respond
// objects are kept for the life of a call and called once per upstream
// response (provisional, final, retransmission), so the edge's Respond must
// deliver every time it is called.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "cluster/proxy_limits.h"
#include "cluster/proxy_service.h"
#include "core/base/endpoint.h"
#include "core/outbound/proxy.h"
#include "core/outbound/proxy_request.h"
#include "core/outbound/router.h"
#include "core/sip/edit.h"
#include "core/time/timer_wheel.h"
#include "core/txn/completed_table.h"
#include "core/txn/txn_table.h"
#include "state/binding_store.h"

namespace fe::cluster {

struct HomeProxyConfig {
    // Transaction timers, Timer C, and the 503 rule of RFC 5626 §7.
    outbound::ProxyConfig proxy = {};
    // Who this node is (its names, ports and served domains; views into the
    // node's storage) and the token keys: a binding whose Path starts with
    // one of our tokens is sent down that flow.
    outbound::EdgeIdentity identity;
    const token::KeyRing* keys = nullptr;
    // The worker's token cache (set per worker by SipWorker), or null.
    token::TokenCache* token_cache = nullptr;
    // Our Via sent-by: the host the edge checks as ours, with the port of
    // the transport the branch leaves on (0: use the other one).
    std::string via_host;
    uint16_t udp_port = 0;
    uint16_t tcp_port = 0;
    uint16_t tls_port = 0;
    uint16_t ws_port = 0;
    uint16_t wss_port = 0;
    // Key of the branch id hashes; random per node at startup.
    outbound::BranchSecret branch_secret = {};
    uint32_t call_count_max = kProxyCallCountMax;
    // Upstream transactions that only answer retransmissions (UDP callers).
    txn::CompletedTableConfig completed = {};
    // The worker this proxy runs on; written into its branch ids so that the
    // edge hands a response arriving on another worker's flow to this one.
    uint8_t worker_index = 0;
};

// Counters of one worker's proxy; read on the worker's thread (or after it
// stopped).
struct HomeProxyStats {
    uint64_t requests = 0;             // handle_request() calls
    uint64_t calls_started = 0;        // new proxied requests given a slot
    uint64_t calls_finished = 0;       // slots released
    uint64_t retransmissions = 0;      // upstream request retransmissions absorbed
    uint64_t acks_absorbed = 0;        // ACK of our non-2xx final
    uint64_t acks_dropped = 0;         // ACK that matched nothing
    uint64_t cancels_matched = 0;      // CANCEL answered 200 and applied
    uint64_t cancels_unmatched = 0;    // 481
    uint64_t not_found = 0;            // 404: a tel: URI
    uint64_t forwarded_to_uri = 0;     // the Request-URI was the target (not an AOR of ours)
    uint64_t no_bindings = 0;          // 480 before forking
    uint64_t overload = 0;             // 503: call pool full
    uint64_t store_failures = 0;       // 500: the store said no
    uint64_t branches_sent = 0;        // branch requests handed to the edge
    uint64_t flow_gone = 0;            // kFlowGone, fed as 430 (OB-430-02)
    uint64_t record_routed = 0;        // branches Record-Routed with the callee's token
    uint64_t send_failures = 0;        // kBadTarget / kBusy, fed as transport errors
    uint64_t build_failures = 0;       // a branch request that could not be built
    uint64_t responses = 0;            // handle_response() calls
    uint64_t responses_unmatched = 0;  // no live call or branch
    uint64_t late_2xx_forwarded = 0;   // 2xx after the branch transaction ended
    uint64_t responses_without_caller_via = 0;  // only our Via left: dropped
    uint64_t completed_kept = 0;       // upstream transactions handed to the completed table
    uint64_t completed_not_kept = 0;   // refused by it (no RFC 3261 key, response too large)
    uint64_t completed_resent = 0;     // a retransmission got its kept final again
    uint64_t completed_absorbed = 0;   // an INVITE (or the ACK of a non-2xx) absorbed there
    uint64_t key_reused = 0;           // another method on a live call's key: not indexed
};

class HomeProxy final : public ProxyService {
public:
    // `store`, `sender` and `wheel` must outlive the proxy. Asserts a valid
    // config (timers, non-empty via_host, a port, keys, call_count_max > 0).
    HomeProxy(state::BindingStore& store, ProxySender& sender, time::TimerWheel& wheel,
              HomeProxyConfig config);
    // Disarms the call timers; calls still live are dropped without a
    // response (the worker is stopping).
    ~HomeProxy() override;
    HomeProxy(const HomeProxy&) = delete;
    HomeProxy& operator=(const HomeProxy&) = delete;

    void handle_request(const sip::Message& request, const RequestFlow& flow, Time now,
                        Respond respond) override;
    bool handle_response(const sip::Message& response, Time now) override;
    bool matches_ack(const sip::Message& ack) const override;

    // The edge could not connect to `destination`: every running branch sent
    // there failed in transport (RFC 3261 §16.9), so the instance's next flow
    // or the final answer follows at once instead of after Timer B/F. Rare,
    // so the live calls are walked.
    void on_destination_failed(const Endpoint& destination, Time now);

    const HomeProxyStats& stats() const { return stats_; }
    // Slots holding a call (forking, waiting on the store, a branch
    // lingering, or an INVITE's non-2xx waiting for its ACK).
    uint32_t live_call_count() const { return live_count_; }
    // Upstream transactions of released calls, kept for retransmissions.
    const txn::CompletedTable& completed() const { return completed_; }

private:
    struct BranchHop;
    struct Call;
    struct Feedback;

    // Requests.
    void handle_ack(const sip::Message& ack, Time now);
    void handle_cancel(const sip::Message& cancel, const RequestFlow& flow, Time now,
                       Respond& respond);
    bool handle_retransmission(const sip::Message& request, Time now);
    bool answer_from_completed(const sip::Message& request, Time now, Respond& respond);
    void start_call(const sip::Message& request, const RequestFlow& flow, Time now,
                    Respond& respond);
    void on_lookup(uint32_t slot, uint64_t generation, state::StoreStatus status,
                   const state::AorView& aor, Time now);
    void fork(Call& call, std::span<const state::Binding> bindings, Time now);
    void fork_to_request_uri(Call& call, Time now);
    BranchHop first_hop_of(const state::Binding& binding,
                           std::span<const std::string_view> path) const;

    // Carrying out ProxyCall actions; failures found while sending are fed
    // back once the current action list is done.
    void run(Call& call, std::span<const outbound::ProxyAction> actions,
             const sip::Message* response, Time now);
    void run_one(Call& call, const outbound::ProxyAction& action, const sip::Message* response,
                 Time now);
    void drain_feedback(Call& call, Time now);
    void send_branch_request(Call& call, uint8_t branch_index, uint8_t target_index);
    void resend(Call& call, uint8_t branch_index, const std::string& bytes, bool is_cancel);
    ProxySender::SendStatus send_to_branch_hop(const Call& call, uint8_t branch_index,
                                               std::string_view bytes);
    void send_cancel(Call& call, uint8_t branch_index);
    void send_ack(Call& call, uint8_t branch_index, const sip::Message& response);

    // Upstream (the server transaction).
    void send_upstream(Call& call, std::string_view response, uint16_t status, Time now);
    void send_generated(Call& call, uint16_t status, Time now);
    void run_server(Call& call, const txn::ActionList& actions);
    void forward_stripped(Call& call, const sip::Message& response, uint16_t status, Time now);
    size_t strip_top_via(const sip::Message& response);

    // Slots and the timer.
    Call* acquire();
    void release(Call& call);
    // Releases the call when nothing of it is left to do but absorbing
    // retransmissions (kept in completed_ first, over UDP), else arms its
    // timer at its next deadline. Every entry point ends with it.
    void settle(Call& call, Time now);
    bool only_absorbs(const Call& call) const;
    void keep_completed(Call& call, Time now);
    static void on_call_timer(time::Timer& timer, Time now);
    void on_timer(Call& call, Time now);
    Call* call_for_branch_id(std::string_view branch, uint8_t& branch_index);
    Call* call_for_upstream_key(const sip::Message& request) const;
    time::TimerWheel& wheel() { return wheel_; }

    state::BindingStore& store_;
    ProxySender& sender_;
    time::TimerWheel& wheel_;
    const HomeProxyConfig config_;
    // Every slot ever created (created on demand, never freed before the
    // proxy, so timers and pointers into a slot stay put); <= call_count_max.
    std::vector<std::unique_ptr<Call>> slots_;
    // Indexes into slots_ of slots not holding a call.
    std::vector<uint32_t> free_;
    uint32_t live_count_ = 0;
    // Upstream key ("branch|sent-by", see proxy.cc) -> slot of the live call
    // whose request had it. The key views point into the call's own copy.
    absl::flat_hash_map<std::string_view, uint32_t> by_upstream_key_;
    // Upstream server transactions of released calls that still answer
    // retransmissions (UDP only: Timer J, L, I are zero on TCP/TLS).
    txn::CompletedTable completed_;
    // Inserted text of the one message being edited (a branch request, or a
    // response losing our Via); reset per message.
    std::unique_ptr<sip::EditArena> arena_;
    // Where responses going upstream, CANCELs and ACKs are written, one at a
    // time and copied out before the next use.
    std::unique_ptr<char[]> response_buffer_;
    HomeProxyStats stats_;
};


}  // namespace fe::cluster
