// Checks core/reuse/alias_table.h, a worker's RFC 5923 alias table: rows made
// by decide_alias() / decide_offer_alias(), found only while their connection
// lives and its certificate names the host (CR-15, CR-31, CR-45), removed with
// their connection (CR-25, CR-26), bounded (kAliasCountMax,
// kAliasPerConnectionCountMax), and kept apart per virtual server (CR-45..47).
#include "core/reuse/alias_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/reuse/alias_decision.h"

namespace fe::reuse {
namespace {

tls::SipIdentities identities(std::vector<std::string> uris) {
    tls::CertificateNames n;
    n.has_subject_alt_name = true;
    n.uris = std::move(uris);
    return tls::find_sip_identities(n);
}

AliasKey key(std::string host, uint16_t port = 5061, uint32_t local = 0) {
    return AliasKey{std::move(host), port, Transport::kTls, local};
}

// A fake worker: which connections are open, with which verified identities.
struct Connections {
    std::map<uint32_t, std::pair<uint32_t, tls::SipIdentities>> open;  // index -> generation, ids

    ConnectionRef add(uint32_t index, uint32_t generation, std::vector<std::string> uris) {
        open[index] = {generation, identities(std::move(uris))};
        return ConnectionRef{index, generation};
    }
    const tls::SipIdentities* of(ConnectionRef c) const {
        auto it = open.find(c.index);
        if (it == open.end() || it->second.first != c.generation) {
            return nullptr;
        }
        return &it->second.second;
    }
    // A callable for AliasTable::find(); it lives until the end of the full
    // expression, as long as the FunctionRef made from it.
    auto fn() const {
        return [this](ConnectionRef c) { return of(c); };
    }
};

// The §5 walk-through on P2's side: P1's request with `alias` gives the row
// (p1.example.com, 5061, TLS) -> the accepted connection; a request P2 sends to
// sips:p1.example.com finds it (CR-29, CR-30, CR-31).
TEST(AliasTable, WalkThroughCR29CR30CR31) {
    Connections conns;
    ConnectionRef c18 = conns.add(18, 1, {"sip:example.com", "sip:p1.example.com"});
    syntax::Via via;
    ASSERT_EQ(syntax::parse_via("SIP/2.0/TLS p1.example.com;branch=z9hG4bKa7c8dze;alias;"
                                "received=192.0.2.1",
                                via),
              syntax::Error::kOk);
    ReceivedConnection over{Transport::kTls, PeerAuthentication::kVerified, conns.of(c18),
                            *Endpoint::parse("192.0.2.1:49152"), 0};
    AliasDecision d = decide_alias(via, over);
    ASSERT_EQ(d.verdict, AliasVerdict::kAlias);
    AliasTable table;
    EXPECT_EQ(table.insert(d.key, c18), InsertResult::kInserted);
    EXPECT_EQ(table.insert(d.key, c18), InsertResult::kRefreshed);  // every request carries it
    EXPECT_EQ(table.count(), 1u);

    std::optional<AliasKey> target = target_alias_key("P1.Example.COM", 0, 0);
    ASSERT_TRUE(target);
    EXPECT_EQ(table.find(target->view(), conns.fn()), c18);
    // Wrong port: another tuple (CR-31 (a)).
    EXPECT_EQ(table.find(target_alias_key("p1.example.com", 5062, 0)->view(), conns.fn()),
              std::nullopt);
    // Another transport is never a row: only TLS keys exist (CR-44).
    AliasKeyView tcp = target->view();
    tcp.transport = Transport::kTcp;
    EXPECT_EQ(table.find(tcp, conns.fn()), std::nullopt);
    table.check_invariants_for_test();
}

TEST(AliasTable, TargetKeyCanonical) {
    EXPECT_EQ(target_alias_key("P1.Example.COM.", 0, 1), key("p1.example.com", 5061, 1));
    EXPECT_EQ(target_alias_key("[2001:DB8:0::1]", 5070, 0), key("2001:db8::1", 5070));
    EXPECT_EQ(target_alias_key("*.example.com", 0, 0), std::nullopt);
    EXPECT_EQ(target_alias_key("", 0, 0), std::nullopt);
}

// Several aliases on one connection (a multi-homed peer, two listeners, or two
// domains its certificate covers, CR-50), and its close removes them all
// (CR-25: after the close nothing points at it; we connect out, CR-26).
TEST(AliasTable, SeveralAliasesCloseRemovesAllCR25CR50) {
    Connections conns;
    ConnectionRef c = conns.add(7, 3, {"sip:example.com", "sip:p1.example.com"});
    ConnectionRef other = conns.add(8, 1, {"sip:example.org"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com"), c), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("p1.example.com", 5071), c), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("example.com"), c), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("example.org"), other), InsertResult::kInserted);
    EXPECT_EQ(table.connection_alias_count(c), 3u);
    EXPECT_EQ(table.find(key("example.com").view(), conns.fn()), c);
    table.check_invariants_for_test();

    conns.open.erase(7);
    EXPECT_EQ(table.remove_connection(c), 3u);
    EXPECT_EQ(table.connection_alias_count(c), 0u);
    EXPECT_EQ(table.count(), 1u);
    EXPECT_EQ(table.peek_for_test(key("p1.example.com").view()), std::nullopt);
    EXPECT_EQ(table.peek_for_test(key("p1.example.com", 5071).view()), std::nullopt);
    EXPECT_EQ(table.peek_for_test(key("example.com").view()), std::nullopt);
    EXPECT_EQ(table.find(key("example.org").view(), conns.fn()), other);
    EXPECT_EQ(table.remove_connection(c), 0u);  // twice is harmless
    EXPECT_EQ(table.stats().removed_with_connection, 3u);
    table.check_invariants_for_test();
}

// A row never outlives its connection: if a close was missed, the slot's new
// generation (another connection in the same slot) does not inherit the row.
TEST(AliasTable, StaleGenerationNeverReturnedCR16CR25) {
    Connections conns;
    ConnectionRef old_c = conns.add(5, 1, {"sip:p1.example.com"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com"), old_c), InsertResult::kInserted);
    conns.add(5, 2, {"sip:p1.example.com"});  // the slot reused, generation 2
    EXPECT_EQ(table.find(key("p1.example.com").view(), conns.fn()), std::nullopt);
    EXPECT_EQ(table.count(), 0u);  // the stale row went
    EXPECT_EQ(table.stats().removed_stale, 1u);
    table.check_invariants_for_test();
}

// An alias whose connection's identities no longer name the host is never
// returned (CR-15 (b), CR-31 (b), CR-45), and is removed.
TEST(AliasTable, IdentityNoLongerMatchesNeverReturnedCR15CR31) {
    Connections conns;
    ConnectionRef c = conns.add(1, 1, {"sip:p1.example.com"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com"), c), InsertResult::kInserted);
    conns.open[1].second = identities({"sip:p2.example.com"});
    EXPECT_EQ(table.find(key("p1.example.com").view(), conns.fn()), std::nullopt);
    EXPECT_EQ(table.count(), 0u);
    // Verified with no identity at all: the same.
    conns.open[1].second = identities({"sip:p1.example.com"});
    EXPECT_EQ(table.insert(key("p1.example.com"), c), InsertResult::kInserted);
    conns.open[1].second = tls::SipIdentities{};
    EXPECT_EQ(table.find(key("p1.example.com").view(), conns.fn()), std::nullopt);
    table.check_invariants_for_test();
}

// CR-45: one tuple, two domains: a row for example.com (connection 18) never
// carries a request for example.net, which gets its own connection (54) and
// row; both coexist.
TEST(AliasTable, CrossDomainRowsCoexistCR45CR50) {
    Connections conns;
    ConnectionRef c18 = conns.add(18, 1, {"sip:example.com"});
    ConnectionRef c54 = conns.add(54, 1, {"sip:example.net"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("example.com"), c18), InsertResult::kInserted);
    EXPECT_EQ(table.find(key("example.net").view(), conns.fn()), std::nullopt);
    EXPECT_EQ(table.insert(key("example.net"), c54), InsertResult::kInserted);
    EXPECT_EQ(table.find(key("example.com").view(), conns.fn()), c18);
    EXPECT_EQ(table.find(key("example.net").view(), conns.fn()), c54);
    table.check_invariants_for_test();
}

// RFC 5923 §9.3, CR-46, CR-47: the same peer key under two of our virtual
// server identities names two connections, never one for both.
TEST(AliasTable, VirtualServersKeptApartCR46CR47) {
    Connections conns;
    ConnectionRef a = conns.add(1, 1, {"sip:p1.example.com"});
    ConnectionRef b = conns.add(2, 1, {"sip:p1.example.com"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com", 5061, 0), a), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("p1.example.com", 5061, 1), b), InsertResult::kInserted);
    EXPECT_EQ(table.find(key("p1.example.com", 5061, 0).view(), conns.fn()), a);
    EXPECT_EQ(table.find(key("p1.example.com", 5061, 1).view(), conns.fn()), b);
    EXPECT_EQ(table.find(key("p1.example.com", 5061, 2).view(), conns.fn()), std::nullopt);
    conns.open.erase(1);
    EXPECT_EQ(table.remove_connection(a), 1u);
    EXPECT_EQ(table.find(key("p1.example.com", 5061, 1).view(), conns.fn()), b);
    table.check_invariants_for_test();
}

// CR-17, CR-26: the peer reconnected and sends `alias` on the new connection:
// the row moves to it, and the old connection's close leaves it alone.
TEST(AliasTable, RowMovesToNewConnectionCR17CR26) {
    Connections conns;
    ConnectionRef old_c = conns.add(1, 1, {"sip:p1.example.com"});
    ConnectionRef new_c = conns.add(2, 1, {"sip:p1.example.com"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com"), old_c), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("p1.example.com"), new_c), InsertResult::kMoved);
    EXPECT_EQ(table.connection_alias_count(old_c), 0u);
    EXPECT_EQ(table.remove_connection(old_c), 0u);
    EXPECT_EQ(table.find(key("p1.example.com").view(), conns.fn()), new_c);
    table.check_invariants_for_test();
}

// Full table: the new row is refused, existing rows stay and still work;
// room made by a close is usable again.
TEST(AliasTable, FullTableRefusesNewRows) {
    Connections conns;
    AliasTable table(4);
    std::vector<ConnectionRef> cs;
    for (uint32_t i = 0; i < 4; ++i) {
        cs.push_back(conns.add(i, 1, {"sip:p" + std::to_string(i) + ".example.com"}));
        EXPECT_EQ(table.insert(key("p" + std::to_string(i) + ".example.com"), cs[i]),
                  InsertResult::kInserted);
    }
    ConnectionRef late = conns.add(9, 1, {"sip:late.example.com"});
    EXPECT_EQ(table.insert(key("late.example.com"), late), InsertResult::kTableFull);
    EXPECT_EQ(table.stats().refused_table_full, 1u);
    EXPECT_EQ(table.count(), 4u);
    EXPECT_EQ(table.find(key("p0.example.com").view(), conns.fn()), cs[0]);
    // Refresh and move still work when full: they add no row.
    EXPECT_EQ(table.insert(key("p0.example.com"), cs[0]), InsertResult::kRefreshed);
    conns.open.erase(3);
    EXPECT_EQ(table.remove_connection(cs[3]), 1u);
    EXPECT_EQ(table.insert(key("late.example.com"), late), InsertResult::kInserted);
    table.check_invariants_for_test();
}

// kAliasPerConnectionCountMax: one verified peer cannot spend the table by
// varying its sent-by port.
TEST(AliasTable, PerConnectionLimit) {
    Connections conns;
    ConnectionRef c = conns.add(1, 1, {"sip:p1.example.com"});
    ConnectionRef d = conns.add(2, 1, {"sip:p1.example.com"});
    AliasTable table;
    for (uint16_t i = 0; i < kAliasPerConnectionCountMax; ++i) {
        EXPECT_EQ(table.insert(key("p1.example.com", static_cast<uint16_t>(6000 + i)), c),
                  InsertResult::kInserted);
    }
    EXPECT_EQ(table.insert(key("p1.example.com", 7000), c), InsertResult::kConnectionFull);
    EXPECT_EQ(table.connection_alias_count(c), kAliasPerConnectionCountMax);
    // Moving a row onto a full connection is refused too.
    EXPECT_EQ(table.insert(key("p1.example.com", 7000), d), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("p1.example.com", 7000), c), InsertResult::kConnectionFull);
    EXPECT_EQ(table.peek_for_test(key("p1.example.com", 7000).view()), d);
    EXPECT_EQ(table.stats().refused_connection_full, 2u);
    table.check_invariants_for_test();
}

TEST(AliasTable, RemoveOne) {
    Connections conns;
    ConnectionRef c = conns.add(1, 1, {"sip:p1.example.com"});
    AliasTable table;
    EXPECT_EQ(table.insert(key("p1.example.com"), c), InsertResult::kInserted);
    EXPECT_EQ(table.insert(key("p1.example.com", 5071), c), InsertResult::kInserted);
    EXPECT_TRUE(table.remove(key("p1.example.com").view()));
    EXPECT_FALSE(table.remove(key("p1.example.com").view()));
    EXPECT_EQ(table.connection_alias_count(c), 1u);
    EXPECT_EQ(table.remove_connection(c), 1u);
    table.check_invariants_for_test();
}

// Long host names (past the short-string buffer) and row reuse after frees:
// the views the index holds stay valid.
TEST(AliasTable, ChurnKeepsInvariants) {
    Connections conns;
    AliasTable table(64);
    std::string long_label(60, 'a');
    for (uint32_t round = 0; round < 50; ++round) {
        for (uint32_t i = 0; i < 16; ++i) {
            std::string host =
                long_label + "." + std::to_string(round) + "." + std::to_string(i) + ".example.com";
            ConnectionRef c = conns.add(i, round + 1, {"sip:" + host});
            (void)table.insert(key(host), c);
            (void)table.insert(key(host, 5071), c);
        }
        table.check_invariants_for_test();
        for (uint32_t i = 0; i < 16; i += 2) {
            EXPECT_EQ(table.remove_connection(ConnectionRef{i, round + 1}), 2u);
        }
        table.check_invariants_for_test();
        for (uint32_t i = 1; i < 16; i += 2) {
            std::string host =
                long_label + "." + std::to_string(round) + "." + std::to_string(i) + ".example.com";
            EXPECT_EQ(table.find(key(host).view(), conns.fn()), (ConnectionRef{i, round + 1}));
            EXPECT_EQ(table.remove_connection(ConnectionRef{i, round + 1}), 2u);
        }
        EXPECT_EQ(table.count(), 0u);
    }
    table.check_invariants_for_test();
}

}  // namespace
}  // namespace fe::reuse

namespace fe::reuse {
namespace {

// CR-37, CR-38, CR-44: a refused alias leaves the table as it was; the caller
// inserts only on kAlias, and every refusal carries no key to insert.
TEST(AliasTable, RefusalsLeaveTableUntouchedCR37CR38CR44) {
    Connections conns;
    ConnectionRef c = conns.add(1, 1, {"sip:p1.example.com"});
    AliasTable table;
    struct Refusal {
        const char* via;
        Transport transport;
        PeerAuthentication authentication;
    };
    const Refusal refusals[] = {
        {"SIP/2.0/TLS p1.example.com;branch=z9hG4bK1;alias", Transport::kTls,
         PeerAuthentication::kNone},  // CR-37
        {"SIP/2.0/TLS p1.example.com;branch=z9hG4bK1;alias", Transport::kTls,
         PeerAuthentication::kUnverified},  // CR-40
        {"SIP/2.0/TCP p1.example.com;branch=z9hG4bK1;alias", Transport::kTcp,
         PeerAuthentication::kVerified},  // CR-44
        {"SIP/2.0/TLS p9.example.com;branch=z9hG4bK1;alias", Transport::kTls,
         PeerAuthentication::kVerified},  // CR-48
    };
    for (const Refusal& r : refusals) {
        SCOPED_TRACE(r.via);
        syntax::Via via;
        ASSERT_EQ(syntax::parse_via(r.via, via), syntax::Error::kOk);
        ReceivedConnection over{r.transport, r.authentication, conns.of(c), {}, 0};
        AliasDecision d = decide_alias(via, over);
        ASSERT_TRUE(alias_verdict_is_refusal(d.verdict));
        EXPECT_TRUE(d.key.host.empty());
        EXPECT_EQ(table.count(), 0u);
    }
    EXPECT_EQ(table.find(key("p1.example.com").view(), conns.fn()), std::nullopt);
}

// CR-08, CR-12..14: the client side. Once our dialled connection to
// example.net is verified and we offer `alias`, later requests to
// sips:example.net (same port) reuse it; a request to p2.example.net, which
// the certificate also names, is another row only once offered for it.
TEST(AliasTable, ClientSideRowFromOfferCR08CR12CR14) {
    Connections conns;
    ConnectionRef c25 = conns.add(25, 1, {"sip:example.net", "sip:p2.example.net"});
    DialledConnection dialled{
        Transport::kTls, PeerAuthentication::kVerified, conns.of(c25), "example.net", 5061, 0};
    OfferDecision o = decide_offer_alias(dialled, PeerReuse::kOn);
    ASSERT_EQ(o.verdict, OfferVerdict::kOffer);
    AliasTable table;
    EXPECT_EQ(table.insert(o.key, c25), InsertResult::kInserted);
    EXPECT_EQ(table.find(target_alias_key("EXAMPLE.net", 0, 0)->view(), conns.fn()), c25);
    EXPECT_EQ(table.find(target_alias_key("p2.example.net", 0, 0)->view(), conns.fn()),
              std::nullopt);
    // CR-16, CR-17: the connection went away; the next send misses, dials
    // again, and the new connection's row replaces the old one.
    conns.open.erase(25);
    EXPECT_EQ(table.find(target_alias_key("example.net", 0, 0)->view(), conns.fn()), std::nullopt);
    ConnectionRef c26 = conns.add(26, 1, {"sip:example.net"});
    dialled.peer_identities = conns.of(c26);
    OfferDecision again = decide_offer_alias(dialled, PeerReuse::kOn);
    ASSERT_EQ(again.verdict, OfferVerdict::kOffer);
    EXPECT_EQ(table.insert(again.key, c26), InsertResult::kInserted);
    EXPECT_EQ(table.find(target_alias_key("example.net", 5061, 0)->view(), conns.fn()), c26);
    table.check_invariants_for_test();
}

}  // namespace
}  // namespace fe::reuse
