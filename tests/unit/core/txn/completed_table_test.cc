// Checks CompletedTable with injected time: what a retransmission gets for
// each kind (§17.2.2 Completed, RFC 6026 Accepted, §17.2.1 Confirmed), the
// §17.2.3 key (same branch and another method, another sent-by, case rules,
// ACK and CANCEL), expiry exactly at the boundary and out of order, eviction
// order when the entry count or the byte budget is full (capacity 1
// included), replacement of a key, refused keys and responses, block reuse
// once warm, and a seeded random run against a model.
#include "core/txn/completed_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/txn/timers.h"

namespace fe::txn {
namespace {

constexpr std::string_view kBranch = "z9hG4bK776asdhds";
constexpr std::string_view kSentBy = "pc33.atlanta.com:5060";
constexpr std::string_view kOk = "SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\n\r\n";
const Time kT0 = Time{} + hours(1);
const Duration kTimerJ = timer_j(TimerConfig{}, Reliability::kUnreliable);

CompletedEntry final_entry(std::string_view branch, std::string_view method,
                           std::string_view response, Time expires_at, uint32_t aux = 0) {
    return {.key = {branch, kSentBy, method},
            .kind = CompletedKind::kNonInviteCompleted,
            .response = response,
            .aux = aux,
            .expires_at = expires_at};
}

CompletedEntry invite_entry(std::string_view branch, CompletedKind kind, Time expires_at) {
    return {.key = {branch, kSentBy, "INVITE"}, .kind = kind, .expires_at = expires_at};
}

void must_insert(CompletedTable& table, const CompletedEntry& entry, Time now = kT0) {
    EXPECT_EQ(table.insert(entry, now), CompletedInsert::kInserted);
}

CompletedVerdict verdict(const CompletedTable& table, std::string_view branch,
                         std::string_view method, Time now = kT0,
                         std::string_view sent_by = kSentBy) {
    return table.match({branch, sent_by, method}, now).verdict;
}

TEST(CompletedTableTest, RetransmittedNonInviteGetsTheSameResponseAndWord) {
    CompletedTable table;
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, kT0 + kTimerJ, 120));
    const CompletedMatch m = table.match({kBranch, kSentBy, "REGISTER"}, kT0 + seconds(1));
    EXPECT_EQ(m.verdict, CompletedVerdict::kResend);
    EXPECT_EQ(m.response, kOk);
    EXPECT_EQ(m.aux, 120u);
    EXPECT_EQ(table.count(), 1u);
    EXPECT_EQ(table.stats().inserted, 1u);
}

TEST(CompletedTableTest, EmptyTableAndUnknownKeyMatchNothing) {
    CompletedTable table;
    EXPECT_EQ(verdict(table, kBranch, "REGISTER"), CompletedVerdict::kNone);
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, "z9hG4bKother", "REGISTER"), CompletedVerdict::kNone);
}

// §17.2.3: the method is part of the key; only ACK looks up another method.
TEST(CompletedTableTest, SameBranchAnotherMethodIsANewRequest) {
    CompletedTable table;
    must_insert(table, final_entry(kBranch, "MESSAGE", kOk, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, kBranch, "MESSAGE"), CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, kBranch, "BYE"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, kBranch, "INVITE"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, kBranch, "ACK"), CompletedVerdict::kNone);  // ACK finds INVITEs only
    EXPECT_EQ(verdict(table, kBranch, "CANCEL"), CompletedVerdict::kNone);
    // And an INVITE entry does not answer a MESSAGE with its branch.
    must_insert(table, invite_entry("z9hG4bKinv", CompletedKind::kInviteAccepted, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, "z9hG4bKinv", "MESSAGE"), CompletedVerdict::kNone);
}

TEST(CompletedTableTest, AnotherSentByIsAnotherTransaction) {
    CompletedTable table;
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, kBranch, "REGISTER", kT0, "pc33.atlanta.com:5061"),
              CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, kBranch, "REGISTER", kT0, "pc33.atlanta.com"), CompletedVerdict::kNone);
}

// §7.3.1: branch and host compare case-insensitively; §7.1: methods do not.
TEST(CompletedTableTest, CaseRulesOfTheKey) {
    CompletedTable table;
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, "Z9HG4BK776ASDHDS", "REGISTER", kT0, "PC33.Atlanta.COM:5060"),
              CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, kBranch, "register"), CompletedVerdict::kNone);
}

// RFC 6026 §7.1: after a 2xx the INVITE's retransmissions are absorbed and an
// ACK is the TU's; §17.2.1: after the ACK of a non-2xx both are absorbed.
TEST(CompletedTableTest, InviteKindsAbsorbInvitesAndOnlyConfirmedAbsorbsTheAck) {
    CompletedTable table;
    must_insert(table, invite_entry("z9hG4bKaccepted", CompletedKind::kInviteAccepted,
                                    kT0 + timer_l(TimerConfig{})));
    must_insert(table, invite_entry("z9hG4bKconfirmed", CompletedKind::kInviteConfirmed,
                                    kT0 + timer_i(TimerConfig{}, Reliability::kUnreliable)));
    EXPECT_EQ(verdict(table, "z9hG4bKaccepted", "INVITE"), CompletedVerdict::kAbsorb);
    EXPECT_EQ(verdict(table, "z9hG4bKaccepted", "ACK"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, "z9hG4bKconfirmed", "INVITE"), CompletedVerdict::kAbsorb);
    EXPECT_EQ(verdict(table, "z9hG4bKconfirmed", "ACK"), CompletedVerdict::kAbsorb);
    EXPECT_TRUE(table.match({"z9hG4bKconfirmed", kSentBy, "ACK"}, kT0).response.empty());
}

// §9.2: a CANCEL is its own transaction but names the INVITE with its branch.
TEST(CompletedTableTest, CancelHasItsOwnKeyAndFindsItsInvite) {
    CompletedTable table;
    must_insert(table, invite_entry(kBranch, CompletedKind::kInviteAccepted, kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, kBranch, "CANCEL"), CompletedVerdict::kNone);
    EXPECT_TRUE(table.has_invite_for_cancel({kBranch, kSentBy, "CANCEL"}, kT0));
    EXPECT_FALSE(table.has_invite_for_cancel({kBranch, kSentBy, "BYE"}, kT0));  // not a CANCEL
    EXPECT_FALSE(table.has_invite_for_cancel({"z9hG4bKx", kSentBy, "CANCEL"}, kT0));
    EXPECT_FALSE(table.has_invite_for_cancel({kBranch, kSentBy, "CANCEL"}, kT0 + kTimerJ));
    // A non-INVITE with the branch is nothing a CANCEL can name.
    must_insert(table, final_entry("z9hG4bKmsg", "MESSAGE", kOk, kT0 + kTimerJ));
    EXPECT_FALSE(table.has_invite_for_cancel({"z9hG4bKmsg", kSentBy, "CANCEL"}, kT0));
    // The CANCEL's own 200, kept, answers the CANCEL's retransmission.
    must_insert(table, final_entry(kBranch, "CANCEL", "SIP/2.0 200 OK\r\n\r\n", kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, kBranch, "CANCEL"), CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, kBranch, "INVITE"), CompletedVerdict::kAbsorb);
}

// Alive while now < expires_at, as the machines' `now >= end_at` ends them.
TEST(CompletedTableTest, ExpiryExactlyAtTheBoundary) {
    CompletedTable table;
    const Time end = kT0 + kTimerJ;
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, end));
    EXPECT_EQ(verdict(table, kBranch, "REGISTER", end - nanoseconds(1)), CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, kBranch, "REGISTER", end), CompletedVerdict::kNone);
    EXPECT_EQ(table.expire(end - nanoseconds(1)), 0u);
    EXPECT_EQ(table.count(), 1u);
    EXPECT_EQ(table.expire(end), 1u);
    EXPECT_EQ(table.count(), 0u);
    EXPECT_EQ(table.used_bytes(), 0u);
    EXPECT_EQ(table.stats().expired, 1u);
    EXPECT_EQ(table.expire(end + hours(1)), 0u);  // nothing left
}

// A shorter linger (Timer I) behind a longer one is dead on time; its bytes
// go when the record before it goes.
TEST(CompletedTableTest, ShorterLingerBehindALongerOneDiesOnTime) {
    CompletedTable table;
    must_insert(table, final_entry("z9hG4bKlong", "BYE", kOk, kT0 + seconds(32)));
    must_insert(table, invite_entry("z9hG4bKshort", CompletedKind::kInviteConfirmed,
                                    kT0 + seconds(5)));
    EXPECT_EQ(verdict(table, "z9hG4bKshort", "ACK", kT0 + seconds(5)), CompletedVerdict::kNone);
    EXPECT_EQ(table.expire(kT0 + seconds(6)), 0u);  // the head is alive
    EXPECT_EQ(table.count(), 2u);
    EXPECT_EQ(verdict(table, "z9hG4bKlong", "BYE", kT0 + seconds(6)), CompletedVerdict::kResend);
    EXPECT_EQ(table.expire(kT0 + seconds(32)), 2u);
    EXPECT_EQ(table.stats().expired, 2u);
}

TEST(CompletedTableTest, FullTableEvictsTheOldestFirst) {
    CompletedTable table({.entry_count_max = 3});
    for (std::string_view b : {"z9hG4bKa", "z9hG4bKb", "z9hG4bKc", "z9hG4bKd", "z9hG4bKe"}) {
        must_insert(table, final_entry(b, "MESSAGE", kOk, kT0 + kTimerJ));
    }
    EXPECT_EQ(table.count(), 3u);
    EXPECT_EQ(verdict(table, "z9hG4bKa", "MESSAGE"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, "z9hG4bKb", "MESSAGE"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, "z9hG4bKc", "MESSAGE"), CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, "z9hG4bKd", "MESSAGE"), CompletedVerdict::kResend);
    EXPECT_EQ(verdict(table, "z9hG4bKe", "MESSAGE"), CompletedVerdict::kResend);
    EXPECT_EQ(table.stats().evicted_count_full, 2u);
}

// A dead record is reclaimed as expired, not counted as an eviction.
TEST(CompletedTableTest, RecordsDeadByNowAreExpiredNotEvicted) {
    CompletedTable table({.entry_count_max = 2});
    must_insert(table, final_entry("z9hG4bKa", "MESSAGE", kOk, kT0 + seconds(1)));
    must_insert(table, final_entry("z9hG4bKb", "MESSAGE", kOk, kT0 + seconds(40)));
    must_insert(table, final_entry("z9hG4bKc", "MESSAGE", kOk, kT0 + seconds(42)),
                kT0 + seconds(2));
    EXPECT_EQ(table.stats().expired, 1u);
    EXPECT_EQ(table.stats().evicted_count_full, 0u);
    EXPECT_EQ(table.count(), 2u);
}

TEST(CompletedTableTest, CapacityOneKeepsTheNewest) {
    CompletedTable table({.entry_count_max = 1});
    must_insert(table, final_entry("z9hG4bKa", "REGISTER", "A", kT0 + kTimerJ));
    must_insert(table, final_entry("z9hG4bKb", "REGISTER", "B", kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, "z9hG4bKa", "REGISTER"), CompletedVerdict::kNone);
    EXPECT_EQ(table.match({"z9hG4bKb", kSentBy, "REGISTER"}, kT0).response, "B");
    must_insert(table, final_entry("z9hG4bKa", "REGISTER", "A2", kT0 + kTimerJ));
    EXPECT_EQ(verdict(table, "z9hG4bKb", "REGISTER"), CompletedVerdict::kNone);
    EXPECT_EQ(table.match({"z9hG4bKa", kSentBy, "REGISTER"}, kT0).response, "A2");
    EXPECT_EQ(table.count(), 1u);
    EXPECT_EQ(table.stats().evicted_count_full, 2u);
}

// The same key again: the newest record answers; the replaced one keeps its
// place in the FIFO and its reclaiming leaves the newest in the index.
TEST(CompletedTableTest, ReplacedKeyAnswersWithTheNewestResponse) {
    CompletedTable table({.entry_count_max = 2});
    must_insert(table, final_entry(kBranch, "REGISTER", "first", kT0 + kTimerJ));
    EXPECT_EQ(table.insert(final_entry(kBranch, "REGISTER", "second", kT0 + kTimerJ), kT0),
              CompletedInsert::kReplaced);
    EXPECT_EQ(table.count(), 2u);
    EXPECT_EQ(table.match({kBranch, kSentBy, "REGISTER"}, kT0).response, "second");
    must_insert(table, final_entry("z9hG4bKother", "REGISTER", "third", kT0 + kTimerJ));
    EXPECT_EQ(table.match({kBranch, kSentBy, "REGISTER"}, kT0).response, "second");
    EXPECT_EQ(table.stats().replaced, 1u);
    EXPECT_EQ(table.stats().evicted_count_full, 0u);  // the replaced record was not alive
    // A dead record is replaced the same way.
    EXPECT_EQ(table.insert(final_entry("z9hG4bKother", "REGISTER", "fourth", kT0 + hours(1)),
                           kT0 + kTimerJ + seconds(1)),
              CompletedInsert::kInserted);  // the dead one was reclaimed first
}

// The byte budget evicts oldest first as well; records never straddle blocks.
TEST(CompletedTableTest, ByteBudgetEvictsTheOldestFirst) {
    CompletedTable table({.byte_count_max = kCompletedBlockSize});
    const std::string big(kCompletedResponseSizeMax, 'x');
    std::vector<std::string> branches;
    for (int i = 0; i < 20; ++i) {
        branches.push_back("z9hG4bKbig" + std::to_string(i));
        must_insert(table, final_entry(branches.back(), "MESSAGE", big, kT0 + kTimerJ));
        EXPECT_LE(table.used_bytes(), kCompletedBlockSize);
        EXPECT_EQ(table.block_bytes(), kCompletedBlockSize);
    }
    // One block holds 7 of the largest records; the 8th needed the block
    // back, which evicted all 7, and so on: the newest few are left.
    EXPECT_GT(table.stats().evicted_bytes_full, 0u);
    EXPECT_EQ(table.count() + table.stats().evicted_bytes_full, 20u);
    EXPECT_EQ(verdict(table, branches.front(), "MESSAGE"), CompletedVerdict::kNone);
    const CompletedMatch last = table.match({branches.back(), kSentBy, "MESSAGE"}, kT0);
    EXPECT_EQ(last.verdict, CompletedVerdict::kResend);
    EXPECT_EQ(last.response, big);
}

TEST(CompletedTableTest, RefusesKeysWithoutATransactionAndOversizeResponses) {
    CompletedTable table;
    EXPECT_EQ(table.insert(final_entry("776asdhds", "REGISTER", kOk, kT0 + kTimerJ), kT0),
              CompletedInsert::kBadKey);  // RFC 2543 branch: no §17.2.3 matching
    EXPECT_EQ(table.insert({.key = {kBranch, "", "REGISTER"}, .response = kOk,
                            .expires_at = kT0 + kTimerJ},
                           kT0),
              CompletedInsert::kBadKey);
    const std::string long_branch = "z9hG4bK" + std::string(kBranchSizeMax, 'a');
    EXPECT_EQ(table.insert(final_entry(long_branch, "REGISTER", kOk, kT0 + kTimerJ), kT0),
              CompletedInsert::kBadKey);
    const std::string long_method(kMethodSizeMax + 1, 'X');
    EXPECT_EQ(table.insert(final_entry(kBranch, long_method, kOk, kT0 + kTimerJ), kT0),
              CompletedInsert::kBadKey);
    const std::string too_big(kCompletedResponseSizeMax + 1, 'x');
    EXPECT_EQ(table.insert(final_entry(kBranch, "REGISTER", too_big, kT0 + kTimerJ), kT0),
              CompletedInsert::kResponseTooLarge);
    EXPECT_EQ(table.count(), 0u);
    EXPECT_EQ(table.stats().refused_bad_key, 4u);
    EXPECT_EQ(table.stats().refused_too_large, 1u);
    // Lookups with such keys find nothing (and do not assert).
    EXPECT_EQ(verdict(table, "776asdhds", "REGISTER"), CompletedVerdict::kNone);
    EXPECT_EQ(verdict(table, kBranch, ""), CompletedVerdict::kNone);
    // The largest response is kept.
    must_insert(table, final_entry(kBranch, "REGISTER", too_big.substr(1), kT0 + kTimerJ));
}

TEST(CompletedTableTest, RecordFootprintIsHeaderKeyAndResponseAligned) {
    CompletedTable table;
    must_insert(table, final_entry(kBranch, "REGISTER", kOk, kT0 + kTimerJ));
    // 'S' + 2 + branch + 2 + sent-by + method.
    const size_t key = 1 + 2 + kBranch.size() + 2 + kSentBy.size() + 8;
    const size_t raw = 24 + key + kOk.size();
    EXPECT_EQ(table.used_bytes(), (raw + 7) / 8 * 8);
}

// 2,000 entries a second, each alive 32 s: once the table has lived through
// a whole window at that rate, it allocates no block (it pins its busiest
// window and reuses it).
TEST(CompletedTableTest, WarmTableTakesNoNewBlocks) {
    CompletedTable table;
    constexpr int kWindow = 64000;  // entries per 32 s
    std::string branch;
    size_t blocks_after_two_windows = 0;
    for (int i = 0; i < 3 * kWindow; ++i) {
        const Time now = kT0 + microseconds(500) * i;
        branch = "z9hG4bK-" + std::to_string(i);
        must_insert(table, final_entry(branch, "REGISTER", kOk, now + kTimerJ), now);
        if (i == 2 * kWindow) {
            blocks_after_two_windows = table.block_bytes();
        }
    }
    EXPECT_EQ(table.block_bytes(), blocks_after_two_windows);
    EXPECT_EQ(table.stats().evicted_count_full, 0u);
    EXPECT_EQ(table.count(), static_cast<uint32_t>(kWindow));
    EXPECT_EQ(table.match({branch, kSentBy, "REGISTER"}, kT0 + seconds(96)).response, kOk);
}

// A seeded random run against a model: the table holds a suffix of the
// inserts (oldest go first), answers every alive one it holds with its
// newest response, and stays within its limits.
TEST(CompletedTableTest, RandomRunAgreesWithAModel) {
    std::mt19937 rng(1234);
    const CompletedTableConfig config{.entry_count_max = 50, .byte_count_max = 2 * kCompletedBlockSize};
    CompletedTable table(config);
    struct Inserted {
        std::string branch;
        std::string response;
        Time expires_at;
        uint64_t seq;
    };
    std::map<std::string, Inserted> newest;  // by branch (one method: MESSAGE)
    Time now = kT0;
    uint64_t seq = 0;
    for (int step = 0; step < 20000; ++step) {
        now += milliseconds(rng() % 300);
        const std::string branch = "z9hG4bK" + std::to_string(rng() % 80);
        if (rng() % 4 != 0) {
            // Sizes run a little past kCompletedResponseSizeMax: those are refused
            // and leave any earlier record of the key as it was.
            const std::string response(1 + rng() % 8400, static_cast<char>('a' + rng() % 26));
            const Time expires_at = now + milliseconds(rng() % 40000);
            const CompletedInsert r =
                table.insert(final_entry(branch, "MESSAGE", response, expires_at), now);
            if (r != CompletedInsert::kResponseTooLarge) {
                newest[branch] = {branch, response, expires_at, seq++};
            }
        } else {
            (void)table.expire(now);
        }
        ASSERT_LE(table.count(), config.entry_count_max);
        ASSERT_LE(table.used_bytes(), config.byte_count_max);
        // Held alive entries form a suffix: once one is held, every newer
        // alive one is held too.
        uint64_t oldest_held = UINT64_MAX;
        for (const auto& [b, e] : newest) {
            const CompletedMatch m = table.match({b, kSentBy, "MESSAGE"}, now);
            if (m.verdict == CompletedVerdict::kResend) {
                ASSERT_LT(now, e.expires_at);
                ASSERT_EQ(m.response, e.response);
                oldest_held = std::min(oldest_held, e.seq);
            }
        }
        for (const auto& [b, e] : newest) {
            if (e.seq > oldest_held && now < e.expires_at) {
                ASSERT_EQ(verdict(table, b, "MESSAGE", now), CompletedVerdict::kResend) << b;
            }
        }
    }
    EXPECT_GT(table.stats().evicted_count_full + table.stats().evicted_bytes_full, 0u);
    EXPECT_GT(table.stats().expired, 0u);
}

}  // namespace
}  // namespace fe::txn
