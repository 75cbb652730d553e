// File: cluster/registrar.h
//
// The registrar role of one worker: RegistrarService glued from the pure
// decision (core/outbound/registrar.h) and a BindingStore (state/). One
// Registrar per worker, used only on that worker's thread; it owns nothing
// global and holds references to the node's store and registrar config, which
// must outlive it.
//
//   fe::state::EmbeddedStore store;                       // one per node
//   fe::outbound::RegistrarConfig config{.flow_timer_s = 120};
//   fe::cluster::Registrar registrar(store, config);      // one per worker
//   registrar.handle_register(message, flow, now, [&](std::string_view response) {
//       (void)worker.send_stream(conn, response);
//   });
//   registrar.on_flow_closed(token, now);                 // TCP close / idle reap
//
// handle_register() copies the request and the flow's strings into a pooled
// Pending before it asks the store, so a store that answers later (Redis)
// needs nothing from the caller's buffers. Pendings are reused: once warm, a
// REGISTER allocates nothing here. At most kRegisterInFlightCountMax may wait
// on the store; beyond that a REGISTER gets 503 at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "cluster/registrar_service.h"
#include "core/outbound/registrar.h"
#include "state/binding_store.h"

namespace fe::cluster {

// REGISTERs of one worker waiting for the store. The embedded store answers
// inline (one at a time); a Redis round trip of ~1 ms at 10,000 REGISTERs/s
// per worker keeps ~10 waiting, so 1024 only binds when Redis stalls, and
// then bounds the memory (~20 KiB each) the stall can pin.
inline constexpr uint32_t kRegisterInFlightCountMax = 1024;

struct RegistrarStats {
    uint64_t register_count = 0;        // handle_register() calls.
    uint64_t rejected_count = 0;        // Refused by the decision (4xx).
    uint64_t store_failure_count = 0;   // Store said no (500/403).
    uint64_t overload_count = 0;        // 503: too many in flight.
    uint64_t flow_closed_count = 0;     // on_flow_closed() calls.
};

class Registrar final : public RegistrarService {
public:
    Registrar(state::BindingStore& store, const outbound::RegistrarConfig& config);
    // Asserts that no REGISTER is still waiting on the store: the worker must
    // drain or cancel its store first.
    ~Registrar() override;
    Registrar(const Registrar&) = delete;
    Registrar& operator=(const Registrar&) = delete;

    void handle_register(const sip::Message& request, const RegisterFlow& flow, Time now,
                         Respond respond) override;
    void on_flow_closed(std::string_view flow_token, Time now) override;

    const RegistrarStats& stats() const { return stats_; }
    uint32_t in_flight_count() const { return in_flight_count_; }

private:
    struct Pending;

    void on_applied(std::unique_ptr<Pending> pending, state::StoreStatus status,
                    const state::AorView& aor);
    void respond_and_release(std::unique_ptr<Pending> pending,
                             outbound::CommitResult commit,
                             std::span<const outbound::CurrentBinding> bindings);
    std::unique_ptr<Pending> acquire();
    void release(std::unique_ptr<Pending> pending);

    state::BindingStore& store_;
    const outbound::RegistrarConfig& config_;
    // Pendings not in use, kept for reuse.
    std::vector<std::unique_ptr<Pending>> free_;
    // Pendings handed to the store and not yet completed.
    uint32_t in_flight_count_ = 0;
    // Where responses are written; used only during one respond call.
    std::vector<char> response_buffer_;
    RegistrarStats stats_;
};

}  // namespace fe::cluster
