// Checks the per-worker flow table: create and find by handle, by connection
// id and by UDP (remote, local socket) for IPv4 and IPv6; stale handles after
// erase (generation advance, slot reuse, generation exhaustion retires the
// slot); the full-table error; idle expiry with injected time (default
// limits, Flow-Timer + grace, budgets, closing flows); a seeded random model
// test of the indexes against std::map.
#include "state/flow_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace fe::state {
namespace {

constexpr Time kT0 = time_from_ns(5'000'000'000);

FlowTableConfig small_config(uint32_t count_max = 8) {
    FlowTableConfig config;
    config.flow_count_max = count_max;
    return config;
}

Endpoint v4(const char* text) { return *Endpoint::parse(text); }

TEST(FlowTable, EntryIsSmall) {
    EXPECT_LE(sizeof(FlowEntry), 64u);
    EXPECT_EQ(sizeof(FlowEntry), 48u);
}

TEST(FlowTable, CreateUdpThenFindByHandleAndByAddressV4) {
    FlowTable table(small_config());
    Endpoint remote = v4("192.0.2.10:5060");
    FlowCreated created = table.create_udp(remote, 3, kT0);
    ASSERT_EQ(created.result, FlowResult::kOk);
    EXPECT_NE(created.handle.generation, 0u);
    EXPECT_EQ(table.count(), 1u);

    const FlowEntry* e = table.find(created.handle);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->is_udp());
    EXPECT_EQ(e->transport, Transport::kUdp);
    EXPECT_EQ(e->remote, remote);
    EXPECT_EQ(e->local_socket, 3);
    EXPECT_EQ(e->last_activity(), kT0);
    EXPECT_EQ(e->idle_limit(), kUdpFlowIdleLimit);
    EXPECT_EQ(e->generation, created.handle.generation);

    EXPECT_EQ(table.find_udp(remote, 3), created.handle);
    // The key is (address, port, local socket): change any part, no match.
    EXPECT_FALSE(table.find_udp(remote, 4).has_value());
    EXPECT_FALSE(table.find_udp(v4("192.0.2.10:5061"), 3).has_value());
    EXPECT_FALSE(table.find_udp(v4("192.0.2.11:5060"), 3).has_value());
    EXPECT_FALSE(table.find_by_connection(0).has_value());
}

TEST(FlowTable, UdpLookupV6AndV4AreDistinct) {
    FlowTable table(small_config());
    Endpoint six = *Endpoint::parse("[2001:db8::10]:5060");
    // Same leading address bytes as an IPv4 address, different family.
    std::array<uint8_t, 16> bytes{};
    bytes[0] = 192;
    bytes[1] = 0;
    bytes[2] = 2;
    bytes[3] = 10;
    Endpoint six_lookalike = Endpoint::v6(bytes, 5060);
    Endpoint four = v4("192.0.2.10:5060");
    FlowCreated a = table.create_udp(six, 0, kT0);
    FlowCreated b = table.create_udp(six_lookalike, 0, kT0);
    FlowCreated c = table.create_udp(four, 0, kT0);
    ASSERT_EQ(a.result, FlowResult::kOk);
    ASSERT_EQ(b.result, FlowResult::kOk);
    ASSERT_EQ(c.result, FlowResult::kOk);
    EXPECT_EQ(table.find_udp(six, 0), a.handle);
    EXPECT_EQ(table.find_udp(six_lookalike, 0), b.handle);
    EXPECT_EQ(table.find_udp(four, 0), c.handle);
    EXPECT_EQ(table.find(a.handle)->remote.to_string(), "[2001:db8::10]:5060");
    EXPECT_FALSE(table.find_udp(*Endpoint::parse("[2001:db8::11]:5060"), 0).has_value());
}

TEST(FlowTable, DuplicateUdpFlowIsRefused) {
    FlowTable table(small_config());
    Endpoint remote = v4("198.51.100.1:40000");
    FlowCreated first = table.create_udp(remote, 1, kT0);
    ASSERT_EQ(first.result, FlowResult::kOk);
    FlowCreated again = table.create_udp(remote, 1, kT0);
    EXPECT_EQ(again.result, FlowResult::kUdpFlowTaken);
    EXPECT_EQ(table.count(), 1u);
    // Another local socket is another flow (OB-AUTH-05: a UDP flow is the
    // pair of local and remote addresses).
    EXPECT_EQ(table.create_udp(remote, 2, kT0).result, FlowResult::kOk);
}

TEST(FlowTable, StreamFlowsByConnection) {
    FlowTable table(small_config());
    Endpoint peer = v4("203.0.113.5:33000");
    FlowCreated tcp = table.create_stream(17, Transport::kTcp, kT0, peer);
    FlowCreated tls = table.create_stream(18, Transport::kTls, kT0);
    ASSERT_EQ(tcp.result, FlowResult::kOk);
    ASSERT_EQ(tls.result, FlowResult::kOk);
    EXPECT_EQ(table.find_by_connection(17), tcp.handle);
    EXPECT_EQ(table.find_by_connection(18), tls.handle);
    EXPECT_FALSE(table.find_by_connection(19).has_value());
    const FlowEntry* e = table.find(tcp.handle);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->transport, Transport::kTcp);
    EXPECT_EQ(e->connection_id, 17u);
    EXPECT_EQ(e->remote, peer);
    EXPECT_EQ(e->idle_limit(), kStreamFlowIdleLimit);
    // A stream flow is not in the UDP index even with a remote address.
    EXPECT_FALSE(table.find_udp(peer, 0).has_value());
    EXPECT_EQ(table.create_stream(17, Transport::kWss, kT0).result, FlowResult::kConnectionTaken);

    ASSERT_EQ(table.erase(tcp.handle), FlowResult::kOk);
    EXPECT_FALSE(table.find_by_connection(17).has_value());
    // net/ reuses the descriptor index: the new flow has a new handle.
    FlowCreated reused = table.create_stream(17, Transport::kWs, kT0);
    ASSERT_EQ(reused.result, FlowResult::kOk);
    EXPECT_NE(reused.handle, tcp.handle);
    EXPECT_EQ(table.find_by_connection(17), reused.handle);
    EXPECT_EQ(table.find(tcp.handle), nullptr);
}

// covers OB-EDGE-15 (table side: a token for a flow that is gone finds nothing)
TEST(FlowTable, EraseAdvancesGenerationAndOldHandlesGoStale) {
    FlowTable table(small_config());
    Endpoint remote = v4("192.0.2.1:5060");
    FlowCreated first = table.create_udp(remote, 0, kT0);
    ASSERT_EQ(first.result, FlowResult::kOk);
    ASSERT_EQ(table.erase(first.handle), FlowResult::kOk);
    EXPECT_EQ(table.count(), 0u);
    EXPECT_EQ(table.find(first.handle), nullptr);
    EXPECT_FALSE(table.find_udp(remote, 0).has_value());
    EXPECT_EQ(table.erase(first.handle), FlowResult::kStale);
    EXPECT_EQ(table.touch(first.handle, kT0), FlowResult::kStale);
    EXPECT_EQ(table.set_cookie(first.handle, 1), FlowResult::kStale);
    EXPECT_EQ(table.set_flow_timer(first.handle, seconds(30)), FlowResult::kStale);
    EXPECT_EQ(table.set_flags(first.handle, kFlowOutbound), FlowResult::kStale);

    // The same 5-tuple again (a UA reconnecting from the same port) reuses
    // the slot with the next generation, so the old token does not match.
    FlowCreated second = table.create_udp(remote, 0, kT0);
    ASSERT_EQ(second.result, FlowResult::kOk);
    EXPECT_EQ(second.handle.slot, first.handle.slot);
    EXPECT_EQ(second.handle.generation, first.handle.generation + 1);
    EXPECT_EQ(table.find(first.handle), nullptr);
    EXPECT_NE(table.find(second.handle), nullptr);
    EXPECT_EQ(table.erase(first.handle), FlowResult::kStale);
    EXPECT_EQ(table.count(), 1u);
}

TEST(FlowTable, ZeroedAndOutOfRangeHandlesAreStale) {
    FlowTable table(small_config());
    FlowCreated created = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    ASSERT_EQ(created.result, FlowResult::kOk);
    EXPECT_EQ(table.find(FlowHandle{}), nullptr);
    EXPECT_EQ(table.find(FlowHandle{created.handle.slot, 0}), nullptr);
    EXPECT_EQ(table.find(FlowHandle{created.handle.slot, created.handle.generation + 1}), nullptr);
    EXPECT_EQ(table.find(FlowHandle{created.handle.slot + 1, created.handle.generation}), nullptr);
    EXPECT_EQ(table.find(FlowHandle{UINT32_MAX - 1, 1}), nullptr);
    EXPECT_EQ(table.erase(FlowHandle{1000, 1}), FlowResult::kStale);
}

TEST(FlowTable, GenerationStartFromConfig) {
    FlowTableConfig config = small_config();
    config.generation_start = 0x40000000;
    FlowTable table(config);
    FlowCreated created = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    ASSERT_EQ(created.result, FlowResult::kOk);
    EXPECT_EQ(created.handle.generation, 0x40000000u);
}

// A slot whose generation reaches UINT32_MAX is retired, not wrapped: no
// value it carried can name a later flow.
TEST(FlowTable, GenerationExhaustionRetiresTheSlot) {
    FlowTable table(small_config(2));
    FlowCreated a = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    ASSERT_EQ(a.result, FlowResult::kOk);
    ASSERT_EQ(table.erase(a.handle), FlowResult::kOk);
    table.set_generation_for_test(a.handle.slot, UINT32_MAX - 1);

    FlowCreated b = table.create_udp(v4("192.0.2.2:1"), 0, kT0);
    ASSERT_EQ(b.result, FlowResult::kOk);
    EXPECT_EQ(b.handle.slot, a.handle.slot);
    EXPECT_EQ(b.handle.generation, UINT32_MAX - 1);
    ASSERT_EQ(table.erase(b.handle), FlowResult::kOk);

    FlowCreated c = table.create_udp(v4("192.0.2.3:1"), 0, kT0);
    ASSERT_EQ(c.result, FlowResult::kOk);
    EXPECT_EQ(c.handle.slot, a.handle.slot);
    EXPECT_EQ(c.handle.generation, UINT32_MAX);
    ASSERT_EQ(table.erase(c.handle), FlowResult::kOk);
    EXPECT_EQ(table.retired_slot_count(), 1u);

    // The retired slot is never handed out again and its last handle stays
    // stale; the table still holds flow_count_max flows.
    FlowCreated d = table.create_udp(v4("192.0.2.4:1"), 0, kT0);
    FlowCreated e = table.create_udp(v4("192.0.2.5:1"), 0, kT0);
    ASSERT_EQ(d.result, FlowResult::kOk);
    ASSERT_EQ(e.result, FlowResult::kOk);
    EXPECT_NE(d.handle.slot, a.handle.slot);
    EXPECT_NE(e.handle.slot, a.handle.slot);
    EXPECT_EQ(table.find(c.handle), nullptr);
    EXPECT_EQ(table.find(b.handle), nullptr);
    EXPECT_EQ(table.find(FlowHandle{a.handle.slot, 1}), nullptr);
    EXPECT_EQ(table.count(), 2u);
    EXPECT_EQ(table.create_udp(v4("192.0.2.6:1"), 0, kT0).result, FlowResult::kTableFull);
}

TEST(FlowTable, FullTableRefusesUntilAFlowEnds) {
    FlowTable table(small_config(3));
    std::vector<FlowHandle> handles;
    for (uint16_t port = 1; port <= 3; ++port) {
        FlowCreated created = table.create_udp(Endpoint::v4(0xC0000201, port), 0, kT0);
        ASSERT_EQ(created.result, FlowResult::kOk);
        handles.push_back(created.handle);
    }
    EXPECT_EQ(table.count(), 3u);
    EXPECT_EQ(table.count_max(), 3u);
    EXPECT_EQ(table.create_udp(Endpoint::v4(0xC0000201, 4), 0, kT0).result,
              FlowResult::kTableFull);
    EXPECT_EQ(table.create_stream(1, Transport::kTcp, kT0).result, FlowResult::kTableFull);
    EXPECT_EQ(table.count(), 3u);
    EXPECT_EQ(table.slab_size(), 3u);  // a full table does not grow
    ASSERT_EQ(table.erase(handles[1]), FlowResult::kOk);
    FlowCreated after = table.create_stream(1, Transport::kTcp, kT0);
    ASSERT_EQ(after.result, FlowResult::kOk);
    EXPECT_EQ(after.handle.slot, handles[1].slot);
    EXPECT_EQ(table.slab_size(), 3u);
}

TEST(FlowTable, CookieAndFlags) {
    FlowTable table(small_config());
    FlowCreated created = table.create_stream(5, Transport::kTls, kT0);
    ASSERT_EQ(created.result, FlowResult::kOk);
    ASSERT_EQ(table.set_cookie(created.handle, 0xdeadbeef), FlowResult::kOk);
    ASSERT_EQ(table.set_flags(created.handle, kFlowOutbound | kFlowConnectionReuse),
              FlowResult::kOk);
    const FlowEntry* e = table.find(created.handle);
    EXPECT_EQ(e->cookie, 0xdeadbeefu);
    EXPECT_TRUE(e->has(kFlowOutbound));
    EXPECT_TRUE(e->has(kFlowConnectionReuse));
    EXPECT_TRUE(e->live());
    ASSERT_EQ(table.clear_flags(created.handle, kFlowOutbound), FlowResult::kOk);
    EXPECT_FALSE(e->has(kFlowOutbound));
    EXPECT_TRUE(e->has(kFlowConnectionReuse));
    // A new flow in the slot starts clean.
    ASSERT_EQ(table.erase(created.handle), FlowResult::kOk);
    FlowCreated next = table.create_stream(6, Transport::kTcp, kT0);
    ASSERT_EQ(next.result, FlowResult::kOk);
    EXPECT_EQ(table.find(next.handle)->cookie, 0u);
    EXPECT_FALSE(table.find(next.handle)->has(kFlowConnectionReuse));
}

TEST(FlowTable, ForEachVisitsLiveFlowsOnly) {
    FlowTable table(small_config());
    FlowCreated a = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    FlowCreated b = table.create_stream(1, Transport::kTcp, kT0);
    FlowCreated c = table.create_udp(v4("192.0.2.3:1"), 0, kT0);
    ASSERT_EQ(table.erase(b.handle), FlowResult::kOk);
    std::vector<FlowHandle> seen;
    table.for_each([&](FlowHandle h, const FlowEntry& e) {
        EXPECT_TRUE(e.live());
        seen.push_back(h);
    });
    EXPECT_EQ(seen, (std::vector<FlowHandle>{a.handle, c.handle}));
}

// Collects what expire() reports and answers with a fixed decision.
struct Reaper {
    ExpireDecision decision = ExpireDecision::kErase;
    std::vector<FlowHandle> reported;
    std::vector<Time> last_activity;
    ExpireDecision operator()(FlowHandle h, const FlowEntry& e) {
        reported.push_back(h);
        last_activity.push_back(e.last_activity());
        return decision;
    }
};

// covers OB-KA-22 (the table records last-activity time per flow)
TEST(FlowTable, UdpFlowExpiresAfterItsIdleLimitAndTouchDefersIt) {
    FlowTable table(small_config());
    FlowCreated quiet = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    FlowCreated busy = table.create_udp(v4("192.0.2.2:1"), 0, kT0);
    ASSERT_EQ(table.touch(busy.handle, kT0 + seconds(100)), FlowResult::kOk);
    EXPECT_EQ(table.find(busy.handle)->last_activity(), kT0 + seconds(100));

    Reaper reaper;
    // Exactly at the limit is not yet past it.
    EXPECT_EQ(table.expire(kT0 + kUdpFlowIdleLimit, 100, reaper), 0u);
    EXPECT_EQ(table.expire(kT0 + kUdpFlowIdleLimit + milliseconds(1), 100, reaper), 1u);
    ASSERT_EQ(reaper.reported.size(), 1u);
    EXPECT_EQ(reaper.reported[0], quiet.handle);
    EXPECT_EQ(reaper.last_activity[0], kT0);
    EXPECT_EQ(table.find(quiet.handle), nullptr);
    EXPECT_FALSE(table.find_udp(v4("192.0.2.1:1"), 0).has_value());
    EXPECT_EQ(table.count(), 1u);

    EXPECT_EQ(table.expire(kT0 + seconds(100) + kUdpFlowIdleLimit + milliseconds(1), 100, reaper),
              1u);
    EXPECT_EQ(reaper.reported.back(), busy.handle);
    EXPECT_EQ(table.count(), 0u);
}

// covers OB-FT-02, OB-EDGE-19
TEST(FlowTable, FlowTimerPlusGraceDecidesWhenAFlowIsDead) {
    FlowTable table(small_config());
    FlowCreated flow = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    ASSERT_EQ(table.set_flow_timer(flow.handle, seconds(30)), FlowResult::kOk);
    EXPECT_EQ(table.find(flow.handle)->idle_limit(), seconds(30) + kFlowTimerGrace);
    Reaper reaper;
    // Pings every 30 s with 200 ms jitter: never reaped.
    Time now = kT0;
    for (int i = 0; i < 20; ++i) {
        now += seconds(30) + milliseconds(200);
        EXPECT_EQ(table.expire(now, 100, reaper), 0u);
        ASSERT_EQ(table.touch(flow.handle, now), FlowResult::kOk);
    }
    // Pings stop: not reaped at Flow-Timer, nor at Flow-Timer + grace.
    EXPECT_EQ(table.expire(now + seconds(30) + milliseconds(1), 100, reaper), 0u);
    EXPECT_EQ(table.expire(now + seconds(30) + kFlowTimerGrace, 100, reaper), 0u);
    EXPECT_EQ(table.expire(now + seconds(30) + kFlowTimerGrace + milliseconds(1), 100, reaper), 1u);
    EXPECT_EQ(table.find(flow.handle), nullptr);
}

TEST(FlowTable, ExpireVisitsAtMostBudgetSlotsRoundRobin) {
    FlowTable table(small_config(10));
    for (uint16_t port = 1; port <= 10; ++port) {
        ASSERT_EQ(table.create_udp(Endpoint::v4(0xC0000201, port), 0, kT0).result, FlowResult::kOk);
    }
    Reaper reaper;
    Time late = kT0 + hours(1);
    EXPECT_EQ(table.expire(late, 3, reaper), 3u);
    EXPECT_EQ(table.count(), 7u);
    EXPECT_EQ(table.expire(late, 3, reaper), 3u);
    EXPECT_EQ(table.expire(late, 3, reaper), 3u);
    // The last call wraps: visits slot 9, then freed slots 0 and 1.
    EXPECT_EQ(table.expire(late, 3, reaper), 1u);
    EXPECT_EQ(table.count(), 0u);
    for (size_t i = 0; i < reaper.reported.size(); ++i) {
        EXPECT_EQ(reaper.reported[i].slot, i);  // slab order
    }
    // A budget beyond the slab visits each slot once.
    EXPECT_EQ(table.expire(late, 1000, reaper), 0u);
}

TEST(FlowTable, SweepBudgetCoversTheSlabOncePerSweepPeriod) {
    FlowTableConfig config = small_config(1000);
    config.sweep_period = seconds(2);
    FlowTable table(config);
    for (uint16_t port = 1; port <= 1000; ++port) {
        ASSERT_EQ(table.create_udp(Endpoint::v4(0xC0000201, port), 0, kT0).result, FlowResult::kOk);
    }
    size_t budget = table.sweep_budget(milliseconds(10));
    EXPECT_GE(budget * 200, 1000u);  // 200 calls per period cover the slab
    EXPECT_LE(budget, 10u);
    EXPECT_EQ(table.sweep_budget(seconds(5)), 1000u);
    Reaper reaper;
    size_t total = 0;
    for (int call = 0; call < 200; ++call) {
        total += table.expire(kT0 + hours(1), budget, reaper);
    }
    EXPECT_EQ(total, 1000u);
}

TEST(FlowTable, StreamFlowReportedOnceWhenOwnerIsClosingIt) {
    FlowTable table(small_config());
    FlowCreated flow = table.create_stream(9, Transport::kTcp, kT0);
    Reaper reaper;
    reaper.decision = ExpireDecision::kClosing;
    Time late = kT0 + kStreamFlowIdleLimit + seconds(1);
    EXPECT_EQ(table.expire(late, 100, reaper), 1u);
    ASSERT_NE(table.find(flow.handle), nullptr);
    EXPECT_TRUE(table.find(flow.handle)->has(kFlowClosing));
    EXPECT_EQ(table.expire(late + seconds(10), 100, reaper), 0u);
    // The close completes: the owner erases the flow.
    ASSERT_EQ(table.erase(flow.handle), FlowResult::kOk);
    EXPECT_FALSE(table.find_by_connection(9).has_value());
}

TEST(FlowTable, KeepDecisionReportsAgainWhileStillIdle) {
    FlowTable table(small_config());
    FlowCreated flow = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    Reaper reaper;
    reaper.decision = ExpireDecision::kKeep;
    Time late = kT0 + kUdpFlowIdleLimit + seconds(1);
    EXPECT_EQ(table.expire(late, 100, reaper), 1u);
    EXPECT_EQ(table.expire(late, 100, reaper), 1u);
    EXPECT_NE(table.find(flow.handle), nullptr);
}

TEST(FlowTable, ExpireCallbackMayEraseOtherFlows) {
    FlowTable table(small_config());
    FlowCreated a = table.create_udp(v4("192.0.2.1:1"), 0, kT0);
    FlowCreated b = table.create_udp(v4("192.0.2.2:1"), 0, kT0);
    size_t calls = 0;
    size_t reported = table.expire(kT0 + hours(1), 100, [&](FlowHandle h, const FlowEntry&) {
        ++calls;
        EXPECT_EQ(h, a.handle);
        EXPECT_EQ(table.erase(b.handle), FlowResult::kOk);
        return ExpireDecision::kErase;
    });
    EXPECT_EQ(reported, 1u);
    EXPECT_EQ(calls, 1u);
    EXPECT_EQ(table.count(), 0u);
}

// A seeded random sequence of creates, erases, touches and lookups, checked
// against std::map models of both indexes (exercises index tombstones and
// slot reuse).
TEST(FlowTable, RandomisedModelAgainstMaps) {
    constexpr uint32_t kCountMax = 300;
    FlowTable table(small_config(kCountMax));
    std::mt19937_64 rng(1234);
    std::map<std::tuple<uint32_t, uint16_t, uint16_t>, FlowHandle> udp_model;  // (ip, port, sock)
    std::map<uint32_t, FlowHandle> stream_model;
    std::vector<FlowHandle> dead;
    for (int op = 0; op < 200000; ++op) {
        auto ip = static_cast<uint32_t>(0x0A000000u + rng() % 64);
        auto port = static_cast<uint16_t>(rng() % 8);
        auto sock = static_cast<uint16_t>(rng() % 2);
        auto conn = static_cast<uint32_t>(rng() % 200);
        Endpoint remote = Endpoint::v4(ip, port);
        size_t live = udp_model.size() + stream_model.size();
        switch (rng() % 6) {
            case 0: {
                FlowCreated c = table.create_udp(remote, sock, kT0);
                auto key = std::make_tuple(ip, port, sock);
                if (live == kCountMax) {
                    ASSERT_EQ(c.result, FlowResult::kTableFull);
                } else if (udp_model.count(key)) {
                    ASSERT_EQ(c.result, FlowResult::kUdpFlowTaken);
                } else {
                    ASSERT_EQ(c.result, FlowResult::kOk);
                    udp_model[key] = c.handle;
                }
                break;
            }
            case 1: {
                FlowCreated c = table.create_stream(conn, Transport::kTcp, kT0);
                if (live == kCountMax) {
                    ASSERT_EQ(c.result, FlowResult::kTableFull);
                } else if (stream_model.count(conn)) {
                    ASSERT_EQ(c.result, FlowResult::kConnectionTaken);
                } else {
                    ASSERT_EQ(c.result, FlowResult::kOk);
                    stream_model[conn] = c.handle;
                }
                break;
            }
            case 2: {
                auto it = udp_model.find(std::make_tuple(ip, port, sock));
                if (it != udp_model.end()) {
                    ASSERT_EQ(table.erase(it->second), FlowResult::kOk);
                    dead.push_back(it->second);
                    udp_model.erase(it);
                }
                auto st = stream_model.find(conn);
                if (st != stream_model.end()) {
                    ASSERT_EQ(table.erase(st->second), FlowResult::kOk);
                    dead.push_back(st->second);
                    stream_model.erase(st);
                }
                break;
            }
            default: {
                auto it = udp_model.find(std::make_tuple(ip, port, sock));
                std::optional<FlowHandle> got = table.find_udp(remote, sock);
                ASSERT_EQ(got.has_value(), it != udp_model.end()) << "op " << op;
                if (got) {
                    ASSERT_EQ(*got, it->second);
                    ASSERT_NE(table.find(*got), nullptr);
                }
                auto st = stream_model.find(conn);
                std::optional<FlowHandle> by_conn = table.find_by_connection(conn);
                ASSERT_EQ(by_conn.has_value(), st != stream_model.end()) << "op " << op;
                if (by_conn) {
                    ASSERT_EQ(*by_conn, st->second);
                }
                if (!dead.empty()) {
                    ASSERT_EQ(table.find(dead[rng() % dead.size()]), nullptr);
                }
                break;
            }
        }
        ASSERT_EQ(table.count(), udp_model.size() + stream_model.size());
    }
    EXPECT_LE(table.slab_size(), kCountMax);
}

}  // namespace
}  // namespace fe::state

namespace fe::state {
namespace {

// Stream flows have their own cap (a worker's connections are bounded by its
// ring's file table), below flow_count_max; UDP flows still fit after it.
TEST(FlowTable, StreamFlowsStopAtTheirOwnLimitWhileUdpFlowsGoOn) {
    FlowTableConfig config;
    config.flow_count_max = 8;
    config.stream_flow_count_max = 2;
    FlowTable table(config);
    const Time t0{};
    FlowCreated first = table.create_stream(10, Transport::kTcp, t0);
    ASSERT_EQ(first.result, FlowResult::kOk);
    ASSERT_EQ(table.create_stream(11, Transport::kTcp, t0).result, FlowResult::kOk);
    EXPECT_EQ(table.create_stream(12, Transport::kTcp, t0).result, FlowResult::kTableFull);
    EXPECT_EQ(table.create_udp(Endpoint::v4(0xC0000201, 5060), 0, t0).result, FlowResult::kOk);
    ASSERT_EQ(table.erase(first.handle), FlowResult::kOk);
    EXPECT_EQ(table.create_stream(12, Transport::kTcp, t0).result, FlowResult::kOk);
    EXPECT_EQ(table.find_by_connection(12).has_value(), true);
}

// The connection index is an array of connection_id_limit ids: an id past it
// is refused (kTableFull, backpressure) and never found, and ids at both
// ends of the range work; an erased flow's id is free for the next one.
TEST(FlowTable, ConnectionIdsBeyondTheIndexAreRefused) {
    FlowTableConfig config;
    config.connection_id_limit = 100;
    FlowTable table(config);
    EXPECT_EQ(table.create_stream(100, Transport::kTcp, kT0).result, FlowResult::kTableFull);
    EXPECT_EQ(table.create_stream(UINT32_MAX, Transport::kTcp, kT0).result, FlowResult::kTableFull);
    EXPECT_FALSE(table.find_by_connection(100).has_value());
    EXPECT_FALSE(table.find_by_connection(UINT32_MAX).has_value());
    EXPECT_EQ(table.count(), 0u);
    FlowCreated low = table.create_stream(0, Transport::kTcp, kT0);
    FlowCreated high = table.create_stream(99, Transport::kTls, kT0);
    ASSERT_EQ(low.result, FlowResult::kOk);
    ASSERT_EQ(high.result, FlowResult::kOk);
    EXPECT_EQ(table.find_by_connection(0), low.handle);
    EXPECT_EQ(table.find_by_connection(99), high.handle);
    EXPECT_FALSE(table.find_by_connection(50).has_value());
    ASSERT_EQ(table.erase(low.handle), FlowResult::kOk);
    EXPECT_FALSE(table.find_by_connection(0).has_value());
    FlowCreated again = table.create_stream(0, Transport::kTcp, kT0);
    ASSERT_EQ(again.result, FlowResult::kOk);
    EXPECT_EQ(table.find_by_connection(0), again.handle);
    EXPECT_NE(again.handle, low.handle);
}

}  // namespace
}  // namespace fe::state
