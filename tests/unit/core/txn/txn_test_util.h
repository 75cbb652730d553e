// Helpers shared by the transaction tests: a fake clock that drives a machine
// by its own next_deadline(), and readable printing of actions.
#pragma once

#include <ostream>
#include <vector>

#include "core/base/time.h"
#include "core/txn/action.h"

namespace fe::txn {

inline void PrintTo(const Action& a, std::ostream* os) {
    *os << action_kind_name(a.kind);
    if (a.status_code != 0) {
        *os << "(" << a.status_code << ")";
    }
}

namespace test {

inline Time at(Duration d) { return Time{} + d; }
inline Time at_ms(int64_t ms) { return Time{} + milliseconds(ms); }

// One action and the time (from Time{}) it was produced.
struct Event {
    int64_t at_ms;
    Action action;

    friend bool operator==(const Event&, const Event&) = default;
};

inline void PrintTo(const Event& e, std::ostream* os) {
    *os << "@" << e.at_ms << "ms ";
    fe::txn::PrintTo(e.action, os);
}

inline void append(std::vector<Event>& events, Time now, const ActionList& actions) {
    for (const Action& a : actions) {
        events.push_back(Event{std::chrono::duration_cast<milliseconds>(now - Time{}).count(), a});
    }
}

// Fires the machine's timer at each deadline it asks for, until it
// terminates, it stops asking, or `until` passes. Returns every action with
// its time.
template <typename Machine>
std::vector<Event> run_timers(Machine& txn, Time until) {
    std::vector<Event> events;
    for (int guard = 0; guard < 10000; ++guard) {
        std::optional<Time> deadline = txn.next_deadline();
        if (!deadline || *deadline > until) {
            break;
        }
        ActionList actions = txn.on_timer(*deadline);
        append(events, *deadline, actions);
        if (actions.terminates()) {
            break;
        }
    }
    return events;
}

inline Event ev(int64_t at_ms, ActionKind kind, uint16_t status_code = 0) {
    return Event{at_ms, Action{kind, status_code}};
}

inline std::vector<Action> to_vector(const ActionList& list) {
    return std::vector<Action>(list.begin(), list.end());
}

}  // namespace test
}  // namespace fe::txn
