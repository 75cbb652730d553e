#include "core/ua/ua.h"

#include "core/base/assert.h"

namespace fe::ua {

Ua::Ua(const UaConfig& config, uint64_t run_seed, uint32_t ua_index)
    : config_(config), rng_(run_seed, ua_index), ua_index_(ua_index), flow_count_(config.flow_count) {
    FE_ASSERT(flow_count_ >= 1);
    FE_ASSERT(flow_count_ <= kFlowCountMax);
    FE_ASSERT(config.edge_count >= flow_count_);
    FE_ASSERT(config.edge_count <= kEdgeCountMax);
    for (uint32_t i = 0; i < flow_count_; ++i) {
        // §4.2.1 / OB-UA-13: the same reg-id sequence on every boot.
        flows_[i] = FlowFsm(static_cast<uint8_t>(i), i + 1, static_cast<uint8_t>(i), rng_);
    }
}

const FlowFsm& Ua::flow(uint32_t flow_index) const {
    FE_ASSERT(flow_index < flow_count_);
    return flows_[flow_index];
}

FlowFsm& Ua::mutable_flow(uint32_t flow_index) {
    FE_ASSERT(flow_index < flow_count_);
    return flows_[flow_index];
}

uint32_t Ua::registered_flow_count() const {
    uint32_t count = 0;
    for (uint32_t i = 0; i < flow_count_; ++i) {
        count += flows_[i].state() == FlowState::kRegistered ? 1 : 0;
    }
    return count;
}

FlowSetHealth Ua::health_without(uint32_t flow_index) const {
    for (uint32_t i = 0; i < flow_count_; ++i) {
        if (i != flow_index && flows_[i].state() == FlowState::kRegistered) {
            return FlowSetHealth::kSomeWorking;
        }
    }
    return FlowSetHealth::kAllFailed;
}

std::optional<uint8_t> Ua::free_edge_for(uint32_t flow_index) const {
    const uint32_t own = flows_[flow_index].edge_index();
    for (uint32_t step = 1; step < config_.edge_count; ++step) {
        const uint32_t edge = (own + step) % config_.edge_count;
        bool used = false;
        for (uint32_t i = 0; i < flow_count_; ++i) {
            used = used || (i != flow_index && flows_[i].edge_index() == edge);
        }
        if (!used) {
            return static_cast<uint8_t>(edge);
        }
    }
    return std::nullopt;
}

void Ua::after_input(uint32_t flow_index, Time now, FlowEnv& env) {
    FlowFsm& flow = mutable_flow(flow_index);
    if (flow.state() == FlowState::kFailed) {
        flow.recover(now, env, health_without(flow_index), free_edge_for(flow_index));
    }
}

void Ua::start(Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    for (uint32_t i = 0; i < flow_count_; ++i) {
        flows_[i].start(now, env);
    }
}

void Ua::stop(Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    for (uint32_t i = 0; i < flow_count_; ++i) {
        flows_[i].stop(now, env);
    }
}

void Ua::on_connected(uint32_t flow_index, Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_connected(now, env);
    after_input(flow_index, now, env);
}

void Ua::on_connect_failed(uint32_t flow_index, Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_connect_failed(now, env);
    after_input(flow_index, now, env);
}

void Ua::on_transport_closed(uint32_t flow_index, Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_transport_closed(now, env);
    after_input(flow_index, now, env);
}

void Ua::on_register_response(uint32_t flow_index, Time now, const RegisterResponse& response,
                              ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_register_response(now, response, env);
    after_input(flow_index, now, env);
}

void Ua::on_pong(uint32_t flow_index, Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_pong(now, env);
    after_input(flow_index, now, env);
}

void Ua::on_stun_response(uint32_t flow_index, Time now, const StunResponse& response,
                          ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_stun_response(now, response, env);
    after_input(flow_index, now, env);
}

void Ua::on_timer(uint32_t flow_index, Time now, ActionList& actions) {
    FlowEnv env{config_, rng_, actions};
    mutable_flow(flow_index).on_timer(now, env);
    after_input(flow_index, now, env);
}

}  // namespace fe::ua
