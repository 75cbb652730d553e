// Checks WorkerStore, the slot through which a worker's registrar and proxy
// reach the Redis store the worker makes on its own thread: with nothing
// installed every call is answered kUnavailable at once (and counted); once a
// store is installed calls reach it; removing it answers its pending calls,
// and a call made from inside such an answer finds the slot empty instead of
// a store half destroyed.
#include "cluster/worker_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "state/embedded_store.h"

namespace fe::cluster {
namespace {

const Time kNow = time_from_ns(1'000'000'000);

state::RegisterUpdate one_binding(const state::BindingUpdate& b) {
    state::RegisterUpdate u;
    u.aor_key = "sip:alice@example.com";
    u.call_id = "c1";
    u.cseq = 1;
    u.bindings = std::span<const state::BindingUpdate>(&b, 1);
    return u;
}

state::BindingUpdate contact() {
    state::BindingUpdate b;
    b.contact_key = "sip:alice@192.0.2.1";
    b.contact = "<sip:alice@192.0.2.1>";
    b.contact_uri = "sip:alice@192.0.2.1";
    b.expires_in = seconds(600);
    return b;
}

// A store that answers later, like Redis: calls wait until answer_all(), and
// the destructor answers whatever is left with kUnavailable.
class DeferredStore final : public state::BindingStore {
public:
    ~DeferredStore() override { answer_all(state::StoreStatus::kUnavailable); }
    void apply(const state::RegisterUpdate&, Time, Done done) override {
        waiting_.push_back(std::move(done));
    }
    void lookup(std::string_view, Time, Done done) override { waiting_.push_back(std::move(done)); }
    void forget_flow(std::string_view token, Time) override { forgotten.emplace_back(token); }
    size_t expire(Time) override { return 7; }
    void answer_all(state::StoreStatus status) {
        std::vector<Done> now = std::move(waiting_);
        waiting_.clear();
        for (Done& d : now) {
            d(status, state::AorView{});
        }
    }
    std::vector<std::string> forgotten;

private:
    std::vector<Done> waiting_;
};

TEST(WorkerStore, RefusesEveryCallUntilAStoreIsInstalled) {
    WorkerStore slot;
    EXPECT_FALSE(slot.installed());
    const state::BindingUpdate b = contact();
    std::vector<state::StoreStatus> seen;
    std::string aor_seen;
    slot.apply(one_binding(b), kNow, [&](state::StoreStatus s, const state::AorView& aor) {
        seen.push_back(s);
        aor_seen = std::string(aor.aor_key);
        EXPECT_TRUE(aor.bindings.empty());
    });
    slot.lookup("sip:bob@example.com", kNow,
                [&](state::StoreStatus s, const state::AorView&) { seen.push_back(s); });
    slot.forget_flow("token", kNow);
    EXPECT_EQ(slot.expire(kNow), 0u);
    // Answered inside the calls, as the registrar's 500 path expects.
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], state::StoreStatus::kUnavailable);
    EXPECT_EQ(seen[1], state::StoreStatus::kUnavailable);
    EXPECT_EQ(aor_seen, "sip:alice@example.com");
    EXPECT_EQ(slot.refused_count(), 3u);
}

TEST(WorkerStore, ForwardsToTheInstalledStore) {
    WorkerStore slot;
    slot.install(std::make_unique<state::EmbeddedStore>());
    ASSERT_TRUE(slot.installed());
    const state::BindingUpdate b = contact();
    state::StoreStatus applied = state::StoreStatus::kUnavailable;
    slot.apply(one_binding(b), kNow, [&](state::StoreStatus s, const state::AorView& aor) {
        applied = s;
        ASSERT_EQ(aor.bindings.size(), 1u);
        EXPECT_EQ(aor.bindings[0].contact, "<sip:alice@192.0.2.1>");
    });
    EXPECT_EQ(applied, state::StoreStatus::kOk);
    size_t found = 0;
    slot.lookup("sip:alice@example.com", kNow,
                [&](state::StoreStatus s, const state::AorView& aor) {
                    EXPECT_EQ(s, state::StoreStatus::kOk);
                    found = aor.bindings.size();
                });
    EXPECT_EQ(found, 1u);
    EXPECT_EQ(slot.refused_count(), 0u);
}

TEST(WorkerStore, PassesForgetAndExpireThrough) {
    WorkerStore slot;
    auto store = std::make_unique<DeferredStore>();
    DeferredStore* raw = store.get();
    slot.install(std::move(store));
    slot.forget_flow("tok1", kNow);
    EXPECT_EQ(slot.expire(kNow), 7u);
    ASSERT_EQ(raw->forgotten.size(), 1u);
    EXPECT_EQ(raw->forgotten[0], "tok1");
}

TEST(WorkerStore, RemovingAnswersPendingCallsAndLaterCallsAreRefused) {
    WorkerStore slot;
    slot.install(std::make_unique<DeferredStore>());
    std::vector<state::StoreStatus> seen;
    state::StoreStatus retried = state::StoreStatus::kOk;
    slot.lookup("sip:alice@example.com", kNow, [&](state::StoreStatus s, const state::AorView&) {
        seen.push_back(s);
        // A caller that retries from its answer (as a proxy might) must find
        // the slot empty, not the store being destroyed.
        EXPECT_FALSE(slot.installed());
        slot.lookup("sip:alice@example.com", kNow,
                    [&](state::StoreStatus s2, const state::AorView&) { retried = s2; });
    });
    EXPECT_TRUE(seen.empty());  // a deferred store answers later
    slot.remove();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], state::StoreStatus::kUnavailable);
    EXPECT_EQ(retried, state::StoreStatus::kUnavailable);
    EXPECT_FALSE(slot.installed());
    EXPECT_EQ(slot.refused_count(), 1u);
    slot.remove();  // idempotent
}

TEST(WorkerStore, CanBeFilledAgainAfterRemoval) {
    WorkerStore slot;
    slot.install(std::make_unique<DeferredStore>());
    slot.remove();
    slot.install(std::make_unique<state::EmbeddedStore>());
    state::StoreStatus s = state::StoreStatus::kUnavailable;
    slot.lookup("sip:x@example.com", kNow,
                [&](state::StoreStatus got, const state::AorView&) { s = got; });
    EXPECT_EQ(s, state::StoreStatus::kOk);
}

}  // namespace
}  // namespace fe::cluster
