#include "cluster/worker_store.h"

#include <utility>

#include "core/base/assert.h"

namespace fe::cluster {

WorkerStore::~WorkerStore() { remove(); }

void WorkerStore::install(std::unique_ptr<state::BindingStore>&& backend) {
    FE_ASSERT(backend != nullptr);
    FE_ASSERT(backend_ == nullptr);
    backend_ = std::move(backend);
}

void WorkerStore::remove() {
    // Moved out first: the pending calls the destructor answers may call
    // back into this slot (a proxy retries a lookup), and must find it empty
    // rather than a store half destroyed.
    std::unique_ptr<state::BindingStore> going = std::move(backend_);
    FE_ASSERT(backend_ == nullptr);
    going.reset();
}

void WorkerStore::apply(const state::RegisterUpdate& update, Time now, Done done) {
    if (backend_ == nullptr) {
        ++refused_count_;
        done(state::StoreStatus::kUnavailable, state::AorView{.aor_key = update.aor_key});
        return;
    }
    backend_->apply(update, now, std::move(done));
}

void WorkerStore::lookup(std::string_view aor_key, Time now, Done done) {
    if (backend_ == nullptr) {
        ++refused_count_;
        done(state::StoreStatus::kUnavailable, state::AorView{.aor_key = aor_key});
        return;
    }
    backend_->lookup(aor_key, now, std::move(done));
}

void WorkerStore::forget_flow(std::string_view flow_token, Time now) {
    if (backend_ == nullptr) {
        ++refused_count_;  // the bindings expire, or the proxy learns from a 430
        return;
    }
    backend_->forget_flow(flow_token, now);
}

size_t WorkerStore::expire(Time now) { return backend_ == nullptr ? 0 : backend_->expire(now); }

}  // namespace fe::cluster
