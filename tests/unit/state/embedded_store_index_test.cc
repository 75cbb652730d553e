// Checks the embedded store's flow index (state/embedded_store.h): "AOR A is
// listed under token T exactly when some binding of A has flow_token T" after
// every operation of a randomised run against a reference model, and on the
// shapes that made it quadratic before (issue 9): many AORs over one flow,
// forget_flow of such a flow, bindings moving between flows, expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "state/embedded_store.h"
#include "tests/unit/state/binding_test_util.h"

namespace fe::state {
namespace {

using test::kT0;
using test::outbound_update;
using test::plain_update;
using test::removal;

constexpr std::string_view kInstance = "urn:uuid:00000000-0000-1000-8000-aabbccddeeff";

std::string aor_name(size_t i) { return "sip:user" + std::to_string(i) + "@example.com"; }

StoreStatus apply(EmbeddedStore& store, std::string_view aor, std::vector<BindingUpdate> updates,
                  std::string_view call_id, uint32_t cseq, std::string_view token, Time now,
                  bool remove_all = false, std::vector<Binding>* out = nullptr) {
    const RegisterUpdate update{.aor_key = aor,
                                .call_id = call_id,
                                .cseq = cseq,
                                .remove_all = remove_all,
                                .flow_token = token,
                                .node_id = 1,
                                .bindings = updates};
    StoreStatus status = StoreStatus::kUnavailable;
    store.apply(update, now, [&](StoreStatus s, const AorView& view) {
        status = s;
        if (out != nullptr) {
            out->assign(view.bindings.begin(), view.bindings.end());
        }
    });
    return status;
}

std::vector<Binding> lookup(EmbeddedStore& store, std::string_view aor, Time now) {
    std::vector<Binding> out;
    store.lookup(aor, now, [&](StoreStatus, const AorView& view) {
        out.assign(view.bindings.begin(), view.bindings.end());
    });
    return out;
}

std::vector<std::string> aor_names(size_t first, size_t count) {
    std::vector<std::string> names;
    for (size_t i = first; i < first + count; ++i) {
        names.push_back(aor_name(i));
    }
    std::sort(names.begin(), names.end());
    return names;
}

// 1,000 AORs over one flow (past the inline form and many forget batches),
// half of them also over a flow of their own: forget_flow of the shared flow
// removes exactly its bindings, in every AOR, and nothing else.
TEST(EmbeddedStoreIndexTest, ForgetFlowRemovesExactlyThatTokenAcrossManyAors) {
    EmbeddedStore store;
    constexpr size_t kAors = 1000;
    for (size_t i = 0; i < kAors; ++i) {
        ASSERT_EQ(apply(store, aor_name(i), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 1,
                        "TRUNK", kT0),
                  StoreStatus::kOk);
        if (i % 2 == 0) {
            ASSERT_EQ(apply(store, aor_name(i), {outbound_update(kInstance, 2, "sip:a@2")}, "c", 2,
                            "OWN-" + std::to_string(i), kT0),
                      StoreStatus::kOk);
        }
    }
    // A bystander on another flow with the same instance and reg-id.
    ASSERT_EQ(apply(store, "sip:bystander@example.com", {outbound_update(kInstance, 1, "sip:b@1")},
                    "c", 1, "OTHER", kT0),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors);
    EXPECT_EQ(store.flow_aor_keys_for_test("TRUNK"), aor_names(0, kAors));
    EXPECT_TRUE(store.flow_index_consistent_for_test());

    store.forget_flow("TRUNK", kT0);

    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), 0u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    EXPECT_EQ(store.binding_count_for_test(), kAors / 2 + 1);
    for (size_t i = 0; i < kAors; ++i) {
        const auto left = lookup(store, aor_name(i), kT0);
        if (i % 2 == 0) {
            ASSERT_EQ(left.size(), 1u) << aor_name(i);
            EXPECT_EQ(left[0].flow_token, "OWN-" + std::to_string(i));
            EXPECT_EQ(left[0].reg_id, 2u);
            EXPECT_EQ(store.flow_aor_count_for_test(left[0].flow_token), 1u);
        } else {
            EXPECT_TRUE(left.empty()) << aor_name(i);
        }
    }
    EXPECT_EQ(lookup(store, "sip:bystander@example.com", kT0).size(), 1u);
    EXPECT_EQ(store.flow_aor_count_for_test("OTHER"), 1u);
    // Forgetting it again, or a token nobody uses, changes nothing.
    store.forget_flow("TRUNK", kT0);
    store.forget_flow("NOBODY", kT0);
    EXPECT_EQ(store.binding_count_for_test(), kAors / 2 + 1);
}

// An AOR with two bindings over one flow is listed once, and forgetting the
// flow removes both.
TEST(EmbeddedStoreIndexTest, TwoBindingsOfOneAorOverOneFlowAreListedOnce) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, aor_name(1),
                    {outbound_update(kInstance, 1, "sip:a@1"), plain_update("sip:a@2")}, "c", 1,
                    "T", kT0),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("T"), 1u);
    // Removing one keeps the AOR listed; removing the other unlists it.
    ASSERT_EQ(apply(store, aor_name(1), {removal(plain_update("sip:a@2"))}, "c", 2, "T", kT0),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("T"), 1u);
    ASSERT_EQ(apply(store, aor_name(1), {plain_update("sip:a@3")}, "c", 3, "T", kT0),
              StoreStatus::kOk);
    store.forget_flow("T", kT0);
    EXPECT_TRUE(lookup(store, aor_name(1), kT0).empty());
    EXPECT_EQ(store.binding_count_for_test(), 0u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
}

// OB-REG-18: a binding re-registered over another flow moves from the old
// token's list to the new one's, on a trunk-sized list too; a refresh over the
// same flow leaves the lists as they are.
TEST(EmbeddedStoreIndexTest, SupersedeMovesTheBindingBetweenTokenLists) {
    EmbeddedStore store;
    constexpr size_t kAors = 50;
    for (size_t i = 0; i < kAors; ++i) {
        ASSERT_EQ(apply(store, aor_name(i), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 1,
                        "OLD", kT0),
                  StoreStatus::kOk);
    }
    ASSERT_EQ(apply(store, aor_name(7), {outbound_update(kInstance, 1, "sip:a@9")}, "c", 2, "NEW",
                    kT0 + seconds(1)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("OLD"), kAors - 1);
    EXPECT_EQ(store.flow_aor_keys_for_test("NEW"), std::vector<std::string>{aor_name(7)});
    auto old_list = store.flow_aor_keys_for_test("OLD");
    EXPECT_FALSE(std::binary_search(old_list.begin(), old_list.end(), aor_name(7)));
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    // A refresh over the same flow.
    ASSERT_EQ(apply(store, aor_name(7), {outbound_update(kInstance, 1, "sip:a@9")}, "c", 3, "NEW",
                    kT0 + seconds(2)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("NEW"), 1u);
    EXPECT_EQ(store.flow_aor_count_for_test("OLD"), kAors - 1);
    // Back to the old flow, and a new Call-ID (a rebooted UA) moving another.
    ASSERT_EQ(apply(store, aor_name(7), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 4, "OLD",
                    kT0 + seconds(3)),
              StoreStatus::kOk);
    ASSERT_EQ(apply(store, aor_name(8), {outbound_update(kInstance, 1, "sip:a@1")}, "rebooted", 1,
                    "NEW", kT0 + seconds(3)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_keys_for_test("NEW"), std::vector<std::string>{aor_name(8)});
    EXPECT_EQ(store.flow_aor_count_for_test("OLD"), kAors - 1);
    // An AOR with bindings on both flows is listed under both; moving one of
    // them keeps it listed where the other still is.
    ASSERT_EQ(apply(store, aor_name(8), {outbound_update(kInstance, 2, "sip:a@2")}, "rebooted", 2,
                    "OLD", kT0 + seconds(4)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("OLD"), kAors);
    ASSERT_EQ(apply(store, aor_name(8), {outbound_update(kInstance, 2, "sip:a@2")}, "rebooted", 3,
                    "NEW", kT0 + seconds(5)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("OLD"), kAors - 1);
    EXPECT_EQ(store.flow_aor_keys_for_test("NEW"), std::vector<std::string>{aor_name(8)});
    // A rejected REGISTER (out of order) moves nothing.
    EXPECT_EQ(apply(store, aor_name(9), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 1, "NEW",
                    kT0 + seconds(6)),
              StoreStatus::kOutOfOrder);
    EXPECT_EQ(store.flow_aor_count_for_test("NEW"), 1u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
}

// Expiry (by expire() and by the purge an apply does first) takes bindings
// off their token's list; an AOR stays listed while one binding over the
// token is left.
TEST(EmbeddedStoreIndexTest, ExpiryRemovesBindingsFromTheIndex) {
    EmbeddedStore store(EmbeddedStoreConfig{.expire_aor_count_per_call_max = 7});
    constexpr size_t kAors = 300;
    // AOR i has a binding that expires after 10 * (1 + i % 3) s; AORs with
    // i % 3 == 0 also have one over the same flow that lives an hour.
    for (size_t i = 0; i < kAors; ++i) {
        std::vector<BindingUpdate> updates = {
            outbound_update(kInstance, 1, "sip:a@1", seconds(10 * (1 + i % 3)))};
        if (i % 3 == 0) {
            updates.push_back(plain_update("sip:long@1", seconds(3600)));
        }
        ASSERT_EQ(apply(store, aor_name(i), updates, "c", 1, "TRUNK", kT0), StoreStatus::kOk);
    }
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors);
    auto expire_all = [&](Time now) {
        while (store.expire(now) > 0) {
        }
        // A call can pop only stale entries and return 0: run a few more.
        for (int k = 0; k < 100; ++k) {
            (void)store.expire(now);
        }
    };
    expire_all(kT0 + seconds(10));
    // i % 3 == 0 lost its short binding but keeps the long one over the same
    // token: still listed.
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors);
    EXPECT_EQ(store.binding_count_for_test(), kAors);
    expire_all(kT0 + seconds(20));
    // i % 3 == 1 had nothing else: unlisted.
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors - kAors / 3);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    // The purge an apply() does first unlists too (AOR 2 expires at +30 s).
    ASSERT_EQ(apply(store, aor_name(2), {plain_update("sip:x@1")}, "c", 2, "ELSEWHERE",
                    kT0 + seconds(30)),
              StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors - kAors / 3 - 1);
    EXPECT_EQ(store.flow_aor_keys_for_test("ELSEWHERE"), std::vector<std::string>{aor_name(2)});
    expire_all(kT0 + seconds(30));
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), kAors / 3);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    expire_all(kT0 + seconds(3600));
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("ELSEWHERE"), 1u);  // Lives until +3630 s.
    EXPECT_EQ(store.binding_count_for_test(), 1u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
}

// The reference model: every binding the store may hold, expired or not.
struct ModelBinding {
    std::string token;
    Time expires_at;
    std::string call_id;
    uint32_t cseq = 0;
};
using ModelAor = std::map<std::string, ModelBinding>;  // by binding key

std::string model_key(const BindingUpdate& u) {
    return u.reg_id != 0 ? "o:" + std::to_string(u.reg_id) + ":" + std::string(u.instance_key)
                         : "p:" + std::string(u.contact_key);
}
std::string model_key(const Binding& b) {
    return b.reg_id != 0 ? "o:" + std::to_string(b.reg_id) + ":" + b.instance_key
                         : "p:" + b.contact_key;
}

// The model's view of one AOR, for comparison with what the store returns:
// (key, token, expiry) of the unexpired bindings.
using Seen = std::set<std::tuple<std::string, std::string, Time>>;
Seen unexpired(const ModelAor& aor, Time now) {
    Seen out;
    for (const auto& [key, b] : aor) {
        if (b.expires_at > now) {
            out.emplace(key, b.token, b.expires_at);
        }
    }
    return out;
}
Seen seen(const std::vector<Binding>& bindings) {
    Seen out;
    for (const Binding& b : bindings) {
        out.emplace(model_key(b), b.flow_token, b.expires_at);
    }
    return out;
}

// RFC 3261 §10.3 as the store applies it, on the model.
StoreStatus model_apply(ModelAor& aor, const std::vector<BindingUpdate>& updates,
                        const std::string& call_id, uint32_t cseq, const std::string& token,
                        bool remove_all, Time now, uint32_t limit) {
    std::erase_if(aor, [&](const auto& kv) { return kv.second.expires_at <= now; });
    auto in_order = [&](const ModelBinding& b) { return b.call_id != call_id || cseq > b.cseq; };
    if (remove_all) {
        for (const auto& [key, b] : aor) {
            if (!in_order(b)) {
                return StoreStatus::kOutOfOrder;
            }
        }
        aor.clear();
        return StoreStatus::kOk;
    }
    size_t after = aor.size();
    for (const BindingUpdate& u : updates) {
        auto it = aor.find(model_key(u));
        if (it != aor.end() && !in_order(it->second)) {
            return StoreStatus::kOutOfOrder;
        }
        if (it == aor.end() && u.action == BindingAction::kUpsert) {
            ++after;
        } else if (it != aor.end() && u.action == BindingAction::kRemove) {
            --after;
        }
    }
    if (after > limit && after > aor.size()) {
        return StoreStatus::kTooManyBindings;
    }
    for (const BindingUpdate& u : updates) {
        if (u.action == BindingAction::kRemove) {
            aor.erase(model_key(u));
        } else {
            aor[model_key(u)] = ModelBinding{token, now + u.expires_in, call_id, cseq};
        }
    }
    return StoreStatus::kOk;
}

// A fixed-seed random sequence of REGISTERs (add, refresh, move, remove,
// remove all, out of order, over the limit), forget_flow, expire() with a
// small budget, and time steps, over 30 AORs and 6 flows (one of them the
// empty token). After every operation: the store's index is exact (checked
// inside the store), each token's list lies between the model's AORs with an
// unexpired binding over it and its AORs with any binding over it (the store
// may have expired more than the model knows), and the touched AOR's
// bindings are the model's.
TEST(EmbeddedStoreIndexTest, RandomisedSequenceKeepsTheIndexExact) {
    constexpr uint32_t kLimit = 4;
    EmbeddedStore store(EmbeddedStoreConfig{.binding_count_per_aor_max = kLimit,
                                            .expire_aor_count_per_call_max = 3});
    std::mt19937 rng(9);
    auto below = [&](uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng); };

    constexpr uint32_t kAorCount = 30;
    const std::vector<std::string> tokens = {"T0", "T1", "T2", "T3", "T4", ""};
    const std::vector<std::string> instances = {"urn:uuid:1", "urn:uuid:2"};
    const std::vector<std::string> contacts = {"sip:a@1", "sip:a@2", "sip:a@3"};
    const std::vector<std::string> call_ids = {"c1", "c2"};
    std::map<std::string, ModelAor> model;
    std::map<std::string, uint32_t> last_cseq;  // per "aor|call-id"
    Time now = kT0;
    size_t counts[4] = {};  // applies ok, rejected, forgets, expires

    auto check_token = [&](const std::string& token, int step) {
        if (token.empty()) {
            return;
        }
        std::vector<std::string> must, may;
        for (const auto& [aor, bindings] : model) {
            bool any = false, live = false;
            for (const auto& [key, b] : bindings) {
                any |= b.token == token;
                live |= b.token == token && b.expires_at > now;
            }
            if (any) {
                may.push_back(aor);
            }
            if (live) {
                must.push_back(aor);
            }
        }
        const auto listed = store.flow_aor_keys_for_test(token);
        ASSERT_TRUE(std::includes(listed.begin(), listed.end(), must.begin(), must.end()))
            << "step " << step << " token " << token;
        ASSERT_TRUE(std::includes(may.begin(), may.end(), listed.begin(), listed.end()))
            << "step " << step << " token " << token;
    };

    for (int step = 0; step < 20'000; ++step) {
        const uint32_t op = below(100);
        const std::string aor = aor_name(below(kAorCount));
        if (op < 60) {
            // One REGISTER of one or two contacts, sometimes a removal, over
            // one flow; CSeq mostly rising per Call-ID, sometimes stale.
            std::vector<BindingUpdate> updates;
            const uint32_t n = 1 + below(2);
            std::set<std::string> keys;
            for (uint32_t k = 0; k < n; ++k) {
                BindingUpdate u =
                    below(4) == 0 ? plain_update(contacts[below(3)], seconds(5 + below(300)))
                                  : outbound_update(instances[below(2)], 1 + below(2),
                                                    contacts[below(3)], seconds(5 + below(300)));
                if (below(6) == 0) {
                    u = removal(u);
                }
                if (keys.insert(model_key(u)).second) {
                    updates.push_back(u);
                }
            }
            const std::string& call_id = call_ids[below(2)];
            uint32_t& cseq_seen = last_cseq[aor + "|" + call_id];
            const uint32_t cseq = below(10) == 0 ? cseq_seen : ++cseq_seen;
            const std::string& token = tokens[below(static_cast<uint32_t>(tokens.size()))];
            const bool remove_all = below(30) == 0;
            if (remove_all) {
                updates.clear();
            }
            std::vector<Binding> returned;
            const StoreStatus got =
                apply(store, aor, updates, call_id, cseq, token, now, remove_all, &returned);
            const StoreStatus want =
                model_apply(model[aor], updates, call_id, cseq, token, remove_all, now, kLimit);
            ASSERT_EQ(got, want) << "step " << step;
            if (got == StoreStatus::kOk) {
                ASSERT_EQ(seen(returned), unexpired(model[aor], now)) << "step " << step;
                ++counts[0];
            } else {
                ++counts[1];
            }
            if (model[aor].empty()) {
                model.erase(aor);
            }
        } else if (op < 70) {
            const std::string& token = tokens[below(static_cast<uint32_t>(tokens.size()))];
            store.forget_flow(token, now);
            for (auto& [name, bindings] : model) {
                if (!token.empty()) {
                    std::erase_if(bindings,
                                  [&](const auto& kv) { return kv.second.token == token; });
                }
            }
            std::erase_if(model, [](const auto& kv) { return kv.second.empty(); });
            if (!token.empty()) {
                ASSERT_EQ(store.flow_aor_count_for_test(token), 0u) << "step " << step;
            }
            ++counts[2];
        } else if (op < 85) {
            now += seconds(below(40));
            (void)store.expire(now);
            ++counts[3];
        } else {
            ASSERT_EQ(seen(lookup(store, aor, now)),
                      model.contains(aor) ? unexpired(model[aor], now) : Seen{})
                << "step " << step;
        }
        ASSERT_TRUE(store.flow_index_consistent_for_test()) << "step " << step;
        for (const std::string& token : tokens) {
            check_token(token, step);
        }
    }
    // The run exercised every kind of operation.
    EXPECT_GT(counts[0], 5000u);
    EXPECT_GT(counts[1], 100u);
    EXPECT_GT(counts[2], 1000u);
    EXPECT_GT(counts[3], 1000u);
}

// A flow carrying many AORs is forgotten while another thread keeps
// registering AORs over it and over its own flow: afterwards the index is
// exact, and every AOR the first thread registered before the forget is gone.
TEST(EmbeddedStoreIndexTest, ForgetFlowRacingWithRegistrationsLeavesTheIndexExact) {
    EmbeddedStore store;
    constexpr size_t kAors = 2000;
    for (size_t i = 0; i < kAors; ++i) {
        ASSERT_EQ(apply(store, aor_name(i), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 1,
                        "TRUNK", kT0),
                  StoreStatus::kOk);
    }
    std::thread registrar([&store] {
        for (uint32_t round = 0; round < 3; ++round) {
            for (size_t i = kAors; i < kAors + 500; ++i) {
                const std::string token = i % 2 == 0 ? "TRUNK" : "OWN";
                EXPECT_EQ(apply(store, aor_name(i), {outbound_update(kInstance, 1, "sip:a@1")}, "c",
                                round + 1, token, kT0),
                          StoreStatus::kOk);
            }
        }
    });
    store.forget_flow("TRUNK", kT0);
    registrar.join();
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    for (size_t i = 0; i < kAors; ++i) {
        ASSERT_TRUE(lookup(store, aor_name(i), kT0).empty()) << aor_name(i);
    }
    store.forget_flow("TRUNK", kT0);
    EXPECT_EQ(store.flow_aor_count_for_test("TRUNK"), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("OWN"), 250u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
}

}  // namespace
}  // namespace fe::state
