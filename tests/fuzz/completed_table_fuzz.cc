// Drives CompletedTable with a script of arbitrary inserts, lookups, CANCEL
// lookups, expiries and time steps, on a small table (a few entries, one to
// three blocks, so eviction by count and by bytes happens all the time), and
// checks it against a model of the RFC 3261 §17.2.3 / RFC 6026 rules:
// - insert refuses exactly the keys without a transaction and the oversize
//   responses;
// - whatever match() says is what the newest insert of that key implies at
//   that time (resend its bytes, absorb, or for an ACK of an accepted INVITE
//   nothing); it never answers for a dead entry;
// - the alive entries it holds are a suffix of the inserts (oldest go first);
// - it stays within its entry count and its byte budget.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/txn/completed_table.h"

namespace {

using fe::txn::CompletedKind;
using fe::txn::CompletedVerdict;

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

struct Inserted {
    CompletedKind kind;
    std::string response;
    fe::Time expires_at;
    uint64_t seq;
};

std::string lower(std::string v) {
    for (char& ch : v) {
        ch = fe::ascii_lower(ch);
    }
    return v;
}

const char* const kBranches[] = {"z9hG4bKa", "z9hG4bKA", "z9hG4bKb", "z9hg4bkb",
                                 "nocookie", "",         "z9hG4bK",  "Z9HG4BKc"};
const char* const kSentBys[] = {"a.example:5060", "A.EXAMPLE:5060", "b.example", ""};
const char* const kMethods[] = {"INVITE", "ACK", "CANCEL", "REGISTER", "invite", ""};

struct Fuzz {
    explicit Fuzz(Script& script)
        : s(script),
          config{.entry_count_max = 1u + s.byte() % 16u,
                 .byte_count_max = (1u + s.byte() % 3u) * fe::txn::kCompletedBlockSize},
          table(config) {}

    void step() {
        now += fe::milliseconds(s.u16() % 4096);
        const std::string branch = kBranches[s.byte() % 8];
        const std::string sent_by = kSentBys[s.byte() % 4];
        const std::string method = kMethods[s.byte() % 6];
        const fe::txn::ServerKey key{branch, sent_by, method};
        const bool valid =
            fe::starts_with_ignore_case(branch, "z9hG4bK") && !sent_by.empty() && !method.empty();
        const std::string model_key = lower(branch) + "|" + lower(sent_by) + "|";
        switch (s.byte() % 4) {
            case 0: insert(key, valid, model_key); break;
            case 1: check_match(key, model_key); break;
            case 2:
                FE_ASSERT(table.has_invite_for_cancel(key, now) ==
                          (valid && method == "CANCEL" && found(model_key + "INVITE")));
                break;
            default: (void)table.expire(now); break;
        }
        check_limits_and_suffix();
    }

    void insert(const fe::txn::ServerKey& key, bool valid, const std::string& model_key) {
        if (key.method == "ACK") {
            return;  // never inserted (asserted by the table)
        }
        const bool invite = key.method == "INVITE";
        const CompletedKind kind = !invite            ? CompletedKind::kNonInviteCompleted
                                   : s.byte() & 1     ? CompletedKind::kInviteAccepted
                                                      : CompletedKind::kInviteConfirmed;
        std::string response;
        if (!invite) {
            response.assign(1 + s.u16() % (fe::txn::kCompletedResponseSizeMax + 64),
                            static_cast<char>('a' + seq % 26));
        }
        const fe::Time expires_at = now + fe::milliseconds(s.u16() % 40000);
        const fe::txn::CompletedInsert r = table.insert(
            {.key = key, .kind = kind, .response = response, .aux = 7, .expires_at = expires_at},
            now);
        if (!valid) {
            FE_ASSERT(r == fe::txn::CompletedInsert::kBadKey);
            return;
        }
        if (response.size() > fe::txn::kCompletedResponseSizeMax) {
            FE_ASSERT(r == fe::txn::CompletedInsert::kResponseTooLarge);
            return;
        }
        FE_ASSERT(r == fe::txn::CompletedInsert::kInserted ||
                  r == fe::txn::CompletedInsert::kReplaced);
        newest[model_key + std::string(key.method)] = {kind, response, expires_at, seq++};
    }

    void check_match(const fe::txn::ServerKey& key, const std::string& model_key) {
        const fe::txn::CompletedMatch m = table.match(key, now);
        const std::string method(key.method);
        const auto it = newest.find(model_key + (method == "ACK" ? "INVITE" : method));
        if (m.verdict == CompletedVerdict::kNone) {
            return;  // evicted, dead, or never there; the suffix check covers the rest
        }
        FE_ASSERT(it != newest.end());
        FE_ASSERT(now < it->second.expires_at);
        if (m.verdict == CompletedVerdict::kResend) {
            FE_ASSERT(it->second.kind == CompletedKind::kNonInviteCompleted);
            FE_ASSERT(m.response == it->second.response);
            FE_ASSERT(m.aux == 7);
        } else {
            FE_ASSERT(it->second.kind != CompletedKind::kNonInviteCompleted);
            FE_ASSERT(method != "ACK" || it->second.kind == CompletedKind::kInviteConfirmed);
        }
    }

    // The table holds the records from its oldest on (every successful insert
    // is one record, numbered by seq), and that oldest only moves forward: so
    // every alive insert it misses is older than every alive one it answers,
    // and one it missed never comes back.
    void check_limits_and_suffix() {
        FE_ASSERT(table.count() <= config.entry_count_max);
        FE_ASSERT(table.used_bytes() <= config.byte_count_max);
        FE_ASSERT(table.block_bytes() <= config.byte_count_max);
        uint64_t oldest_found = UINT64_MAX;
        uint64_t newest_missing_plus_one = 0;
        for (const auto& [k, e] : newest) {
            if (!(now < e.expires_at)) {
                continue;
            }
            if (found(k)) {
                oldest_found = std::min(oldest_found, e.seq);
                FE_ASSERT(e.seq >= gone_before);
            } else {
                newest_missing_plus_one = std::max(newest_missing_plus_one, e.seq + 1);
            }
        }
        FE_ASSERT(newest_missing_plus_one <= oldest_found || oldest_found == UINT64_MAX);
        gone_before = std::max(gone_before, newest_missing_plus_one);
    }

    // Whether the table answers the model key "branch|sent-by|method".
    bool found(const std::string& full_key) const {
        const size_t bar1 = full_key.find('|');
        const size_t bar2 = full_key.find('|', bar1 + 1);
        const fe::txn::ServerKey key{std::string_view(full_key).substr(0, bar1),
                                     std::string_view(full_key).substr(bar1 + 1, bar2 - bar1 - 1),
                                     std::string_view(full_key).substr(bar2 + 1)};
        return table.match(key, now).verdict != CompletedVerdict::kNone;
    }

    Script& s;
    fe::txn::CompletedTableConfig config;
    fe::txn::CompletedTable table;
    std::map<std::string, Inserted> newest;  // lower(branch)|lower(sent-by)|method
    fe::Time now{};
    uint64_t seq = 0;
    // Inserts with a lower seq are known to be reclaimed.
    uint64_t gone_before = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Script s(data, size);
    Fuzz fuzz(s);
    while (!s.done()) {
        fuzz.step();
    }
    return 0;
}
