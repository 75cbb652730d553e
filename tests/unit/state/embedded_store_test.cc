// Checks the embedded binding store (state/embedded_store.h) through the
// BindingStore interface: binding keys (outbound vs plain), Call-ID/CSeq
// ordering and atomicity, the per-AOR limit, expiry with injected time,
// forget_flow across AORs with its token index, and two threads hammering
// the same and different AORs.
#include "state/embedded_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/unit/state/binding_test_util.h"

namespace fe::state {
namespace {

using test::kT0;
using test::outbound_update;
using test::plain_update;
using test::removal;
using test::Result;


Result apply(BindingStore& store, std::string_view aor, std::vector<BindingUpdate> updates,
             std::string_view call_id, uint32_t cseq, std::string_view token, Time now,
             std::vector<std::string_view> path = {}, bool remove_all = false) {
    Result r;
    const RegisterUpdate update{.aor_key = aor,
                                .call_id = call_id,
                                .cseq = cseq,
                                .remove_all = remove_all,
                                .path = path,
                                .flow_token = token,
                                .node_id = 7,
                                .bindings = updates};
    store.apply(update, now, [&](StoreStatus s, const AorView& view) {
        r.called = true;
        r.status = s;
        EXPECT_EQ(view.aor_key, aor);
        r.bindings.assign(view.bindings.begin(), view.bindings.end());
    });
    EXPECT_TRUE(r.called) << "the embedded store answers before apply() returns";
    return r;
}

std::vector<Binding> lookup(BindingStore& store, std::string_view aor, Time now) {
    std::vector<Binding> out;
    bool called = false;
    store.lookup(aor, now, [&](StoreStatus s, const AorView& view) {
        called = true;
        EXPECT_EQ(s, StoreStatus::kOk);
        out.assign(view.bindings.begin(), view.bindings.end());
    });
    EXPECT_TRUE(called);
    return out;
}

constexpr std::string_view kAlice = "sip:alice@example.com";
constexpr std::string_view kMallory = "sip:mallory@example.com";
constexpr std::string_view kInstance = "urn:uuid:00000000-0000-1000-8000-aabbccddeeff";

// covers OB-REG-14, OB-DEP-06: everything of the binding is stored.
TEST(EmbeddedStoreTest, StoresEveryFieldOfABinding) {
    EmbeddedStore store;
    const std::string_view contact = "<sip:a@192.0.2.2;ob>;reg-id=1;+sip.instance=\"<urn:x:1>\"";
    BindingUpdate u = outbound_update(kInstance, 1, contact);
    u.contact_uri = "sip:a@192.0.2.2;ob";
    u.has_q = true;
    u.q_thousandths = 500;
    Result r = apply(store, kAlice, {u}, "c1", 5, "TOK1", kT0,
                     {"<sip:TOK1@ep1.example.com;lr;ob>", "<sip:p2.example.com;lr>"});
    ASSERT_EQ(r.status, StoreStatus::kOk);
    ASSERT_EQ(r.bindings.size(), 1u);
    const Binding& b = r.bindings[0];
    EXPECT_EQ(b.aor_key, kAlice);
    EXPECT_EQ(b.instance_key, kInstance);
    EXPECT_EQ(b.reg_id, 1u);
    EXPECT_EQ(b.contact, contact);
    EXPECT_EQ(b.contact_uri, "sip:a@192.0.2.2;ob");
    EXPECT_EQ(b.path, (std::vector<std::string>{"<sip:TOK1@ep1.example.com;lr;ob>",
                                                "<sip:p2.example.com;lr>"}));
    EXPECT_EQ(b.flow_token, "TOK1");
    EXPECT_EQ(b.expires_at, kT0 + seconds(3600));
    EXPECT_EQ(b.call_id, "c1");
    EXPECT_EQ(b.cseq, 5u);
    EXPECT_TRUE(b.has_q);
    EXPECT_EQ(b.q_thousandths, 500);
    EXPECT_EQ(b.updated_at, kT0);
    EXPECT_EQ(b.node_id, 7u);
    EXPECT_EQ(lookup(store, kAlice, kT0).size(), 1u);
}

// covers OB-REG-13, OB-REG-18, OB-REG-19: same (AOR, instance, reg-id) with a
// new Contact URI over a new flow replaces the binding and its flow.
TEST(EmbeddedStoreTest, OutboundReRegistrationReplacesContactAndFlow) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2:1000>")},
                    "c1", 1, "TOK-OLD", kT0).status,
              StoreStatus::kOk);
    Result r = apply(store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2:2000>")},
                     "c2", 1, "TOK-NEW", kT0 + seconds(30));
    ASSERT_EQ(r.status, StoreStatus::kOk);
    ASSERT_EQ(r.bindings.size(), 1u);
    EXPECT_EQ(r.bindings[0].contact, "<sip:a@192.0.2.2:2000>");
    EXPECT_EQ(r.bindings[0].flow_token, "TOK-NEW");
    EXPECT_EQ(r.bindings[0].updated_at, kT0 + seconds(30));
    EXPECT_EQ(store.flow_aor_count_for_test("TOK-OLD"), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("TOK-NEW"), 1u);
    // The old flow closing no longer touches the binding.
    store.forget_flow("TOK-OLD", kT0 + seconds(31));
    EXPECT_EQ(lookup(store, kAlice, kT0 + seconds(31)).size(), 1u);
}

// Two reg-ids of one instance are two bindings (two flows, RFC 5626 §4.2.1).
TEST(EmbeddedStoreTest, TwoRegIdsOfOneInstanceAreTwoBindings) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2>")}, "c1", 1,
                    "T1", kT0).status, StoreStatus::kOk);
    Result r = apply(store, kAlice, {outbound_update(kInstance, 2, "<sip:a@192.0.2.2>")}, "c2", 1,
                     "T2", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_EQ(r.bindings[0].flow_token, "T1");
    EXPECT_EQ(r.bindings[1].flow_token, "T2");
}

// covers OB-REG-10: outbound and plain bindings side by side in one AOR.
TEST(EmbeddedStoreTest, PlainAndOutboundBindingsCoexist) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "sip:a@192.0.2.2")}, "c1", 1,
                    "T1", kT0).status, StoreStatus::kOk);
    // Same URI text, but a plain binding: a different key.
    Result r = apply(store, kAlice, {plain_update("sip:a@192.0.2.2")}, "c2", 1, "", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_TRUE(r.bindings[0].is_outbound());
    EXPECT_FALSE(r.bindings[1].is_outbound());
    // Refreshing the plain one by URI keeps two.
    r = apply(store, kAlice, {plain_update("sip:a@192.0.2.2", seconds(60))}, "c2", 2, "", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_EQ(r.bindings[1].expires_at, kT0 + seconds(60));
}

// covers OB-REG-22: the victim's instance-id under another AOR changes
// nothing of the victim.
TEST(EmbeddedStoreTest, SameInstanceUnderAnotherAorDoesNotTouchVictim) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2>")}, "c1", 1,
                    "VICTIM", kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(store, kMallory, {outbound_update(kInstance, 1, "<sip:m@203.0.113.6>")},
                    "evil", 99, "ATTACKER", kT0).status, StoreStatus::kOk);
    const auto alice = lookup(store, kAlice, kT0);
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].contact, "<sip:a@192.0.2.2>");
    EXPECT_EQ(alice[0].flow_token, "VICTIM");
    // Removing it under the attacker's AOR removes only the attacker's.
    ASSERT_EQ(apply(store, kMallory, {removal(outbound_update(kInstance, 1, ""))}, "evil", 100, "",
                    kT0).status, StoreStatus::kOk);
    EXPECT_EQ(lookup(store, kAlice, kT0).size(), 1u);
    EXPECT_TRUE(lookup(store, kMallory, kT0).empty());
}

// RFC 3261 §10.3 step 7: same Call-ID needs a higher CSeq; a new Call-ID
// always wins. A failed REGISTER changes nothing, even its valid parts.
TEST(EmbeddedStoreTest, CallIdCSeqOrderingIsAtomic) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1")}, "c1", 10, "", kT0).status,
              StoreStatus::kOk);
    Result same = apply(store, kAlice, {plain_update("sip:a@1", seconds(10))}, "c1", 10, "", kT0);
    EXPECT_EQ(same.status, StoreStatus::kOutOfOrder);
    EXPECT_TRUE(same.bindings.empty());
    // A new binding plus an out-of-order one: neither is applied.
    Result mixed = apply(store, kAlice, {plain_update("sip:a@2"), plain_update("sip:a@1")}, "c1",
                         9, "", kT0);
    EXPECT_EQ(mixed.status, StoreStatus::kOutOfOrder);
    auto now = lookup(store, kAlice, kT0);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].expires_at, kT0 + seconds(3600));
    // A higher CSeq updates; a different Call-ID with a lower CSeq too.
    EXPECT_EQ(apply(store, kAlice, {plain_update("sip:a@1", seconds(20))}, "c1", 11, "", kT0)
                  .status, StoreStatus::kOk);
    Result rebooted = apply(store, kAlice, {plain_update("sip:a@1", seconds(30))}, "c2", 1, "", kT0);
    ASSERT_EQ(rebooted.status, StoreStatus::kOk);
    EXPECT_EQ(rebooted.bindings[0].call_id, "c2");
    EXPECT_EQ(rebooted.bindings[0].expires_at, kT0 + seconds(30));
}

// RFC 3261 §10.3 steps 6-7: unregister one binding (expires 0) and all (*).
TEST(EmbeddedStoreTest, RemoveOneAndRemoveAll) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1"), outbound_update(kInstance, 1, "sip:a@2")},
                    "c1", 1, "T1", kT0).status, StoreStatus::kOk);
    Result one = apply(store, kAlice, {removal(plain_update("sip:a@1"))}, "c1", 2, "T1", kT0);
    ASSERT_EQ(one.status, StoreStatus::kOk);
    ASSERT_EQ(one.bindings.size(), 1u);
    EXPECT_TRUE(one.bindings[0].is_outbound());
    // Contact: * with the same Call-ID and a CSeq not above the remaining
    // binding's (1) fails as a whole.
    EXPECT_EQ(apply(store, kAlice, {}, "c1", 1, "", kT0, {}, true).status,
              StoreStatus::kOutOfOrder);
    EXPECT_EQ(lookup(store, kAlice, kT0).size(), 1u);
    Result all = apply(store, kAlice, {}, "c1", 3, "", kT0, {}, true);
    ASSERT_EQ(all.status, StoreStatus::kOk);
    EXPECT_TRUE(all.bindings.empty());
    EXPECT_EQ(store.binding_count_for_test(), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("T1"), 0u);
}

TEST(EmbeddedStoreTest, BindingLimitPerAor) {
    EmbeddedStore store(EmbeddedStoreConfig{.binding_count_per_aor_max = 2});
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1"), plain_update("sip:a@2")}, "c1", 1, "",
                    kT0).status, StoreStatus::kOk);
    EXPECT_EQ(apply(store, kAlice, {plain_update("sip:a@3")}, "c1", 2, "", kT0).status,
              StoreStatus::kTooManyBindings);
    // Replacing one within the same REGISTER stays within the limit.
    Result swap = apply(store, kAlice, {removal(plain_update("sip:a@1")), plain_update("sip:a@3")},
                        "c1", 3, "", kT0);
    EXPECT_EQ(swap.status, StoreStatus::kOk);
    EXPECT_EQ(swap.bindings.size(), 2u);
}

// Expired bindings are never returned, and expire() removes them.
TEST(EmbeddedStoreTest, ExpiryWithInjectedTime) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1", seconds(60)),
                                    plain_update("sip:a@2", seconds(120))},
                    "c1", 1, "T1", kT0).status, StoreStatus::kOk);
    EXPECT_EQ(lookup(store, kAlice, kT0 + seconds(59)).size(), 2u);
    EXPECT_EQ(lookup(store, kAlice, kT0 + seconds(60)).size(), 1u);  // At expiry: gone.
    EXPECT_EQ(store.expire(kT0 + seconds(59)), 0u);
    EXPECT_EQ(store.expire(kT0 + seconds(60)), 1u);
    EXPECT_EQ(store.binding_count_for_test(), 1u);
    EXPECT_EQ(store.expire(kT0 + seconds(120)), 1u);
    EXPECT_EQ(store.binding_count_for_test(), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("T1"), 0u);
    EXPECT_EQ(store.expiry_entry_count_for_test(), 0u);
}

// A refresh moves expiry later; the old heap entry must not remove it.
TEST(EmbeddedStoreTest, RefreshOutlivesTheOldExpiry) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1", seconds(60))}, "c1", 1, "", kT0).status,
              StoreStatus::kOk);
    ASSERT_EQ(apply(store, kAlice, {plain_update("sip:a@1", seconds(60))}, "c1", 2, "",
                    kT0 + seconds(50)).status, StoreStatus::kOk);
    EXPECT_EQ(store.expire(kT0 + seconds(60)), 0u);
    EXPECT_EQ(lookup(store, kAlice, kT0 + seconds(60)).size(), 1u);
    EXPECT_EQ(store.expire(kT0 + seconds(110)), 1u);
}

// expire() does bounded work per call.
TEST(EmbeddedStoreTest, ExpireIsBoundedPerCall) {
    EmbeddedStore store(EmbeddedStoreConfig{.expire_aor_count_per_call_max = 2});
    std::vector<std::string> aors;
    for (int i = 0; i < 5; ++i) {
        aors.push_back("sip:u" + std::to_string(i) + "@example.com");
        ASSERT_EQ(apply(store, aors.back(), {plain_update("sip:x@1", seconds(10))}, "c", 1, "", kT0)
                      .status, StoreStatus::kOk);
    }
    const Time later = kT0 + seconds(10);
    EXPECT_EQ(store.expire(later), 2u);
    EXPECT_EQ(store.expire(later), 2u);
    EXPECT_EQ(store.expire(later), 1u);
    EXPECT_EQ(store.binding_count_for_test(), 0u);
}

// covers OB-AUTH-06: one flow carrying two AORs' bindings; closing it removes
// both, and nothing of other flows.
TEST(EmbeddedStoreTest, ForgetFlowAcrossTwoAors) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1, "SHARED",
                    kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(store, kMallory, {outbound_update(kInstance, 1, "sip:m@1")}, "c2", 1, "SHARED",
                    kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 2, "sip:a@2")}, "c3", 1, "OTHER",
                    kT0).status, StoreStatus::kOk);
    EXPECT_EQ(store.flow_aor_count_for_test("SHARED"), 2u);
    store.forget_flow("SHARED", kT0);
    const auto alice = lookup(store, kAlice, kT0);
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].flow_token, "OTHER");
    EXPECT_TRUE(lookup(store, kMallory, kT0).empty());
    EXPECT_EQ(store.flow_aor_count_for_test("SHARED"), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("OTHER"), 1u);
}

// Without forget_flow the binding outlives its flow (the proxy learns from 430).
TEST(EmbeddedStoreTest, BindingSurvivesWhenFlowIsNotForgotten) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1, "UDPFLOW",
                    kT0).status, StoreStatus::kOk);
    store.forget_flow("SOME-OTHER-FLOW", kT0);
    EXPECT_EQ(lookup(store, kAlice, kT0 + seconds(100)).size(), 1u);
}

// A callback may call the store again (no lock is held during `done`).
TEST(EmbeddedStoreTest, CallbackMayCallTheStore) {
    EmbeddedStore store;
    const RegisterUpdate update{.aor_key = kAlice, .call_id = "c", .cseq = 1};
    std::vector<BindingUpdate> updates = {plain_update("sip:a@1")};
    RegisterUpdate with = update;
    with.bindings = updates;
    size_t seen_inside = 0;
    store.apply(with, kT0, [&](StoreStatus, const AorView& outer) {
        store.lookup(kAlice, kT0, [&](StoreStatus, const AorView& inner) {
            seen_inside = inner.bindings.size();
        });
        EXPECT_EQ(outer.bindings.size(), 1u);  // Not clobbered by the nested call.
        EXPECT_EQ(outer.bindings[0].contact, "sip:a@1");
    });
    EXPECT_EQ(seen_inside, 1u);
}

// Two threads hammer a shared AOR and their own AORs, then one forgets its
// flows: every binding of those flows is gone and the index agrees.
TEST(EmbeddedStoreTest, TwoThreadsHammerSameAndDifferentAors) {
    EmbeddedStore store;
    constexpr int kRounds = 3000;
    auto worker = [&store](int t) {
        const std::string call_id = "call-" + std::to_string(t);
        const std::string instance = "urn:uuid:" + std::to_string(t);
        for (int i = 0; i < kRounds; ++i) {
            const std::string own = "sip:t" + std::to_string(t) + "-" + std::to_string(i % 50) + "@x";
            const std::string token = "tok-" + std::to_string(t) + "-" + std::to_string(i % 8);
            const uint32_t cseq = static_cast<uint32_t>(i + 1);
            const BindingUpdate u = outbound_update(instance, static_cast<uint32_t>(i % 4 + 1), "sip:c@1");
            for (std::string_view aor : {std::string_view(own), std::string_view("sip:shared@x")}) {
                const RegisterUpdate update{.aor_key = aor, .call_id = call_id, .cseq = cseq,
                                            .flow_token = token, .bindings = {&u, 1}};
                store.apply(update, kT0, [](StoreStatus s, const AorView&) {
                    EXPECT_EQ(s, StoreStatus::kOk);
                });
            }
            store.lookup("sip:shared@x", kT0, [](StoreStatus, const AorView& v) {
                EXPECT_LE(v.bindings.size(), 8u);
            });
            if (i % 100 == 99) {
                store.forget_flow("tok-" + std::to_string(t) + "-0", kT0);
            }
        }
    };
    std::thread a(worker, 0);
    std::thread b(worker, 1);
    a.join();
    b.join();
    // Each thread: 4 reg-ids in the shared AOR, at most 50 own AORs x 4.
    EXPECT_LE(store.binding_count_for_test(), 2u * (4 + 50 * 4));
    for (int k = 0; k < 8; ++k) {
        store.forget_flow("tok-0-" + std::to_string(k), kT0);
        EXPECT_EQ(store.flow_aor_count_for_test("tok-0-" + std::to_string(k)), 0u);
    }
    for (const Binding& shared : lookup(store, "sip:shared@x", kT0)) {
        EXPECT_EQ(shared.flow_token.rfind("tok-1-", 0), 0u) << shared.flow_token;
    }
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(lookup(store, "sip:t0-" + std::to_string(i) + "@x", kT0).empty());
        for (const Binding& own : lookup(store, "sip:t1-" + std::to_string(i) + "@x", kT0)) {
            EXPECT_GE(store.flow_aor_count_for_test(own.flow_token), 1u);
        }
    }
}

}  // namespace
}  // namespace fe::state
