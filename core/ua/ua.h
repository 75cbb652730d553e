// File: core/ua/ua.h
//
// One emulated RFC 5626 user agent: K flows (one per edge, reg-id 1..K, at
// most kFlowCountMax) driven through their FlowFsm, plus what needs the whole
// UA: the §4.5 back-off base ("all flows failed" or not) and the choice of
// another edge after a 439. Pure and allocation-free; 100k+ of these live in
// one load generator, so the config is shared and held by reference.
//
//   fe::ua::UaConfig config;                    // outlives every Ua using it
//   fe::ua::Ua ua(config, run_seed, ua_index);  // randomness: Rng(run_seed, ua_index)
//   fe::ua::ActionList actions;
//   ua.start(now, actions);                     // kConnect for every flow
//   for (const fe::ua::Action& a : actions) { ... }   // driver performs them
//   actions.clear();
//   ua.on_connected(/*flow_index=*/0, now, actions);
//
// A flow counts as "not failed" for the base-time while it is kRegistered; a
// flow that is connecting, registering or backing off does not, so at boot a
// UA whose first flow fails before the others registered uses 30 s.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "core/ua/flow_fsm.h"
#include "core/ua/random.h"

namespace fe::ua {

class Ua {
public:
    // `config` must outlive the Ua. Flow i starts on edge i with reg-id i + 1.
    Ua(const UaConfig& config, uint64_t run_seed, uint32_t ua_index);

    void start(Time now, ActionList& actions);
    // Removes every binding (Expires: 0) and closes every flow.
    void stop(Time now, ActionList& actions);

    void on_connected(uint32_t flow_index, Time now, ActionList& actions);
    void on_connect_failed(uint32_t flow_index, Time now, ActionList& actions);
    void on_transport_closed(uint32_t flow_index, Time now, ActionList& actions);
    void on_register_response(uint32_t flow_index, Time now, const RegisterResponse& response,
                              ActionList& actions);
    void on_pong(uint32_t flow_index, Time now, ActionList& actions);
    void on_stun_response(uint32_t flow_index, Time now, const StunResponse& response,
                          ActionList& actions);
    void on_timer(uint32_t flow_index, Time now, ActionList& actions);

    uint32_t flow_count() const { return flow_count_; }
    const FlowFsm& flow(uint32_t flow_index) const;
    uint32_t ua_index() const { return ua_index_; }
    // Flows in kRegistered.
    uint32_t registered_flow_count() const;
    // The back-off base that applies to `flow_index` failing now: kSomeWorking
    // when another flow is registered.
    FlowSetHealth health_without(uint32_t flow_index) const;

private:
    FlowFsm& mutable_flow(uint32_t flow_index);
    // Runs the §4.5 recovery when the input left the flow in kFailed.
    void after_input(uint32_t flow_index, Time now, FlowEnv& env);
    // The next edge after this flow's own that no other flow uses.
    std::optional<uint8_t> free_edge_for(uint32_t flow_index) const;

    const UaConfig& config_;
    Rng rng_;
    uint32_t ua_index_;
    uint32_t flow_count_;
    std::array<FlowFsm, kFlowCountMax> flows_{};  // [0, flow_count_) in use
};

}  // namespace fe::ua
