// Drives the four transaction machines and the table with a script of
// arbitrary inputs (any order, any status code, any time step, both
// transports) and checks their contracts: a list ending in kTerminated
// leaves the machine terminated with no deadline; after on_timer(now) no
// deadline lies at or before now; time never needs to go backwards; the
// table agrees with a reference map.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/txn/client_transaction.h"
#include "core/txn/server_transaction.h"
#include "core/txn/txn_table.h"

namespace {

using fe::txn::ActionList;

class Script {
public:
    Script(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool done() const { return pos_ >= size_; }
    uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

template <typename Machine>
void check_after(const Machine& txn, const ActionList& actions, fe::Time now, bool was_timer) {
    if (actions.terminates()) {
        FE_ASSERT(txn.state() == Machine::State::kTerminated);
    }
    if (txn.state() == Machine::State::kTerminated) {
        FE_ASSERT(!txn.next_deadline().has_value());
    }
    if (was_timer && txn.next_deadline()) {
        FE_ASSERT(*txn.next_deadline() > now);
    }
}

// Input codes: 0 timer, 1 response/retransmission, 2 TU response or ACK,
// 3 transport error. Codes span 0..1023 so out-of-range ones occur.
template <typename Machine, typename Step>
void drive(Script& s, Machine& txn, Step step) {
    fe::Time now{};
    ActionList start = txn.start(now);
    check_after(txn, start, now, false);
    while (!s.done() && txn.state() != Machine::State::kTerminated) {
        now += fe::milliseconds(s.u16() % 8192);
        uint8_t op = s.byte() % 4;
        uint16_t code = s.u16() % 1024;
        ActionList actions = step(txn, op, code, now);
        check_after(txn, actions, now, op == 0);
    }
}

fe::txn::TimerConfig config_from(Script& s) {
    fe::txn::TimerConfig c;
    c.t1 = fe::milliseconds(1 + s.byte() * 4);
    c.t2 = c.t1 * (1 + s.byte() % 16);
    c.t4 = fe::milliseconds(s.u16() % 10000);
    c.trying_delay = fe::milliseconds(s.byte() % 4 == 0 ? 0 : 200);
    FE_ASSERT(fe::txn::timer_config_is_valid(c));
    return c;
}

void fuzz_machines(Script& s) {
    uint8_t which = s.byte();
    fe::txn::Reliability r =
        which & 4 ? fe::txn::Reliability::kReliable : fe::txn::Reliability::kUnreliable;
    fe::txn::TimerConfig c = config_from(s);
    switch (which % 4) {
        case 0: {
            fe::txn::ClientInviteTransaction txn(c, r);
            drive(s, txn, [](auto& t, uint8_t op, uint16_t code, fe::Time now) {
                return op == 0 ? t.on_timer(now)
                       : op == 3 ? t.on_transport_error()
                                 : t.on_response(now, code);
            });
            break;
        }
        case 1: {
            fe::txn::ClientNonInviteTransaction txn(c, r);
            drive(s, txn, [](auto& t, uint8_t op, uint16_t code, fe::Time now) {
                return op == 0 ? t.on_timer(now)
                       : op == 3 ? t.on_transport_error()
                                 : t.on_response(now, code);
            });
            break;
        }
        case 2: {
            fe::txn::ServerInviteTransaction txn(c, r);
            drive(s, txn, [](auto& t, uint8_t op, uint16_t code, fe::Time now) {
                if (op == 0) { return t.on_timer(now); }
                if (op == 3) { return t.on_transport_error(); }
                if (op == 1) { return code & 1 ? t.on_ack(now) : t.on_request_retransmission(now); }
                return t.on_tu_response(now, static_cast<uint16_t>(100 + code % 600));
            });
            break;
        }
        default: {
            fe::txn::ServerNonInviteTransaction txn(c, r);
            drive(s, txn, [](auto& t, uint8_t op, uint16_t code, fe::Time now) {
                if (op == 0) { return t.on_timer(now); }
                if (op == 3) { return t.on_transport_error(); }
                if (op == 1) { return t.on_request_retransmission(now); }
                return t.on_tu_response(now, static_cast<uint16_t>(100 + code % 600));
            });
            break;
        }
    }
}

std::string piece(Script& s, const char* const* choices, size_t count) {
    return choices[s.byte() % count];
}

void fuzz_table(Script& s) {
    static const char* const kBranches[] = {"z9hG4bKa", "z9hG4bKA", "z9hG4bKb", "z9hg4bkb",
                                            "nocookie", "",         "z9hG4bK",  "Z9HG4BKa"};
    static const char* const kSentBys[] = {"a.example:5060", "A.EXAMPLE:5060", "b.example", ""};
    static const char* const kMethods[] = {"INVITE", "ACK", "CANCEL", "BYE", "invite", ""};
    fe::txn::TxnTable table(4);
    std::map<std::string, fe::txn::TxnId> live;  // lower(branch)|lower(sent-by)|method
    auto lower = [](std::string v) {
        for (char& ch : v) { ch = fe::ascii_lower(ch); }
        return v;
    };
    while (!s.done()) {
        fe::txn::ServerKey key{};
        std::string branch = piece(s, kBranches, 8);
        std::string sent_by = piece(s, kSentBys, 4);
        std::string method = piece(s, kMethods, 6);
        key = {branch, sent_by, method};
        std::string model_method = method == "ACK" ? "INVITE" : method;
        std::string model_key = lower(branch) + "|" + lower(sent_by) + "|" + model_method;
        bool valid = fe::starts_with_ignore_case(branch, "z9hG4bK") && !sent_by.empty() &&
                     !method.empty();
        uint8_t op = s.byte() % 3;
        if (op == 0) {
            fe::txn::TxnInsertResult r = table.insert_server(key);
            if (r.error == fe::txn::TxnTableError::kOk) {
                FE_ASSERT(valid);
                FE_ASSERT(live.count(model_key) == 0);
                live[model_key] = r.id;
            }
        } else if (op == 1) {
            auto found = table.find_server(key);
            auto it = live.find(model_key);
            FE_ASSERT(found.has_value() == (valid && it != live.end()));
            if (found) {
                FE_ASSERT(*found == it->second);
            }
        } else if (auto it = live.find(model_key); it != live.end()) {
            FE_ASSERT(table.erase(it->second));
            FE_ASSERT(!table.contains(it->second));
            live.erase(it);
        }
        FE_ASSERT(table.count() == live.size());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Script s(data, size);
    if (s.byte() & 1) {
        fuzz_table(s);
    } else {
        fuzz_machines(s);
    }
    return 0;
}
