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
//
// Server transactions (RFC 3261 §17.2.2), for REGISTERs over UDP only (over
// TCP and TLS the client does not retransmit and Timer J is zero):
//   - while the store has not answered (Trying), a retransmission of the
//     REGISTER (same top Via branch, sent-by and method, §17.2.3) is
//     absorbed: `respond` is not called for it;
//   - every final response sent is kept for Timer J (64*T1) in a
//     txn::CompletedTable, and a retransmission gets it again, with the
//     Flow-Timer it was sent with; nothing reaches the store.
// Without this a retransmission was a new REGISTER with the same Call-ID
// and CSeq, which §10.3 step 7 refuses: 500 Out Of Order.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "cluster/registrar_service.h"
#include "core/outbound/registrar.h"
#include "core/txn/completed_table.h"
#include "core/txn/timers.h"
#include "core/txn/txn_table.h"
#include "state/binding_store.h"

namespace fe::cluster {

// REGISTERs of one worker waiting for the store. The embedded store answers
// inline (one at a time); a Redis round trip of ~1 ms at 10,000 REGISTERs/s
// per worker keeps ~10 waiting, so 1024 only binds when Redis stalls, and
// then bounds the memory (~20 KiB each) the stall can pin.
inline constexpr uint32_t kRegisterInFlightCountMax = 1024;

// The registrar's server transactions (see the file comment).
struct RegistrarTxnConfig {
    // T1 gives Timer J (64*T1).
    txn::TimerConfig timers = {};
    txn::CompletedTableConfig completed = {};
};

struct RegistrarStats {
    uint64_t register_count = 0;        // handle_register() calls.
    uint64_t rejected_count = 0;        // Refused by the decision (4xx).
    uint64_t store_failure_count = 0;   // Store said no (500/403).
    uint64_t overload_count = 0;        // 503: too many in flight.
    uint64_t flow_closed_count = 0;     // on_flow_closed() calls.
    uint64_t retransmission_answered_count = 0;  // Completed: the kept response again.
    uint64_t retransmission_absorbed_count = 0;  // Trying: still waiting on the store.
    uint64_t response_not_kept_count = 0;        // UDP final not kept (key or size).
};

class Registrar final : public RegistrarService {
public:
    Registrar(state::BindingStore& store, const outbound::RegistrarConfig& config,
              RegistrarTxnConfig txn_config = {});
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
    // The finished REGISTER transactions kept to answer retransmissions.
    const txn::CompletedTable& completed() const { return completed_; }

private:
    struct Pending;

    bool answer_retransmission(const txn::ServerKey& key, Time now, Respond& respond);
    void keep_response(const txn::ServerKey& key, std::string_view response,
                       uint32_t flow_timer_s, Time now);
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
    // Timer J over UDP.
    const Duration timer_j_;
    // UDP REGISTERs waiting on a store that answers later (Redis), by their
    // §17.2.3 key: a retransmission that matches is absorbed. Each entry's
    // Pending holds its id and erases it when it answers. An inline answer
    // (the embedded store) is never entered: nothing arrives meanwhile.
    txn::TxnTable in_flight_;
    // UDP REGISTERs answered within Timer J: a retransmission gets the same
    // response.
    txn::CompletedTable completed_;
    RegistrarStats stats_;
};

}  // namespace fe::cluster
