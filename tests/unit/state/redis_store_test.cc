// Checks the Redis binding store (state/redis_store.h) against a real
// redis-server started by the test on a free port (skipped when
// /usr/bin/redis-server is missing). The store runs on a small poll(2) loop
// written here that implements fe::FdPoller the way net::Worker does (one-shot
// polls, a timer wheel on CLOCK_MONOTONIC), so every wait is bounded and on
// the test's thread. It runs the embedded store's behavioural cases (keys,
// Call-ID/CSeq ordering and atomicity, the limit, expiry, forget_flow across
// AORs, nested calls), then what only Redis has: two stores ("nodes") with
// different monotonic clocks seeing each other's bindings and forgetting each
// other's flows, the key layout and PEXPIREAT on the wire (read back with a
// plain hiredis client), NOSCRIPT fallback, a corrupt record, the pending
// limit, a stopped (SIGSTOP) Redis timing out, and a killed Redis giving
// kUnavailable at once and recovery after it restarts.
#include "state/redis_store.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/time/timer_wheel.h"
#include "tests/unit/state/binding_test_util.h"

namespace fe::state {
namespace {

using namespace std::chrono_literals;

Time clock_now() {
    return Time(std::chrono::duration_cast<Duration>(
        std::chrono::steady_clock::now().time_since_epoch()));
}

// ---- A minimal event loop: what net::Worker offers the store. ---------------

class TestLoop final : public FdPoller {
public:
    TestLoop() : wheel_(clock_now(), milliseconds(1)) {}

    PollId poll_fd(int fd, uint32_t events, Ready ready) override {
        if (refuse_polls) {
            return PollId{};
        }
        uint32_t index = 0;
        while (index < slots_.size() && slots_[index].armed) {
            ++index;
        }
        if (index == slots_.size()) {
            slots_.emplace_back();
        }
        Slot& slot = slots_[index];
        slot.armed = true;
        slot.fd = fd;
        slot.events = events;
        slot.ready = std::move(ready);
        return PollId{index, slot.generation};
    }

    bool cancel_poll(PollId id) override {
        if (!id.valid() || id.index >= slots_.size()) {
            return false;
        }
        Slot& slot = slots_[id.index];
        if (!slot.armed || slot.generation != id.generation) {
            return false;
        }
        slot.armed = false;
        ++slot.generation;
        slot.ready = nullptr;
        return true;
    }

    Time loop_now() const override { return now_; }
    time::TimerWheel& wheel() { return wheel_; }

    // Runs turns until `done()` or `limit` passes; true when done.
    bool run_until(const std::function<bool()>& done, Duration limit = seconds(5)) {
        const Time end = clock_now() + limit;
        while (!done()) {
            if (clock_now() > end) {
                return false;
            }
            turn(milliseconds(5));
        }
        return true;
    }

    // Runs turns for `d` of real time.
    void run_for(Duration d) {
        const Time end = clock_now() + d;
        while (clock_now() < end) {
            turn(milliseconds(5));
        }
    }

    bool refuse_polls = false;

private:
    struct Slot {
        bool armed = false;
        int fd = -1;
        uint32_t events = 0;
        uint32_t generation = 0;
        Ready ready;
    };

    void turn(Duration wait_max) {
        now_ = clock_now();
        wheel_.advance(now_);
        std::vector<pollfd> fds;
        std::vector<std::pair<uint32_t, uint32_t>> owners;  // slot index, generation
        for (uint32_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].armed) {
                fds.push_back(pollfd{slots_[i].fd, static_cast<short>(slots_[i].events), 0});
                owners.emplace_back(i, slots_[i].generation);
            }
        }
        Duration wait = wait_max;
        if (auto deadline = wheel_.next_deadline()) {
            wait = std::clamp<Duration>(*deadline - now_, Duration::zero(), wait_max);
        }
        const int timeout_ms =
            static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
        const int n = ::poll(fds.data(), fds.size(), timeout_ms);
        now_ = clock_now();
        for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
            Slot& slot = slots_[owners[i].first];
            if (fds[i].revents == 0 || !slot.armed || slot.generation != owners[i].second) {
                continue;  // Not ready, or cancelled by an earlier callback.
            }
            slot.armed = false;
            ++slot.generation;
            Ready ready = std::move(slot.ready);
            slot.ready = nullptr;
            ready(fds[i].revents, now_);
        }
    }

    time::TimerWheel wheel_;
    Time now_ = clock_now();
    std::vector<Slot> slots_;
};

// ---- A redis-server child process. -----------------------------------------

uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t size = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    close(fd);
    return ntohs(address.sin_port);
}

class RedisServer {
public:
    static constexpr const char* kPath = "/usr/bin/redis-server";

    explicit RedisServer(uint16_t port) : port_(port) {}
    ~RedisServer() { stop(); }

    bool start() {
        pid_ = fork();
        if (pid_ == 0) {
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            const std::string port = std::to_string(port_);
            execl(kPath, kPath, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", static_cast<char*>(nullptr));
            _exit(127);
        }
        // Ready once it answers PING.
        const auto end = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < end) {
            redisContext* c = redisConnect("127.0.0.1", port_);
            if (c != nullptr && c->err == 0) {
                auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
                const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
                freeReplyObject(reply);
                redisFree(c);
                if (ok) {
                    return true;
                }
            } else if (c != nullptr) {
                redisFree(c);
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    void pause() { kill(pid_, SIGSTOP); }
    void resume() { kill(pid_, SIGCONT); }
    uint16_t port() const { return port_; }

private:
    const uint16_t port_;
    pid_t pid_ = -1;
};

// A blocking client for looking at what the store wrote.
class Inspector {
public:
    explicit Inspector(uint16_t port) : c_(redisConnect("127.0.0.1", port)) {}
    ~Inspector() { redisFree(c_); }

    // The reply as an integer (INTEGER replies), or -1000 on anything else.
    long long integer(const std::vector<std::string>& argv) {
        redisReply* r = command(argv);
        const long long value = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;
        freeReplyObject(r);
        return value;
    }
    std::optional<std::string> string(const std::vector<std::string>& argv) {
        redisReply* r = command(argv);
        std::optional<std::string> value;
        if (r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
            value = std::string(r->str, r->len);
        }
        freeReplyObject(r);
        return value;
    }
    bool ok() const { return c_ != nullptr && c_->err == 0; }

private:
    redisReply* command(const std::vector<std::string>& argv) {
        std::vector<const char*> ptrs;
        std::vector<size_t> sizes;
        for (const std::string& a : argv) {
            ptrs.push_back(a.data());
            sizes.push_back(a.size());
        }
        return static_cast<redisReply*>(
            redisCommandArgv(c_, static_cast<int>(argv.size()), ptrs.data(), sizes.data()));
    }

    redisContext* c_;
};

// ---- Helpers (shared with embedded_store_test.cc). ---------------------------

using test::kT0;
using test::outbound_update;
using test::plain_update;
using test::removal;
using test::Result;
// A second node's monotonic clock: a different epoch.
const Time kT0NodeB = Time{} + hours(50);

constexpr std::string_view kAlice = "sip:alice@example.com";
constexpr std::string_view kMallory = "sip:mallory@example.com";
constexpr std::string_view kInstance = "urn:uuid:00000000-0000-1000-8000-aabbccddeeff";

// The wall clock in whole ms, so a test time maps to wall time exactly.
Duration wall_offset_for(Time test_epoch) {
    const auto wall = std::chrono::duration_cast<milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return Duration(wall) - test_epoch.time_since_epoch();
}

class RedisStoreTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (access(RedisServer::kPath, X_OK) != 0) {
            return;
        }
        server_ = new RedisServer(free_port());
        if (!server_->start()) {
            delete server_;
            server_ = nullptr;
        }
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void SetUp() override {
        if (access(RedisServer::kPath, X_OK) != 0) {
            GTEST_SKIP() << RedisServer::kPath << " is not installed";
        }
        ASSERT_NE(server_, nullptr) << "redis-server did not start";
        inspector_ = std::make_unique<Inspector>(server_->port());
        ASSERT_TRUE(inspector_->ok());
        ASSERT_EQ(inspector_->string({"FLUSHALL"}), "OK");
    }

    RedisStoreConfig config(Time test_epoch = kT0) {
        RedisStoreConfig c;
        c.port = server_->port();
        c.key_prefix = "fe";
        c.wall_clock_offset = wall_offset_for(test_epoch);
        return c;
    }

    // Node A's clock starts at kT0, node B's at kT0NodeB, at the same wall time.
    std::pair<RedisStoreConfig, RedisStoreConfig> two_nodes() {
        RedisStoreConfig a = config(kT0);
        RedisStoreConfig b = a;
        b.wall_clock_offset = a.wall_clock_offset + (kT0 - kT0NodeB);
        return {a, b};
    }

    std::unique_ptr<RedisStore> make_store(RedisStoreConfig c) {
        auto store = std::make_unique<RedisStore>(std::move(c), loop_, loop_.wheel());
        EXPECT_TRUE(loop_.run_until([&] { return store->connected(); }));
        return store;
    }
    std::unique_ptr<RedisStore> make_store() { return make_store(config()); }

    Result apply(RedisStore& store, std::string_view aor, std::vector<BindingUpdate> updates,
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
        const std::string aor_copy(aor);
        store.apply(update, now, [&r, aor_copy](StoreStatus s, const AorView& view) {
            r.called = true;
            r.status = s;
            EXPECT_EQ(view.aor_key, aor_copy);
            r.bindings.assign(view.bindings.begin(), view.bindings.end());
        });
        EXPECT_TRUE(loop_.run_until([&] { return r.called; }));
        return r;
    }

    std::vector<Binding> lookup(RedisStore& store, std::string_view aor, Time now) {
        std::vector<Binding> out;
        bool called = false;
        store.lookup(aor, now, [&](StoreStatus s, const AorView& view) {
            called = true;
            EXPECT_EQ(s, StoreStatus::kOk);
            out.assign(view.bindings.begin(), view.bindings.end());
        });
        EXPECT_TRUE(loop_.run_until([&] { return called; }));
        return out;
    }

    // forget_flow has no answer: a lookup queued after it is answered after it.
    void forget(RedisStore& store, std::string_view token, Time now) {
        store.forget_flow(token, now);
        (void)lookup(store, "sip:barrier@x", now);
    }

    long long token_aor_count(std::string_view token) {
        return inspector_->integer({"SCARD", "fe:{tok:" + std::string(token) + "}:a"});
    }
    long long binding_count(std::string_view aor) {
        return inspector_->integer({"HLEN", "fe:{" + std::string(aor) + "}:b"});
    }

    static RedisServer* server_;
    TestLoop loop_;
    std::unique_ptr<Inspector> inspector_;
};

RedisServer* RedisStoreTest::server_ = nullptr;

// ---- The embedded store's cases. ---------------------------------------------

// covers OB-REG-14, OB-DEP-06: everything of the binding is stored.
TEST_F(RedisStoreTest, StoresEveryFieldOfABinding) {
    auto store = make_store();
    const std::string_view contact = "<sip:a@192.0.2.2;ob>;reg-id=1;+sip.instance=\"<urn:x:1>\"";
    BindingUpdate u = outbound_update(kInstance, 1, contact);
    u.contact_uri = "sip:a@192.0.2.2;ob";
    u.has_q = true;
    u.q_thousandths = 500;
    Result r = apply(*store, kAlice, {u}, "c1", 5, "TOK1", kT0,
                     {"<sip:TOK1@ep1.example.com;lr;ob>", "<sip:p2.example.com;lr>"});
    ASSERT_EQ(r.status, StoreStatus::kOk);
    ASSERT_EQ(r.bindings.size(), 1u);
    for (const Binding& b : {r.bindings[0], lookup(*store, kAlice, kT0).at(0)}) {
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
    }
}

// covers OB-REG-13, OB-REG-18, OB-REG-19
TEST_F(RedisStoreTest, OutboundReRegistrationReplacesContactAndFlow) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2:1000>")},
                    "c1", 1, "TOK-OLD", kT0).status,
              StoreStatus::kOk);
    Result r = apply(*store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2:2000>")},
                     "c2", 1, "TOK-NEW", kT0 + seconds(30));
    ASSERT_EQ(r.status, StoreStatus::kOk);
    ASSERT_EQ(r.bindings.size(), 1u);
    EXPECT_EQ(r.bindings[0].contact, "<sip:a@192.0.2.2:2000>");
    EXPECT_EQ(r.bindings[0].flow_token, "TOK-NEW");
    EXPECT_EQ(r.bindings[0].updated_at, kT0 + seconds(30));
    EXPECT_EQ(token_aor_count("TOK-OLD"), 0);
    EXPECT_EQ(token_aor_count("TOK-NEW"), 1);
    forget(*store, "TOK-OLD", kT0 + seconds(31));
    EXPECT_EQ(lookup(*store, kAlice, kT0 + seconds(31)).size(), 1u);
}

TEST_F(RedisStoreTest, TwoRegIdsOfOneInstanceAreTwoBindings) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2>")}, "c1", 1,
                    "T1", kT0).status, StoreStatus::kOk);
    Result r = apply(*store, kAlice, {outbound_update(kInstance, 2, "<sip:a@192.0.2.2>")}, "c2", 1,
                     "T2", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_EQ(r.bindings[0].flow_token, "T1");  // Insertion order, as the embedded store.
    EXPECT_EQ(r.bindings[1].flow_token, "T2");
}

// covers OB-REG-10
TEST_F(RedisStoreTest, PlainAndOutboundBindingsCoexist) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "sip:a@192.0.2.2")}, "c1", 1,
                    "T1", kT0).status, StoreStatus::kOk);
    Result r = apply(*store, kAlice, {plain_update("sip:a@192.0.2.2")}, "c2", 1, "", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_TRUE(r.bindings[0].is_outbound());
    EXPECT_FALSE(r.bindings[1].is_outbound());
    r = apply(*store, kAlice, {plain_update("sip:a@192.0.2.2", seconds(60))}, "c2", 2, "", kT0);
    ASSERT_EQ(r.bindings.size(), 2u);
    EXPECT_FALSE(r.bindings[1].is_outbound()) << "a refresh keeps the binding's place";
    EXPECT_EQ(r.bindings[1].expires_at, kT0 + seconds(60));
}

// covers OB-REG-22
TEST_F(RedisStoreTest, SameInstanceUnderAnotherAorDoesNotTouchVictim) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "<sip:a@192.0.2.2>")}, "c1", 1,
                    "VICTIM", kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(*store, kMallory, {outbound_update(kInstance, 1, "<sip:m@203.0.113.6>")},
                    "evil", 99, "ATTACKER", kT0).status, StoreStatus::kOk);
    const auto alice = lookup(*store, kAlice, kT0);
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].contact, "<sip:a@192.0.2.2>");
    EXPECT_EQ(alice[0].flow_token, "VICTIM");
    ASSERT_EQ(apply(*store, kMallory, {removal(outbound_update(kInstance, 1, ""))}, "evil", 100,
                    "", kT0).status, StoreStatus::kOk);
    EXPECT_EQ(lookup(*store, kAlice, kT0).size(), 1u);
    EXPECT_TRUE(lookup(*store, kMallory, kT0).empty());
}

// RFC 3261 §10.3 step 7, all or nothing.
TEST_F(RedisStoreTest, CallIdCSeqOrderingIsAtomic) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 10, "", kT0).status,
              StoreStatus::kOk);
    Result same = apply(*store, kAlice, {plain_update("sip:a@1", seconds(10))}, "c1", 10, "", kT0);
    EXPECT_EQ(same.status, StoreStatus::kOutOfOrder);
    EXPECT_TRUE(same.bindings.empty());
    Result mixed = apply(*store, kAlice, {plain_update("sip:a@2"), plain_update("sip:a@1")}, "c1",
                         9, "", kT0);
    EXPECT_EQ(mixed.status, StoreStatus::kOutOfOrder);
    auto now = lookup(*store, kAlice, kT0);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].expires_at, kT0 + seconds(3600));
    EXPECT_EQ(apply(*store, kAlice, {plain_update("sip:a@1", seconds(20))}, "c1", 11, "", kT0)
                  .status, StoreStatus::kOk);
    Result rebooted =
        apply(*store, kAlice, {plain_update("sip:a@1", seconds(30))}, "c2", 1, "", kT0);
    ASSERT_EQ(rebooted.status, StoreStatus::kOk);
    EXPECT_EQ(rebooted.bindings[0].call_id, "c2");
    EXPECT_EQ(rebooted.bindings[0].expires_at, kT0 + seconds(30));
}

TEST_F(RedisStoreTest, RemoveOneAndRemoveAll) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice,
                    {plain_update("sip:a@1"), outbound_update(kInstance, 1, "sip:a@2")}, "c1", 1,
                    "T1", kT0).status, StoreStatus::kOk);
    Result one = apply(*store, kAlice, {removal(plain_update("sip:a@1"))}, "c1", 2, "T1", kT0);
    ASSERT_EQ(one.status, StoreStatus::kOk);
    ASSERT_EQ(one.bindings.size(), 1u);
    EXPECT_TRUE(one.bindings[0].is_outbound());
    EXPECT_EQ(apply(*store, kAlice, {}, "c1", 1, "", kT0, {}, true).status,
              StoreStatus::kOutOfOrder);
    EXPECT_EQ(lookup(*store, kAlice, kT0).size(), 1u);
    Result all = apply(*store, kAlice, {}, "c1", 3, "", kT0, {}, true);
    ASSERT_EQ(all.status, StoreStatus::kOk);
    EXPECT_TRUE(all.bindings.empty());
    EXPECT_EQ(inspector_->integer({"EXISTS", "fe:{sip:alice@example.com}:b"}), 0);
    EXPECT_EQ(inspector_->integer({"EXISTS", "fe:{tok:T1}:a"}), 0);
}

TEST_F(RedisStoreTest, BindingLimitPerAor) {
    RedisStoreConfig c = config();
    c.binding_count_per_aor_max = 2;
    auto store = make_store(c);
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1"), plain_update("sip:a@2")}, "c1", 1,
                    "", kT0).status, StoreStatus::kOk);
    EXPECT_EQ(apply(*store, kAlice, {plain_update("sip:a@3")}, "c1", 2, "", kT0).status,
              StoreStatus::kTooManyBindings);
    Result swap = apply(*store, kAlice,
                        {removal(plain_update("sip:a@1")), plain_update("sip:a@3")}, "c1", 3, "",
                        kT0);
    EXPECT_EQ(swap.status, StoreStatus::kOk);
    EXPECT_EQ(swap.bindings.size(), 2u);
}

// Answers never hold an expired binding; the next change purges it.
TEST_F(RedisStoreTest, ExpiryWithInjectedTime) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice,
                    {plain_update("sip:a@1", seconds(60)), plain_update("sip:a@2", seconds(120))},
                    "c1", 1, "T1", kT0).status, StoreStatus::kOk);
    EXPECT_EQ(lookup(*store, kAlice, kT0 + seconds(59)).size(), 2u);
    EXPECT_EQ(lookup(*store, kAlice, kT0 + seconds(60)).size(), 1u);  // At expiry: gone.
    EXPECT_EQ(store->expire(kT0 + seconds(60)), 0u) << "Redis expires keys itself";
    EXPECT_EQ(binding_count(kAlice), 2);
    // A change at +60 s purges the expired one inside the script.
    Result r = apply(*store, kAlice, {plain_update("sip:a@3", seconds(10))}, "c1", 2, "T1",
                     kT0 + seconds(60));
    ASSERT_EQ(r.status, StoreStatus::kOk);
    EXPECT_EQ(r.bindings.size(), 2u);
    EXPECT_EQ(binding_count(kAlice), 2);
    // The key lives as long as its latest binding (kT0 + 120 s, wall time).
    const long long pttl = inspector_->integer({"PTTL", "fe:{sip:alice@example.com}:b"});
    EXPECT_GT(pttl, 115'000);
    EXPECT_LE(pttl, 120'000);
    EXPECT_TRUE(lookup(*store, kAlice, kT0 + seconds(120)).empty());
}

// A refresh moves the key's expiry later.
TEST_F(RedisStoreTest, RefreshOutlivesTheOldExpiry) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1", seconds(60))}, "c1", 1, "", kT0)
                  .status, StoreStatus::kOk);
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1", seconds(60))}, "c1", 2, "",
                    kT0 + seconds(50)).status, StoreStatus::kOk);
    EXPECT_EQ(lookup(*store, kAlice, kT0 + seconds(60)).size(), 1u);
    EXPECT_GT(inspector_->integer({"PTTL", "fe:{sip:alice@example.com}:b"}), 105'000);
    EXPECT_TRUE(lookup(*store, kAlice, kT0 + seconds(110)).empty());
}

// covers OB-AUTH-06
TEST_F(RedisStoreTest, ForgetFlowAcrossTwoAors) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1, "SHARED",
                    kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(*store, kMallory, {outbound_update(kInstance, 1, "sip:m@1")}, "c2", 1,
                    "SHARED", kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 2, "sip:a@2")}, "c3", 1, "OTHER",
                    kT0).status, StoreStatus::kOk);
    EXPECT_EQ(token_aor_count("SHARED"), 2);
    forget(*store, "SHARED", kT0);
    const auto alice = lookup(*store, kAlice, kT0);
    ASSERT_EQ(alice.size(), 1u);
    EXPECT_EQ(alice[0].flow_token, "OTHER");
    EXPECT_TRUE(lookup(*store, kMallory, kT0).empty());
    EXPECT_EQ(token_aor_count("SHARED"), 0);
    EXPECT_EQ(token_aor_count("OTHER"), 1);
    EXPECT_EQ(inspector_->integer({"EXISTS", "fe:{sip:mallory@example.com}:b"}), 0);
}

TEST_F(RedisStoreTest, BindingSurvivesWhenFlowIsNotForgotten) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1,
                    "UDPFLOW", kT0).status, StoreStatus::kOk);
    forget(*store, "SOME-OTHER-FLOW", kT0);
    EXPECT_EQ(lookup(*store, kAlice, kT0 + seconds(100)).size(), 1u);
}

// A callback may call the store again; the nested answer comes later and the
// outer view is not touched by it.
TEST_F(RedisStoreTest, CallbackMayCallTheStore) {
    auto store = make_store();
    std::vector<BindingUpdate> updates = {plain_update("sip:a@1")};
    const RegisterUpdate update{.aor_key = kAlice, .call_id = "c", .cseq = 1, .bindings = updates};
    size_t seen_inside = 0;
    bool outer_done = false;
    bool inner_done = false;
    store->apply(update, kT0, [&](StoreStatus, const AorView& outer) {
        store->lookup(kAlice, kT0, [&](StoreStatus, const AorView& inner) {
            seen_inside = inner.bindings.size();
            inner_done = true;
        });
        ASSERT_EQ(outer.bindings.size(), 1u);
        EXPECT_EQ(outer.bindings[0].contact, "sip:a@1");
        outer_done = true;
    });
    ASSERT_TRUE(loop_.run_until([&] { return inner_done; }));
    EXPECT_TRUE(outer_done);
    EXPECT_EQ(seen_inside, 1u);
}

// ---- What only a shared store has. ---------------------------------------

// Two nodes, each with its own monotonic clock, see the same bindings at the
// same wall-clock expiry.
TEST_F(RedisStoreTest, TwoNodesSeeEachOthersBindings) {
    auto [config_a, config_b] = two_nodes();
    auto node_a = make_store(config_a);
    auto node_b = make_store(config_b);
    ASSERT_EQ(apply(*node_a, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1, "TA",
                    kT0).status, StoreStatus::kOk);
    const auto seen_by_b = lookup(*node_b, kAlice, kT0NodeB);
    ASSERT_EQ(seen_by_b.size(), 1u);
    EXPECT_EQ(seen_by_b[0].flow_token, "TA");
    EXPECT_EQ(seen_by_b[0].expires_at, kT0NodeB + seconds(3600)) << "translated to B's clock";
    EXPECT_EQ(seen_by_b[0].updated_at, kT0NodeB);
    // B refreshes it (a higher CSeq of the same Call-ID), A sees B's version.
    ASSERT_EQ(apply(*node_b, kAlice, {outbound_update(kInstance, 1, "sip:a@1", seconds(60))}, "c1",
                    2, "TB", kT0NodeB + seconds(10)).status, StoreStatus::kOk);
    const auto seen_by_a = lookup(*node_a, kAlice, kT0 + seconds(10));
    ASSERT_EQ(seen_by_a.size(), 1u);
    EXPECT_EQ(seen_by_a[0].flow_token, "TB");
    EXPECT_EQ(seen_by_a[0].expires_at, kT0 + seconds(70));
    // And A's stale CSeq is refused against B's write.
    EXPECT_EQ(apply(*node_a, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 2, "TA",
                    kT0 + seconds(11)).status, StoreStatus::kOutOfOrder);
}

// covers OB-AUTH-06 across nodes: the flow closed on node B removes bindings
// node A wrote.
TEST_F(RedisStoreTest, ForgetFlowFromOneNodeRemovesAnotherNodesBindings) {
    auto [config_a, config_b] = two_nodes();
    auto node_a = make_store(config_a);
    auto node_b = make_store(config_b);
    ASSERT_EQ(apply(*node_a, kAlice, {outbound_update(kInstance, 1, "sip:a@1")}, "c1", 1, "FLOW",
                    kT0).status, StoreStatus::kOk);
    ASSERT_EQ(apply(*node_a, kMallory, {outbound_update(kInstance, 1, "sip:m@1")}, "c2", 1, "FLOW",
                    kT0).status, StoreStatus::kOk);
    forget(*node_b, "FLOW", kT0NodeB);
    EXPECT_TRUE(lookup(*node_a, kAlice, kT0).empty());
    EXPECT_TRUE(lookup(*node_a, kMallory, kT0).empty());
    EXPECT_EQ(inspector_->integer({"EXISTS", "fe:{tok:FLOW}:a"}), 0);
}

// A flow carrying a trunk's AORs is forgotten in batches of
// forget_aor_count_per_script_max AORs, one script each, so Redis is never
// held for the whole flow; every binding over it goes, nothing else does.
TEST_F(RedisStoreTest, ForgetFlowOfATrunkRunsInBoundedBatches) {
    RedisStoreConfig c = config();
    c.forget_aor_count_per_script_max = 16;
    auto store = make_store(c);
    constexpr size_t kAors = 200;
    std::vector<std::string> aors;
    for (size_t i = 0; i < kAors; ++i) {
        aors.push_back("sip:user" + std::to_string(i) + "@example.com");
        ASSERT_EQ(apply(*store, aors.back(), {outbound_update(kInstance, 1, "sip:a@1")}, "c", 1,
                        "TRUNK", kT0).status, StoreStatus::kOk);
        if (i % 4 == 0) {
            ASSERT_EQ(apply(*store, aors.back(), {outbound_update(kInstance, 2, "sip:a@2")}, "c",
                            2, "OWN", kT0).status, StoreStatus::kOk);
        }
    }
    ASSERT_EQ(token_aor_count("TRUNK"), static_cast<long long>(kAors));
    store->forget_flow("TRUNK", kT0);
    ASSERT_TRUE(loop_.run_until([&] { return store->pending_count() == 0; }));
    // 200 AORs in batches of 16: one script, then 12 more.
    EXPECT_EQ(store->stats().forget_batches.get(), 12u);
    EXPECT_EQ(store->stats().forgets_incomplete.get(), 0u);
    EXPECT_EQ(inspector_->integer({"EXISTS", "fe:{tok:TRUNK}:a"}), 0);
    EXPECT_EQ(token_aor_count("OWN"), static_cast<long long>(kAors / 4));
    for (size_t i = 0; i < kAors; ++i) {
        const auto left = lookup(*store, aors[i], kT0);
        if (i % 4 == 0) {
            ASSERT_EQ(left.size(), 1u) << aors[i];
            EXPECT_EQ(left[0].flow_token, "OWN");
        } else {
            EXPECT_TRUE(left.empty()) << aors[i];
            EXPECT_EQ(binding_count(aors[i]), 0) << aors[i];
        }
    }
}

// The layout drawn in state/internal/redis_codec.h, read back from Redis.
TEST_F(RedisStoreTest, KeyAndRecordLayoutOnTheWire) {
    const RedisStoreConfig c = config();
    auto store = make_store(c);
    ASSERT_EQ(apply(*store, kAlice, {outbound_update(kInstance, 3, "<sip:a@h>"),
                                     plain_update("<sip:b@h>")},
                    "cid", 42, "TK", kT0, {"<sip:TK@edge;lr;ob>"}).status, StoreStatus::kOk);
    const std::string wall_exp = std::to_string(
        std::chrono::duration_cast<milliseconds>(
            (kT0 + seconds(3600)).time_since_epoch() + c.wall_clock_offset)
            .count());
    const std::string wall_now = std::to_string(
        std::chrono::duration_cast<milliseconds>(kT0.time_since_epoch() + c.wall_clock_offset)
            .count());
    const auto outbound =
        inspector_->string({"HGET", "fe:{sip:alice@example.com}:b", "o:3:" + std::string(kInstance)});
    ASSERT_TRUE(outbound.has_value());
    EXPECT_EQ(*outbound, "1:1" + std::to_string(wall_exp.size()) + ":" + wall_exp +
                             "2:423:cid2:TK45:" + std::string(kInstance) + "1:39:<sip:a@h>" +
                             "9:<sip:a@h>9:<sip:a@h>0:" + std::to_string(wall_now.size()) + ":" +
                             wall_now + "1:719:<sip:TK@edge;lr;ob>");
    const auto plain = inspector_->string({"HGET", "fe:{sip:alice@example.com}:b", "p:<sip:b@h>"});
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->substr(0, 4), "1:21") << "second binding, seq 2";
    EXPECT_EQ(inspector_->integer({"SISMEMBER", "fe:{tok:TK}:a", std::string(kAlice)}), 1);
    EXPECT_GT(inspector_->integer({"PTTL", "fe:{tok:TK}:a"}), 3'590'000);
}

// A record not written by us is skipped and counted; the rest is answered.
TEST_F(RedisStoreTest, CorruptRecordIsSkippedAndCounted) {
    auto store = make_store();
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 1, "", kT0).status,
              StoreStatus::kOk);
    ASSERT_EQ(inspector_->integer({"HSET", "fe:{sip:alice@example.com}:b", "p:junk", "9:short"}),
              1);
    const auto bindings = lookup(*store, kAlice, kT0);
    ASSERT_EQ(bindings.size(), 1u);
    EXPECT_EQ(bindings[0].contact, "sip:a@1");
    EXPECT_EQ(store->stats().bad_records.get(), 1u);
}

// Scripts gone from the server (SCRIPT FLUSH, restart, failover): EVALSHA
// meets NOSCRIPT and the same call is resent as EVAL.
TEST_F(RedisStoreTest, NoscriptFallsBackToEval) {
    auto store = make_store();
    // One round trip first: the store's SCRIPT LOAD at connect travels on its
    // own connection and must reach Redis before our FLUSH, or it would load
    // the script again after it and no NOSCRIPT would ever come.
    (void)lookup(*store, kAlice, kT0);
    ASSERT_EQ(inspector_->string({"SCRIPT", "FLUSH"}), "OK");
    Result r = apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 1, "", kT0);
    EXPECT_EQ(r.status, StoreStatus::kOk);
    EXPECT_EQ(r.bindings.size(), 1u);
    EXPECT_EQ(store->stats().noscript_fallbacks.get(), 1u);
    // EVAL loaded it again: the next apply uses EVALSHA without a fallback.
    EXPECT_EQ(apply(*store, kAlice, {plain_update("sip:a@2")}, "c1", 2, "", kT0).status,
              StoreStatus::kOk);
    EXPECT_EQ(store->stats().noscript_fallbacks.get(), 1u);
}

// Past pending_count_max the caller is refused before apply() returns.
TEST_F(RedisStoreTest, PendingLimitRefusesAtOnce) {
    RedisStoreConfig c = config();
    c.pending_count_max = 4;
    auto store = make_store(c);
    std::vector<BindingUpdate> updates = {plain_update("sip:a@1")};
    int ok = 0;
    int refused_inline = 0;
    for (uint32_t i = 0; i < 6; ++i) {
        bool returned = false;
        const RegisterUpdate update{
            .aor_key = kAlice, .call_id = "c", .cseq = i + 1, .bindings = updates};
        store->apply(update, kT0, [&](StoreStatus s, const AorView&) {
            if (s == StoreStatus::kOk) {
                ++ok;
            } else if (s == StoreStatus::kUnavailable && !returned) {
                ++refused_inline;
            }
        });
        returned = true;
    }
    EXPECT_EQ(refused_inline, 2);
    EXPECT_EQ(store->pending_count(), 4u);
    ASSERT_TRUE(loop_.run_until([&] { return ok == 4; }));
    EXPECT_EQ(store->stats().pending_full.get(), 2u);
    EXPECT_EQ(store->pending_count(), 0u);
}

// A Redis that stops answering (SIGSTOP) times out: the pending call gets
// kUnavailable after command_timeout, and the store reconnects once it is back.
TEST_F(RedisStoreTest, UnansweredCommandTimesOutThenRecovers) {
    RedisStoreConfig c = config();
    c.command_timeout = milliseconds(200);
    c.connect_timeout = milliseconds(200);
    auto store = make_store(c);
    server_->pause();
    const Time start = clock_now();
    Result r = apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 1, "", kT0);
    const Duration waited = clock_now() - start;
    server_->resume();
    EXPECT_EQ(r.status, StoreStatus::kUnavailable);
    EXPECT_GE(waited, milliseconds(200));
    EXPECT_LT(waited, seconds(2));
    EXPECT_EQ(store->stats().command_timeouts.get(), 1u);
    ASSERT_TRUE(loop_.run_until([&] { return store->connected(); }));
    EXPECT_EQ(apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 2, "", kT0).status,
              StoreStatus::kOk);
}

// Redis killed: pending and new calls get kUnavailable without the loop ever
// blocking; the store reconnects with back-off once Redis is back.
TEST_F(RedisStoreTest, RedisDownGivesUnavailableThenRecovers) {
    RedisStoreConfig c = config();
    c.reconnect_delay_min = milliseconds(20);
    c.reconnect_delay_max = milliseconds(100);
    auto store = make_store(c);
    ASSERT_EQ(apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 1, "", kT0).status,
              StoreStatus::kOk);
    server_->stop();
    // The loss is seen at the next turn (EOF on the socket).
    ASSERT_TRUE(loop_.run_until([&] { return !store->connected(); }, seconds(2)));
    EXPECT_EQ(store->stats().disconnects.get(), 1u);
    // New calls are refused before they return: nothing waits on a dead server.
    bool answered = false;
    StoreStatus status = StoreStatus::kOk;
    const Time start = clock_now();
    store->lookup(kAlice, kT0, [&](StoreStatus s, const AorView&) {
        answered = true;
        status = s;
    });
    EXPECT_TRUE(answered);
    EXPECT_EQ(status, StoreStatus::kUnavailable);
    EXPECT_LT(clock_now() - start, milliseconds(50));
    store->forget_flow("T", kT0);
    EXPECT_EQ(store->stats().forgets_dropped.get(), 1u);
    // Reconnects keep failing (counted) while the loop keeps turning.
    loop_.run_for(milliseconds(300));
    EXPECT_GE(store->stats().connect_failures.get(), 2u);
    EXPECT_FALSE(store->connected());
    ASSERT_TRUE(server_->start());
    ASSERT_TRUE(loop_.run_until([&] { return store->connected(); }, seconds(3)));
    // The restarted Redis kept nothing (--save ''): a new REGISTER works again.
    Result r = apply(*store, kAlice, {plain_update("sip:a@2")}, "c1", 2, "", kT0);
    EXPECT_EQ(r.status, StoreStatus::kOk);
    EXPECT_EQ(r.bindings.size(), 1u);
    EXPECT_GE(store->stats().connects.get(), 2u);
}

// A loop that refuses polls (full or stopping) fails the connection instead
// of leaving calls hanging.
TEST_F(RedisStoreTest, RefusedPollFailsTheConnectionAndCallsAreAnswered) {
    auto store = make_store();
    loop_.refuse_polls = true;
    Result r = apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 1, "", kT0);
    EXPECT_EQ(r.status, StoreStatus::kUnavailable);
    loop_.refuse_polls = false;
    ASSERT_TRUE(loop_.run_until([&] { return store->connected(); }));
    EXPECT_EQ(apply(*store, kAlice, {plain_update("sip:a@1")}, "c1", 2, "", kT0).status,
              StoreStatus::kOk);
}

// Destroying the store answers what is pending.
TEST_F(RedisStoreTest, DestroyingTheStoreAnswersPendingCalls) {
    auto store = make_store();
    bool answered = false;
    store->lookup(kAlice, kT0, [&](StoreStatus s, const AorView& v) {
        answered = true;
        EXPECT_EQ(s, StoreStatus::kUnavailable);
        EXPECT_EQ(v.aor_key, kAlice);
    });
    EXPECT_FALSE(answered);
    store.reset();
    EXPECT_TRUE(answered);
}

}  // namespace
}  // namespace fe::state
