// Checks the embedded store's compact representation (state/embedded_store.h,
// state/internal/aor_block.h): an AOR whose bindings outgrow their block
// moves to a new one, and the AOR set, the expiry heap and the flow index
// follow it (also while another thread forgets the flow the AOR is on), and
// an outbound binding as flowedge-bench registers it costs the heap what the
// header's memory budget says.
#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "state/embedded_store.h"
#include "tests/unit/state/binding_test_util.h"

namespace fe::state {
namespace {

using test::kT0;
using test::outbound_update;
using test::plain_update;

constexpr std::string_view kAlice = "sip:alice@example.com";

StoreStatus apply(EmbeddedStore& store, std::string_view aor, std::vector<BindingUpdate> updates,
                  uint32_t cseq, std::string_view token, Time now,
                  std::vector<Binding>* out = nullptr) {
    const std::string_view path[] = {"<sip:edge.example.com;lr>"};
    const RegisterUpdate update{.aor_key = aor,
                                .call_id = "call-1",
                                .cseq = cseq,
                                .path = path,
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

TEST(EmbeddedStoreBlockTest, AnAorThatOutgrowsItsBlockMovesWithItsIndexes) {
    EmbeddedStore store;
    ASSERT_EQ(apply(store, kAlice, {outbound_update("urn:uuid:1", 1, "sip:a@1", seconds(60))}, 1,
                    "T1", kT0),
              StoreStatus::kOk);
    ASSERT_EQ(apply(store, kAlice, {outbound_update("urn:uuid:1", 2, "sip:a@2", seconds(90))}, 2,
                    "T2", kT0),
              StoreStatus::kOk);
    // Four KiB more: the block cannot grow in place.
    const std::string long_contact = "sip:a@" + std::string(4096, 'x');
    std::vector<Binding> seen;
    ASSERT_EQ(apply(store, kAlice, {outbound_update("urn:uuid:1", 1, long_contact, seconds(60))},
                    3, "T1", kT0, &seen),
              StoreStatus::kOk);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].contact, long_contact);
    EXPECT_EQ(seen[0].path, std::vector<std::string>{"<sip:edge.example.com;lr>"});
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    EXPECT_EQ(store.flow_aor_keys_for_test("T1"), std::vector<std::string>{std::string(kAlice)});
    EXPECT_EQ(store.flow_aor_keys_for_test("T2"), std::vector<std::string>{std::string(kAlice)});
    // And back to a short one (in place), then a forget of one flow.
    ASSERT_EQ(apply(store, kAlice, {outbound_update("urn:uuid:1", 1, "sip:a@1", seconds(60))}, 4,
                    "T1", kT0),
              StoreStatus::kOk);
    store.forget_flow("T2", kT0);
    EXPECT_EQ(lookup(store, kAlice, kT0).size(), 1u);
    EXPECT_EQ(store.flow_aor_count_for_test("T2"), 0u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    // The heap followed the moves: the remaining binding expires on time.
    EXPECT_EQ(store.expire(kT0 + seconds(59)), 0u);
    EXPECT_EQ(store.expire(kT0 + seconds(60)), 1u);
    EXPECT_EQ(store.binding_count_for_test(), 0u);
    EXPECT_EQ(store.expiry_entry_count_for_test(), 0u);
    EXPECT_EQ(store.flow_aor_count_for_test("T1"), 0u);
}

// Blocks move back and forth (contacts alternate between short and long)
// while another thread forgets the flow they are on, again and again.
TEST(EmbeddedStoreBlockTest, MovesRacingWithForgetFlowLeaveTheIndexExact) {
    EmbeddedStore store;
    constexpr size_t kAors = 300;
    const std::string long_contact = "sip:a@" + std::string(2000, 'y');
    std::thread registrar([&] {
        for (uint32_t round = 1; round <= 20; ++round) {
            for (size_t i = 0; i < kAors; ++i) {
                const std::string aor = "sip:u" + std::to_string(i) + "@example.com";
                const std::string& contact = (i + round) % 2 == 0 ? long_contact : "sip:a@1";
                EXPECT_EQ(apply(store, aor,
                                {outbound_update("urn:uuid:1", 1, contact),
                                 plain_update(i % 3 == 0 ? "sip:p@1" : "sip:p@2")},
                                round, i % 2 == 0 ? "TRUNK" : "OTHER", kT0),
                          StoreStatus::kOk);
            }
        }
    });
    for (int k = 0; k < 200; ++k) {
        store.forget_flow("TRUNK", kT0);
        std::this_thread::yield();
    }
    registrar.join();
    EXPECT_TRUE(store.flow_index_consistent_for_test());
    store.forget_flow("TRUNK", kT0);
    store.forget_flow("OTHER", kT0);
    EXPECT_EQ(store.binding_count_for_test(), 0u);
    EXPECT_EQ(store.expiry_entry_count_for_test(), 0u);
    EXPECT_TRUE(store.flow_index_consistent_for_test());
}

// Refreshes that change only numbers are patched into the block; ones whose
// CSeq varint grows, or that change a string, are encoded again. Either way
// the store returns what was registered last.
TEST(EmbeddedStoreBlockTest, RefreshesPatchedInPlaceOrEncodedAgain) {
    EmbeddedStore store;
    Time now = kT0;
    for (uint32_t cseq = 1; cseq < 300; ++cseq) {
        now += seconds(1);
        const std::string contact = cseq % 50 == 0 ? "sip:a@2" : "sip:a@1";
        std::vector<Binding> seen;
        ASSERT_EQ(apply(store, kAlice,
                        {outbound_update("urn:uuid:1", 1, contact, seconds(60 + cseq % 7)),
                         plain_update("sip:p@1", seconds(30))},
                        cseq, cseq % 100 == 0 ? "T2" : "T1", now, &seen),
                  StoreStatus::kOk);
        ASSERT_EQ(seen.size(), 2u);
        const std::vector<Binding> looked_up = lookup(store, kAlice, now);
        ASSERT_EQ(looked_up.size(), 2u);
        for (const std::vector<Binding>* v : {&std::as_const(seen), &looked_up}) {
            const Binding& b = (*v)[0];
            ASSERT_EQ(b.cseq, cseq);
            ASSERT_EQ(b.contact, contact);
            ASSERT_EQ(b.updated_at, now);
            ASSERT_EQ(b.expires_at, now + seconds(60 + cseq % 7));
            ASSERT_EQ(b.flow_token, cseq % 100 == 0 ? "T2" : "T1");
            ASSERT_EQ((*v)[1].cseq, cseq);
        }
        ASSERT_TRUE(store.flow_index_consistent_for_test()) << cseq;
    }
    // The expiry entry followed: both go once the last refresh runs out.
    EXPECT_EQ(store.expire(now + seconds(29)), 0u);
    EXPECT_EQ(store.expire(now + seconds(30)), 1u);
    EXPECT_EQ(store.expire(now + seconds(60 + 299 % 7)), 1u);
    EXPECT_EQ(store.binding_count_for_test(), 0u);
}

// The budget in embedded_store.h: an outbound binding with our Path, as
// flowedge-bench registers it through this node, one per AOR and per flow.
TEST(EmbeddedStoreBlockTest, HeapBytesPerOutboundAor) {
    constexpr size_t kAors = 20'000;
    std::vector<std::string> aors, contacts, uris, paths, tokens, call_ids;
    for (size_t i = 0; i < kAors; ++i) {
        const std::string user = "u" + std::to_string(i);
        const std::string instance = "urn:uuid:910a2dec-8902-4cc1-beeb-8da1" + std::to_string(
                                                                                  100000 + i);
        aors.push_back("sip:" + user + "@example.com");
        uris.push_back("sip:" + user + "@127.96.0.1:5060;transport=tcp");
        contacts.push_back("<" + uris.back() + ">;reg-id=1;+sip.instance=\"<" + instance + ">\"");
        tokens.push_back("AQACAAABAAAAAH23LPoNbrSZ2N" + std::to_string(100000000 + i));
        paths.push_back("<sip:" + tokens.back() + "@127.0.0.1:15373;transport=tcp;lr;ob>");
        call_ids.push_back("3def033caf087d0e4ed3802c6" + std::to_string(1000000 + i));
    }
    const size_t before = mallinfo2().uordblks;
    auto store = std::make_unique<EmbeddedStore>();
    for (size_t i = 0; i < kAors; ++i) {
        const std::string instance = contacts[i].substr(contacts[i].find("<urn:") + 1, 45);
        const BindingUpdate binding{.action = BindingAction::kUpsert,
                                    .instance_key = instance,
                                    .reg_id = 1,
                                    .contact_key = uris[i],
                                    .contact = contacts[i],
                                    .contact_uri = uris[i],
                                    .expires_in = seconds(3600)};
        const std::string_view path[] = {paths[i]};
        const RegisterUpdate update{.aor_key = aors[i],
                                    .call_id = call_ids[i],
                                    .cseq = 1,
                                    .path = path,
                                    .flow_token = tokens[i],
                                    .node_id = 1,
                                    .bindings = {&binding, 1}};
        store->apply(update, kT0, [](StoreStatus s, const AorView& view) {
            ASSERT_EQ(s, StoreStatus::kOk);
            ASSERT_EQ(view.bindings.size(), 1u);
        });
    }
    const double per_aor =
        static_cast<double>(mallinfo2().uordblks - before) / static_cast<double>(kAors);
    RecordProperty("heap_B_per_aor", static_cast<int>(per_aor));
    std::printf("heap bytes per outbound AOR: %.0f\n", per_aor);
    // ~270 B of block, ~14 B of AOR set, ~24 B of heap, ~27 B of flow index.
    EXPECT_LT(per_aor, 375.0);
    EXPECT_TRUE(store->flow_index_consistent_for_test());
}

}  // namespace
}  // namespace fe::state
