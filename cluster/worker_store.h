// File: cluster/worker_store.h
//
// The binding store one worker's Registrar and HomeProxy hold when the node
// keeps bindings in Redis. A RedisStore must be made, used and destroyed on
// its worker's thread (its hiredis connection is polled by that worker's
// ring), but the roles are built by the node before the workers start. This
// slot bridges the two: the roles get a WorkerStore& at construction, and the
// worker installs the real store into it once it runs (SipWorker, on
// kMailStart) and removes it when it stops (SipWorker::on_stop).
//
//   fe::cluster::WorkerStore slot;                       // built by the node
//   fe::cluster::Registrar registrar(slot, config);      // before the worker runs
//   ... on the worker's thread:
//   slot.install(std::make_unique<fe::state::RedisStore>(redis_config, w, w.timer_wheel()));
//   ... requests: slot.apply(...) goes to the RedisStore
//   slot.remove();                                       // on_stop: pending calls get kUnavailable
//
// With no backend installed (before the worker started, after it stopped)
// every call answers kUnavailable at once: the registrar answers 500 and the
// proxy 500, as when Redis is down. All calls on the worker's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/base/time.h"
#include "state/binding_store.h"

namespace fe::cluster {

class WorkerStore final : public state::BindingStore {
public:
    WorkerStore() = default;
    ~WorkerStore() override;
    WorkerStore(const WorkerStore&) = delete;
    WorkerStore& operator=(const WorkerStore&) = delete;

    // Takes the worker's store; none may be installed yet.
    void install(std::unique_ptr<state::BindingStore>&& backend);
    // Destroys the installed store (if any). Its pending calls are answered
    // while it goes, and any call they make meanwhile finds no backend.
    void remove();
    bool installed() const { return backend_ != nullptr; }

    void apply(const state::RegisterUpdate& update, Time now, Done done) override;
    void lookup(std::string_view aor_key, Time now, Done done) override;
    void forget_flow(std::string_view flow_token, Time now) override;
    size_t expire(Time now) override;
    // No backend answers kUnavailable at once; the backend's own otherwise.
    bool answers_inline() const override {
        return backend_ == nullptr || backend_->answers_inline();
    }

    // Calls answered kUnavailable because no backend was installed.
    uint64_t refused_count() const { return refused_count_; }

private:
    // Null before install() and after remove(); owned and used on one thread.
    std::unique_ptr<state::BindingStore> backend_;
    uint64_t refused_count_ = 0;
};

}  // namespace fe::cluster
