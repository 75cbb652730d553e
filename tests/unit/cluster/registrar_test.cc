// Checks cluster::Registrar end to end against the embedded store: REGISTER
// bytes in, response bytes out. Covers re-registration over a new flow,
// several reg-ids, CSeq ordering, unregistering, expiry with injected time,
// on_flow_closed across AORs, the attacker case, that a store answering
// later (as Redis will) needs nothing from the caller's buffers, and the
// UDP server transaction (RFC 3261 §17.2.2): a retransmitted REGISTER gets
// the same response and is applied once, is absorbed while the store has
// not answered, and is new again after Timer J; nothing is kept over TCP.
#include "cluster/registrar.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "state/embedded_store.h"

namespace fe::cluster {
namespace {

const Time kT0 = Time{} + hours(1);

constexpr std::string_view kInstance = "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF";

// A REGISTER straight from the UA (one Via) for `user`@example.com, over
// `transport`. Each (Call-ID, CSeq) is its own transaction with its own
// branch (RFC 3261 §8.1.1.7), so sending the same one twice is a
// retransmission.
std::string make_register(std::string_view user, std::string_view call_id, uint32_t cseq,
                          std::initializer_list<std::string_view> lines,
                          std::string_view transport = "TCP") {
    std::string s = "REGISTER sip:example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/" + std::string(transport) + " 192.0.2.2:50123;branch=z9hG4bK-" +
                    std::string(call_id) + "-" + std::to_string(cseq) + "\r\n"
                    "Max-Forwards: 70\r\n"
                    "To: <sip:" + std::string(user) + "@example.com>\r\n"
                    "From: <sip:" + std::string(user) + "@example.com>;tag=f1\r\n"
                    "Call-ID: " + std::string(call_id) + "\r\n"
                    "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
                    "Supported: path, outbound\r\n";
    for (std::string_view line : lines) {
        s += std::string(line) + "\r\n";
    }
    return s + "Content-Length: 0\r\n\r\n";
}

std::string ob_contact(std::string_view uri, uint32_t reg_id, std::string_view extra = {}) {
    return "Contact: <" + std::string(uri) + ">;reg-id=" + std::to_string(reg_id) +
           ";+sip.instance=\"<" + std::string(kInstance) + ">\"" + std::string(extra);
}

// RegisterFlow's members have no default initialisers, so designated
// initialisers trip -Wmissing-field-initializers; build it field by field.
RegisterFlow flow_of(std::string_view path_value = {}, std::string_view flow_token = {},
                     Transport transport = Transport::kTcp) {
    RegisterFlow flow;
    flow.transport = transport;
    flow.first_hop = true;
    flow.path_value = path_value;
    flow.flow_token = flow_token;
    return flow;
}

std::string status_line(const std::string& r) { return r.substr(0, r.find("\r\n")); }

size_t count_of(const std::string& haystack, std::string_view needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

class RegistrarTest : public ::testing::Test {
protected:
    RegistrarTest() { config_.flow_timer_s = 120; }

    // Sends `bytes` as a REGISTER over the flow named `token` and returns the
    // response (the embedded store answers inline).
    std::string send(Registrar& registrar, const std::string& bytes, std::string_view token,
                     Time now, Transport transport = Transport::kTcp) {
        sip::Message m;
        EXPECT_EQ(m.parse(bytes), sip::ParseError::kOk);
        // The edge adds a Path only for a flow it names (reg-id in the Contact).
        const std::string path =
            token.empty() ? std::string()
                          : "<sip:" + std::string(token) + "@ep1.example.com;transport=tcp;lr;ob>";
        const RegisterFlow flow = flow_of(path, token, transport);
        std::string response;
        int calls = 0;
        registrar.handle_register(m, flow, now, [&](std::string_view r, uint32_t flow_timer_s) {
            ++calls;
            response.assign(r);
            last_flow_timer_s_ = flow_timer_s;
        });
        EXPECT_EQ(calls, 1);
        return response;
    }
    std::string send(const std::string& bytes, std::string_view token, Time now = kT0) {
        return send(registrar_, bytes, token, now);
    }

    outbound::RegistrarConfig config_;
    state::EmbeddedStore store_;
    Registrar registrar_{store_, config_};
    // The Flow-Timer the last response handed the edge with it.
    uint32_t last_flow_timer_s_ = 0;
};

// covers OB-REG-15, OB-TAG-03, OB-FT-03, OB-DEP-06: the whole 200.
TEST_F(RegistrarTest, OutboundRegisterAnswersExactOk) {
    const std::string response =
        send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2:50123;transport=tcp", 1)}),
             "TOKEN1");
    EXPECT_EQ(response,
              "SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/TCP 192.0.2.2:50123;branch=z9hG4bK-c1-1\r\n"
              "From: <sip:bob@example.com>;tag=f1\r\n"
              "To: <sip:bob@example.com>;tag=9586a45b70f72a80\r\n"
              "Call-ID: c1\r\n"
              "CSeq: 1 REGISTER\r\n"
              "Contact: <sip:bob@192.0.2.2:50123;transport=tcp>;reg-id=1;"
              "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";expires=3600\r\n"
              "Path: <sip:TOKEN1@ep1.example.com;transport=tcp;lr;ob>\r\n"
              "Require: outbound\r\n"
              "Flow-Timer: 120\r\n"
              "Supported: path, outbound\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    EXPECT_EQ(registrar_.stats().register_count, 1u);
    EXPECT_EQ(registrar_.in_flight_count(), 0u);
    // The edge learns the Flow-Timer with the response, not by parsing it
    // (OB-FT-02: it holds the flow for longer than that).
    EXPECT_EQ(last_flow_timer_s_, 120u);
}

// covers OB-REG-13, OB-REG-18: same instance and reg-id, new Contact URI over
// a new flow: one binding, routed over the new flow.
TEST_F(RegistrarTest, ReRegistrationOverNewFlowReplacesBinding) {
    ASSERT_EQ(status_line(send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2:1000", 1)}),
                               "OLD")), "SIP/2.0 200 OK");
    const std::string r2 = send(
        make_register("bob", "c2", 1, {ob_contact("sip:bob@192.0.2.2:2000", 1)}), "NEW",
        kT0 + seconds(5));
    EXPECT_EQ(count_of(r2, "\r\nContact: "), 1u);
    EXPECT_NE(r2.find("<sip:bob@192.0.2.2:2000>"), std::string::npos);
    registrar_.on_flow_closed("OLD", kT0 + seconds(6));
    EXPECT_EQ(store_.binding_count_for_test(), 1u);
    registrar_.on_flow_closed("NEW", kT0 + seconds(7));
    EXPECT_EQ(store_.binding_count_for_test(), 0u);
}

// Two reg-ids of one instance: two bindings, both listed.
TEST_F(RegistrarTest, TwoRegIdsAreTwoBindings) {
    (void)send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2:1000", 1)}), "F1");
    const std::string r = send(make_register("bob", "c2", 1, {ob_contact("sip:bob@192.0.2.2:2000", 2)}), "F2");
    EXPECT_EQ(count_of(r, "\r\nContact: "), 2u);
    // This registration's Path only.
    EXPECT_EQ(count_of(r, "\r\nPath: "), 1u);
    EXPECT_NE(r.find("Path: <sip:F2@"), std::string::npos);
}

// covers OB-REG-10: a plain binding next to an outbound one.
TEST_F(RegistrarTest, PlainAndOutboundTogether) {
    (void)send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2:1000", 1)}), "F1");
    const std::string r =
        send(make_register("bob", "c9", 1, {"Contact: <sip:bob@198.51.100.3>"}), "");
    EXPECT_EQ(count_of(r, "\r\nContact: "), 2u);
    EXPECT_EQ(r.find("Require: outbound"), std::string::npos);  // OB-TAG-04.
}

// RFC 3261 §10.3 step 7: same Call-ID and a CSeq not higher fails with 500.
TEST_F(RegistrarTest, OutOfOrderCSeqGets500) {
    (void)send(make_register("bob", "c1", 5, {ob_contact("sip:bob@192.0.2.2", 1)}), "F1");
    EXPECT_EQ(status_line(send(make_register("bob", "c1", 5, {ob_contact("sip:bob@192.0.2.2", 1)}),
                               "F1")),
              "SIP/2.0 500 Out Of Order Request");
    EXPECT_EQ(status_line(send(make_register("bob", "c1", 6, {ob_contact("sip:bob@192.0.2.2", 1)}),
                               "F1")),
              "SIP/2.0 200 OK");
    EXPECT_EQ(registrar_.stats().store_failure_count, 1u);
}

TEST_F(RegistrarTest, UnregisterByExpiresZeroAndByStar) {
    (void)send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1)}), "F1");
    (void)send(make_register("bob", "c2", 1, {"Contact: <sip:bob@198.51.100.3>"}), "");
    const std::string one =
        send(make_register("bob", "c1", 2, {ob_contact("sip:bob@192.0.2.2", 1, ";expires=0")}), "F1");
    EXPECT_EQ(status_line(one), "SIP/2.0 200 OK");
    EXPECT_EQ(count_of(one, "\r\nContact: "), 1u);
    EXPECT_NE(one.find("Contact: <sip:bob@198.51.100.3>;expires=3600"), std::string::npos);
    const std::string all = send(make_register("bob", "c2", 2, {"Contact: *", "Expires: 0"}), "");
    EXPECT_EQ(status_line(all), "SIP/2.0 200 OK");
    EXPECT_EQ(count_of(all, "\r\nContact: "), 0u);
    EXPECT_EQ(store_.binding_count_for_test(), 0u);
}

TEST_F(RegistrarTest, TooBriefGets423AndStoresNothing) {
    const std::string r =
        send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1, ";expires=10")}), "F1");
    EXPECT_EQ(status_line(r), "SIP/2.0 423 Interval Too Brief");
    EXPECT_NE(r.find("\r\nMin-Expires: 60\r\n"), std::string::npos);
    EXPECT_EQ(store_.binding_count_for_test(), 0u);
    EXPECT_EQ(registrar_.stats().rejected_count, 1u);
}

// covers OB-REG-22: the attacker registers the victim's instance under its
// own AOR; the victim's binding and flow are untouched.
TEST_F(RegistrarTest, AttackerReusingInstanceDoesNotTouchVictim) {
    (void)send(make_register("victim", "v1", 1, {ob_contact("sip:v@192.0.2.2", 1)}), "VFLOW");
    (void)send(make_register("attacker", "a1", 1, {ob_contact("sip:a@203.0.113.9", 1)}), "AFLOW");
    const std::string fetch = send(make_register("victim", "v2", 1, {}), "");
    EXPECT_EQ(count_of(fetch, "\r\nContact: "), 1u);
    EXPECT_NE(fetch.find("<sip:v@192.0.2.2>"), std::string::npos);
    registrar_.on_flow_closed("AFLOW", kT0);
    EXPECT_EQ(count_of(send(make_register("victim", "v3", 1, {}), ""), "\r\nContact: "), 1u);
}

// covers OB-AUTH-06: one TCP flow carrying two AORs; closing it removes both.
TEST_F(RegistrarTest, FlowClosedForgetsBindingsOfEveryAor) {
    (void)send(make_register("line1", "l1", 1, {ob_contact("sip:l1@192.0.2.2", 1)}), "SHARED");
    (void)send(make_register("line2", "l2", 1, {ob_contact("sip:l2@192.0.2.2", 1)}), "SHARED");
    EXPECT_EQ(store_.binding_count_for_test(), 2u);
    registrar_.on_flow_closed("SHARED", kT0 + seconds(1));
    EXPECT_EQ(store_.binding_count_for_test(), 0u);
    EXPECT_EQ(registrar_.stats().flow_closed_count, 1u);
}

// Expiry with injected time: the 200 shows what is left, then nothing.
TEST_F(RegistrarTest, ExpiryFollowsInjectedTime) {
    (void)send(make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1, ";expires=60")}), "F1");
    const std::string half = send(make_register("bob", "c2", 1, {}), "", kT0 + seconds(30));
    EXPECT_NE(half.find(";expires=30\r\n"), std::string::npos);
    const std::string later = send(make_register("bob", "c3", 1, {}), "", kT0 + milliseconds(59500));
    EXPECT_NE(later.find(";expires=1\r\n"), std::string::npos);  // Rounded up, never 0.
    const std::string gone = send(make_register("bob", "c4", 1, {}), "", kT0 + seconds(60));
    EXPECT_EQ(count_of(gone, "\r\nContact: "), 0u);
}

// A store that answers later, as Redis will: it applies at once to an
// embedded store but holds the callback until run() is called.
class DeferredStore : public state::BindingStore {
public:
    void apply(const state::RegisterUpdate& update, Time now, Done done) override {
        if (unavailable) {
            pending_.push_back([d = std::move(done)]() mutable {
                d(state::StoreStatus::kUnavailable, state::AorView{});
            });
            return;
        }
        inner_.apply(update, now, [&](state::StoreStatus s, const state::AorView& view) {
            std::vector<state::Binding> copy(view.bindings.begin(), view.bindings.end());
            std::string aor(view.aor_key);
            pending_.push_back([s, copy = std::move(copy), aor = std::move(aor),
                                d = std::move(done)]() mutable {
                d(s, state::AorView{aor, copy});
            });
        });
    }
    void lookup(std::string_view aor, Time now, Done done) override {
        inner_.lookup(aor, now, std::move(done));
    }
    void forget_flow(std::string_view token, Time now) override { inner_.forget_flow(token, now); }
    size_t expire(Time now) override { return inner_.expire(now); }

    void run() {
        while (!pending_.empty()) {
            auto f = std::move(pending_.front());
            pending_.pop_front();
            f();
        }
    }
    size_t pending_count() const { return pending_.size(); }

    bool unavailable = false;

private:
    state::EmbeddedStore inner_;
    std::deque<absl::AnyInvocable<void()>> pending_;
};

// The caller's request and flow strings are gone before the store answers.
TEST(RegistrarAsyncTest, LateStoreAnswerNeedsNothingFromTheCaller) {
    outbound::RegistrarConfig config;
    DeferredStore store;
    Registrar registrar(store, config);
    std::string bytes = make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1)});
    std::string path = "<sip:TOK@ep1.example.com;lr;ob>";
    std::string token = "TOK";
    std::string response;
    {
        sip::Message m;
        ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
        registrar.handle_register(m, flow_of(path, token),
                                  kT0, [&](std::string_view r, uint32_t) { response.assign(r); });
    }
    EXPECT_TRUE(response.empty());
    EXPECT_EQ(registrar.in_flight_count(), 1u);
    std::fill(bytes.begin(), bytes.end(), 'X');
    std::fill(path.begin(), path.end(), 'X');
    std::fill(token.begin(), token.end(), 'X');
    store.run();
    EXPECT_EQ(registrar.in_flight_count(), 0u);
    EXPECT_EQ(status_line(response), "SIP/2.0 200 OK");
    EXPECT_NE(response.find("Contact: <sip:bob@192.0.2.2>;reg-id=1;"), std::string::npos);
    EXPECT_NE(response.find("\r\nPath: <sip:TOK@ep1.example.com;lr;ob>\r\n"), std::string::npos);
    EXPECT_NE(response.find("\r\nCall-ID: c1\r\n"), std::string::npos);
}

TEST(RegistrarAsyncTest, UnavailableStoreGets500) {
    outbound::RegistrarConfig config;
    DeferredStore store;
    store.unavailable = true;
    Registrar registrar(store, config);
    const std::string bytes = make_register("bob", "c1", 1, {"Contact: <sip:bob@192.0.2.2>"});
    sip::Message m;
    ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
    std::string response;
    registrar.handle_register(m, flow_of(), kT0,
                              [&](std::string_view r, uint32_t) { response.assign(r); });
    store.run();
    EXPECT_EQ(status_line(response), "SIP/2.0 500 Binding Store Unavailable");
}

// Past kRegisterInFlightCountMax waiting REGISTERs, the next gets 503 at once.
TEST(RegistrarAsyncTest, TooManyInFlightGets503) {
    outbound::RegistrarConfig config;
    DeferredStore store;
    Registrar registrar(store, config);
    const std::string bytes = make_register("bob", "c1", 1, {"Contact: <sip:bob@192.0.2.2>"});
    sip::Message m;
    ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
    uint32_t answered = 0;
    std::string last;
    for (uint32_t i = 0; i <= kRegisterInFlightCountMax; ++i) {
        registrar.handle_register(m, flow_of(), kT0, [&](std::string_view r, uint32_t) {
            ++answered;
            last.assign(r);
        });
    }
    EXPECT_EQ(answered, 1u);
    EXPECT_EQ(status_line(last), "SIP/2.0 503 Registrar Overloaded");
    EXPECT_NE(last.find("\r\nRetry-After: 1\r\n"), std::string::npos);
    EXPECT_EQ(registrar.stats().overload_count, 1u);
    store.run();
    EXPECT_EQ(registrar.in_flight_count(), 0u);
    EXPECT_EQ(answered, kRegisterInFlightCountMax + 1);
}

// ---- Server transactions over UDP (RFC 3261 §17.2.2) ---------------------

// Counts what reaches the store.
class CountingStore : public state::BindingStore {
public:
    void apply(const state::RegisterUpdate& update, Time now, Done done) override {
        ++apply_count;
        inner_.apply(update, now, std::move(done));
    }
    void lookup(std::string_view aor, Time now, Done done) override {
        inner_.lookup(aor, now, std::move(done));
    }
    void forget_flow(std::string_view token, Time now) override { inner_.forget_flow(token, now); }
    size_t expire(Time now) override { return inner_.expire(now); }

    int apply_count = 0;

private:
    state::EmbeddedStore inner_;
};

class RegistrarUdpTest : public RegistrarTest {
protected:
    std::string send_udp(const std::string& bytes, Time now) {
        return send(udp_registrar_, bytes, "UDPTOKEN", now, Transport::kUdp);
    }

    CountingStore counting_store_;
    Registrar udp_registrar_{counting_store_, config_};
};

// Issue 9 / BENCHMARKS.md bug 7: sipp retransmitted a REGISTER the node had
// answered, and the copy got 500 Out Of Order.
TEST_F(RegistrarUdpTest, RetransmittedRegisterGetsTheSameOkAndIsAppliedOnce) {
    const std::string bytes =
        make_register("bob", "c1", 2, {ob_contact("sip:bob@192.0.2.2:50123", 1)}, "UDP");
    const std::string first = send_udp(bytes, kT0);
    ASSERT_EQ(status_line(first), "SIP/2.0 200 OK");
    EXPECT_EQ(last_flow_timer_s_, 120u);
    last_flow_timer_s_ = 0;
    // T1 later the UA, not having heard the 200, sends the request again.
    const std::string again = send_udp(bytes, kT0 + milliseconds(500));
    EXPECT_EQ(again, first);
    EXPECT_EQ(last_flow_timer_s_, 120u);  // the edge holds the flow as for the first
    EXPECT_EQ(counting_store_.apply_count, 1);
    EXPECT_EQ(udp_registrar_.stats().retransmission_answered_count, 1u);
    EXPECT_EQ(udp_registrar_.stats().store_failure_count, 0u);
    // And again near the end of Timer J (64*T1 = 32 s).
    EXPECT_EQ(send_udp(bytes, kT0 + milliseconds(31999)), first);
    EXPECT_EQ(counting_store_.apply_count, 1);
}

// After Timer J the transaction is gone: the same bytes are a new request,
// which §10.3 step 7 refuses.
TEST_F(RegistrarUdpTest, AfterTimerJTheSameRequestIsNewAgain) {
    const std::string bytes =
        make_register("bob", "c1", 2, {ob_contact("sip:bob@192.0.2.2:50123", 1)}, "UDP");
    ASSERT_EQ(status_line(send_udp(bytes, kT0)), "SIP/2.0 200 OK");
    EXPECT_EQ(status_line(send_udp(bytes, kT0 + seconds(32))), "SIP/2.0 500 Out Of Order Request");
    EXPECT_EQ(counting_store_.apply_count, 2);
}

// A new transaction (new branch) with a stale CSeq still gets its 500: the
// table answers retransmissions, it does not hide §10.3 step 7.
TEST_F(RegistrarUdpTest, NewBranchWithTheSameCSeqIsNotARetransmission) {
    const std::string bytes =
        make_register("bob", "c1", 2, {ob_contact("sip:bob@192.0.2.2:50123", 1)}, "UDP");
    ASSERT_EQ(status_line(send_udp(bytes, kT0)), "SIP/2.0 200 OK");
    std::string other = bytes;
    other.replace(other.find("branch=z9hG4bK-"), 15, "branch=z9hG4bKx");
    EXPECT_EQ(status_line(send_udp(other, kT0 + seconds(1))), "SIP/2.0 500 Out Of Order Request");
    EXPECT_EQ(counting_store_.apply_count, 2);
}

// Every final response is kept, refusals too.
TEST_F(RegistrarUdpTest, RefusalIsKeptAndSentAgain) {
    const std::string bytes = make_register(
        "bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1, ";expires=10")}, "UDP");
    const std::string first = send_udp(bytes, kT0);
    ASSERT_EQ(status_line(first), "SIP/2.0 423 Interval Too Brief");
    EXPECT_EQ(send_udp(bytes, kT0 + seconds(1)), first);
    EXPECT_EQ(udp_registrar_.stats().rejected_count, 1u);
    EXPECT_EQ(udp_registrar_.completed().count(), 1u);
}

// Over TCP the client never retransmits and Timer J is zero: nothing kept.
TEST_F(RegistrarUdpTest, NothingIsKeptOverTcp) {
    const std::string bytes = make_register("bob", "c1", 2, {ob_contact("sip:bob@192.0.2.2", 1)});
    ASSERT_EQ(status_line(send(bytes, "F1")), "SIP/2.0 200 OK");
    EXPECT_EQ(registrar_.completed().count(), 0u);
    EXPECT_EQ(status_line(send(bytes, "F1", kT0 + seconds(1))), "SIP/2.0 500 Out Of Order Request");
}

// Redis answers later: a copy that arrives meanwhile is absorbed (§17.2.2
// Trying), the answer goes out once, and a later copy gets it again.
TEST(RegistrarAsyncTest, RetransmissionWhileTheStoreWaitsIsAbsorbed) {
    outbound::RegistrarConfig config;
    DeferredStore store;
    Registrar registrar(store, config);
    const std::string bytes =
        make_register("bob", "c1", 1, {ob_contact("sip:bob@192.0.2.2", 1)}, "UDP");
    sip::Message m;
    ASSERT_EQ(m.parse(bytes), sip::ParseError::kOk);
    std::vector<std::string> responses;
    auto respond = [&](std::string_view r, uint32_t) { responses.emplace_back(r); };
    const RegisterFlow flow = flow_of("<sip:TOK@ep1.example.com;lr;ob>", "TOK", Transport::kUdp);
    registrar.handle_register(m, flow, kT0, respond);
    registrar.handle_register(m, flow, kT0 + milliseconds(500), respond);
    EXPECT_EQ(store.pending_count(), 1u);  // one apply, not two
    EXPECT_TRUE(responses.empty());
    EXPECT_EQ(registrar.stats().retransmission_absorbed_count, 1u);
    store.run();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(status_line(responses[0]), "SIP/2.0 200 OK");
    registrar.handle_register(m, flow, kT0 + milliseconds(1500), respond);
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[1], responses[0]);
    EXPECT_EQ(store.pending_count(), 0u);
    EXPECT_EQ(registrar.in_flight_count(), 0u);
}

// The 503 of a full in-flight pool is a final response too.
TEST(RegistrarAsyncTest, OverloadAnswerIsKeptOverUdp) {
    outbound::RegistrarConfig config;
    DeferredStore store;
    Registrar registrar(store, config);
    auto respond = [](std::string_view, uint32_t) {};
    for (uint32_t i = 0; i < kRegisterInFlightCountMax; ++i) {
        const std::string b = make_register("u" + std::to_string(i), "c" + std::to_string(i), 1,
                                            {"Contact: <sip:u@192.0.2.2>"}, "UDP");
        sip::Message m;
        ASSERT_EQ(m.parse(b), sip::ParseError::kOk);
        registrar.handle_register(m, flow_of({}, {}, Transport::kUdp), kT0, respond);
    }
    const std::string over = make_register("late", "cl", 1, {"Contact: <sip:l@192.0.2.2>"}, "UDP");
    sip::Message m;
    ASSERT_EQ(m.parse(over), sip::ParseError::kOk);
    std::vector<std::string> got;
    auto keep = [&](std::string_view r, uint32_t) { got.emplace_back(r); };
    registrar.handle_register(m, flow_of({}, {}, Transport::kUdp), kT0, keep);
    store.run();  // the pool drains; the copy still gets the 503 it was sent
    registrar.handle_register(m, flow_of({}, {}, Transport::kUdp), kT0 + seconds(1), keep);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(status_line(got[0]), "SIP/2.0 503 Registrar Overloaded");
    EXPECT_EQ(got[1], got[0]);
}

}  // namespace
}  // namespace fe::cluster
