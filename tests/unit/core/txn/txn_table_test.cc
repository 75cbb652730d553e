// Checks transaction matching in TxnTable: §17.1.3 (branch + CSeq method, so
// a CANCEL is apart from its INVITE), §17.2.3 (branch + sent-by + method, ACK
// finding its INVITE, another sent-by not matching), §9.2 (CANCEL finding the
// INVITE it cancels), case rules, the magic-cookie requirement, each named
// key error, table full, and slot reuse with stale ids.
#include "core/txn/txn_table.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fe::txn {
namespace {

constexpr std::string_view kBranch = "z9hG4bK776asdhds";
constexpr std::string_view kSentBy = "pc33.atlanta.com:5060";

TxnId must_insert_server(TxnTable& table, const ServerKey& key) {
    TxnInsertResult r = table.insert_server(key);
    EXPECT_EQ(r.error, TxnTableError::kOk) << txn_table_error_name(r.error);
    return r.id;
}

TEST(TxnTableTest, ServerRetransmissionMatches) {
    TxnTable table(16);
    TxnId id = must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    EXPECT_EQ(table.count(), 1u);
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "INVITE"}), id);
}

TEST(TxnTableTest, AckMatchesItsInviteTransaction) {
    // §17.2.3 rule 3.
    TxnTable table(16);
    TxnId invite = must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "ACK"}), invite);
    // An ACK for a 2xx carries a new branch: no transaction, it goes to the core.
    EXPECT_EQ(table.find_server({"z9hG4bKnew", kSentBy, "ACK"}), std::nullopt);
}

TEST(TxnTableTest, AckNeverMatchesNonInvite) {
    TxnTable table(16);
    (void)must_insert_server(table, {kBranch, kSentBy, "BYE"});
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "ACK"}), std::nullopt);
}

TEST(TxnTableTest, AckCreatesNoTransaction) {
    TxnTable table(16);
    EXPECT_EQ(table.insert_server({kBranch, kSentBy, "ACK"}).error,
              TxnTableError::kAckHasNoTransaction);
    EXPECT_EQ(table.insert_client({kBranch, "ACK"}).error, TxnTableError::kAckHasNoTransaction);
    EXPECT_EQ(table.count(), 0u);
}

TEST(TxnTableTest, CancelIsItsOwnServerTransactionButFindsTheInvite) {
    TxnTable table(16);
    TxnId invite = must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    // The CANCEL carries the INVITE's branch but is not a retransmission of it.
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "CANCEL"}), std::nullopt);
    TxnId cancel = must_insert_server(table, {kBranch, kSentBy, "CANCEL"});
    EXPECT_NE(cancel, invite);
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "CANCEL"}), cancel);
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "INVITE"}), invite);
    // §9.2: the INVITE being cancelled.
    EXPECT_EQ(table.find_server_invite_for_cancel({kBranch, kSentBy, "CANCEL"}), invite);
}

TEST(TxnTableTest, CancelForUnknownInviteFindsNothing) {
    TxnTable table(16);
    (void)must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    // Another sent-by, another branch: 481 territory.
    EXPECT_EQ(table.find_server_invite_for_cancel({kBranch, "evil.example.com", "CANCEL"}),
              std::nullopt);
    EXPECT_EQ(table.find_server_invite_for_cancel({"z9hG4bKother", kSentBy, "CANCEL"}),
              std::nullopt);
    // Only a CANCEL may ask.
    EXPECT_EQ(table.find_server_invite_for_cancel({kBranch, kSentBy, "BYE"}), std::nullopt);
}

TEST(TxnTableTest, DifferentSentByDoesNotMatch) {
    // A copied branch from another client must not hit our transaction.
    TxnTable table(16);
    TxnId id = must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    EXPECT_EQ(table.find_server({kBranch, "pc33.atlanta.com:5061", "INVITE"}), std::nullopt);
    EXPECT_EQ(table.find_server({kBranch, "pc33.atlanta.com", "INVITE"}), std::nullopt);
    EXPECT_EQ(table.find_server({kBranch, "192.0.2.66:5060", "ACK"}), std::nullopt);
    // And the other client gets its own transaction.
    TxnId other = must_insert_server(table, {kBranch, "192.0.2.66:5060", "INVITE"});
    EXPECT_NE(other, id);
}

TEST(TxnTableTest, DifferentMethodOrBranchDoesNotMatch) {
    TxnTable table(16);
    (void)must_insert_server(table, {kBranch, kSentBy, "OPTIONS"});
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "INFO"}), std::nullopt);
    EXPECT_EQ(table.find_server({"z9hG4bK776asdhdt", kSentBy, "OPTIONS"}), std::nullopt);
}

TEST(TxnTableTest, BranchAndSentByCaseInsensitiveMethodCaseSensitive) {
    TxnTable table(16);
    TxnId id = must_insert_server(table, {"z9hG4bKAbC", "PC33.Atlanta.COM", "INVITE"});
    EXPECT_EQ(table.find_server({"z9hg4bkabc", "pc33.atlanta.com", "INVITE"}), id);
    // §7.1: methods are case-sensitive; "invite" is an extension method.
    EXPECT_EQ(table.find_server({"z9hG4bKAbC", "PC33.Atlanta.COM", "invite"}), std::nullopt);
}

TEST(TxnTableTest, DuplicateInsertIsRefused) {
    TxnTable table(16);
    (void)must_insert_server(table, {kBranch, kSentBy, "REGISTER"});
    EXPECT_EQ(table.insert_server({kBranch, kSentBy, "REGISTER"}).error, TxnTableError::kDuplicate);
    EXPECT_EQ(table.count(), 1u);
}

TEST(TxnTableTest, ClientMatchesBranchAndCseqMethod) {
    // §17.1.3: the CANCEL shares the INVITE's branch; the CSeq method tells
    // the two client transactions apart.
    TxnTable table(16);
    TxnInsertResult invite = table.insert_client({kBranch, "INVITE"});
    ASSERT_EQ(invite.error, TxnTableError::kOk);
    TxnInsertResult cancel = table.insert_client({kBranch, "CANCEL"});
    ASSERT_EQ(cancel.error, TxnTableError::kOk);
    EXPECT_EQ(table.find_client({kBranch, "INVITE"}), invite.id);
    EXPECT_EQ(table.find_client({kBranch, "CANCEL"}), cancel.id);
    EXPECT_EQ(table.find_client({kBranch, "BYE"}), std::nullopt);
    EXPECT_EQ(table.find_client({"z9hG4bKunknown", "INVITE"}), std::nullopt);
}

TEST(TxnTableTest, ClientAndServerKeysAreSeparate) {
    TxnTable table(16);
    TxnInsertResult client = table.insert_client({kBranch, "INVITE"});
    ASSERT_EQ(client.error, TxnTableError::kOk);
    EXPECT_EQ(table.find_server({kBranch, kSentBy, "INVITE"}), std::nullopt);
    TxnId server = must_insert_server(table, {kBranch, kSentBy, "INVITE"});
    EXPECT_NE(server, client.id);
}

TEST(TxnTableTest, NoMagicCookieIsNotMatchedNorInserted) {
    // RFC 2543 branches (or none) get no transaction matching: the caller
    // handles such a request without a transaction.
    TxnTable table(16);
    EXPECT_EQ(table.insert_server({"776asdhds", kSentBy, "INVITE"}).error,
              TxnTableError::kNoMagicCookie);
    EXPECT_EQ(table.insert_server({"", kSentBy, "INVITE"}).error, TxnTableError::kNoMagicCookie);
    EXPECT_EQ(table.insert_client({"z9hG4b", "INVITE"}).error, TxnTableError::kNoMagicCookie);
    EXPECT_EQ(table.find_server({"776asdhds", kSentBy, "INVITE"}), std::nullopt);
    EXPECT_EQ(table.count(), 0u);
}

TEST(TxnTableTest, EachMalformedKeyHasItsOwnError) {
    TxnTable table(16);
    std::string long_branch = std::string(kBranchMagicCookie) + std::string(kBranchSizeMax, 'x');
    std::string long_sent_by(kSentBySizeMax + 1, 'h');
    std::string long_method(kMethodSizeMax + 1, 'M');
    EXPECT_EQ(table.insert_server({long_branch, kSentBy, "INVITE"}).error,
              TxnTableError::kBranchTooLong);
    EXPECT_EQ(table.insert_server({kBranch, "", "INVITE"}).error, TxnTableError::kSentByEmpty);
    EXPECT_EQ(table.insert_server({kBranch, long_sent_by, "INVITE"}).error,
              TxnTableError::kSentByTooLong);
    EXPECT_EQ(table.insert_server({kBranch, kSentBy, ""}).error, TxnTableError::kMethodEmpty);
    EXPECT_EQ(table.insert_server({kBranch, kSentBy, long_method}).error,
              TxnTableError::kMethodTooLong);
    EXPECT_EQ(table.insert_client({long_branch, "INVITE"}).error, TxnTableError::kBranchTooLong);
    EXPECT_EQ(table.insert_client({kBranch, long_method}).error, TxnTableError::kMethodTooLong);
    EXPECT_EQ(table.count(), 0u);
    // Lookups with such keys find nothing rather than failing.
    EXPECT_EQ(table.find_server({long_branch, kSentBy, "INVITE"}), std::nullopt);
}

TEST(TxnTableTest, KeysAtTheLimitsFit) {
    TxnTable table(4);
    std::string branch = std::string(kBranchMagicCookie) +
                         std::string(kBranchSizeMax - kBranchMagicCookie.size(), 'b');
    std::string sent_by(kSentBySizeMax, 'h');
    std::string method(kMethodSizeMax, 'M');
    TxnId id = must_insert_server(table, {branch, sent_by, method});
    EXPECT_EQ(table.find_server({branch, sent_by, method}), id);
}

TEST(TxnTableTest, FullTableRefusesUntilAnEraseFreesASlot) {
    TxnTable table(3);
    std::vector<TxnId> ids;
    for (int i = 0; i < 3; ++i) {
        std::string branch = "z9hG4bK-" + std::to_string(i);
        ids.push_back(must_insert_server(table, {branch, kSentBy, "REGISTER"}));
    }
    EXPECT_EQ(table.count(), 3u);
    // kTableFull: the caller answers 503.
    EXPECT_EQ(table.insert_server({"z9hG4bK-3", kSentBy, "REGISTER"}).error,
              TxnTableError::kTableFull);
    EXPECT_EQ(table.insert_client({"z9hG4bK-3", "OPTIONS"}).error, TxnTableError::kTableFull);
    // A retransmission is still matched while full.
    EXPECT_EQ(table.find_server({"z9hG4bK-1", kSentBy, "REGISTER"}), ids[1]);
    EXPECT_TRUE(table.erase(ids[1]));
    EXPECT_EQ(table.find_server({"z9hG4bK-1", kSentBy, "REGISTER"}), std::nullopt);
    TxnId fresh = must_insert_server(table, {"z9hG4bK-3", kSentBy, "REGISTER"});
    EXPECT_EQ(table.count(), 3u);
    EXPECT_EQ(table.find_server({"z9hG4bK-3", kSentBy, "REGISTER"}), fresh);
}

TEST(TxnTableTest, ReusedSlotMakesOldIdStale) {
    TxnTable table(1);
    TxnId first = must_insert_server(table, {"z9hG4bKa", kSentBy, "OPTIONS"});
    EXPECT_TRUE(table.contains(first));
    EXPECT_TRUE(table.erase(first));
    EXPECT_FALSE(table.contains(first));
    EXPECT_FALSE(table.erase(first));  // erasing twice is refused
    TxnId second = must_insert_server(table, {"z9hG4bKb", kSentBy, "OPTIONS"});
    EXPECT_EQ(second.index, first.index);
    EXPECT_NE(second.generation, first.generation);
    EXPECT_FALSE(table.contains(first));  // a late timer for `first` is ignored
    EXPECT_FALSE(table.erase(first));
    EXPECT_TRUE(table.contains(second));
    EXPECT_EQ(table.find_server({"z9hG4bKb", kSentBy, "OPTIONS"}), second);
}

TEST(TxnTableTest, ChurnKeepsIndexConsistent) {
    // Insert and erase many times the capacity: tombstones and slot reuse
    // must never lose or mix up keys.
    TxnTable table(8);
    std::vector<std::pair<std::string, TxnId>> live;
    for (int i = 0; i < 2000; ++i) {
        std::string branch = "z9hG4bK" + std::to_string(i * 7919);
        if (live.size() == 8) {
            EXPECT_TRUE(table.erase(live.front().second));
            EXPECT_EQ(table.find_client({live.front().first, "BYE"}), std::nullopt);
            live.erase(live.begin());
        }
        TxnInsertResult r = table.insert_client({branch, "BYE"});
        ASSERT_EQ(r.error, TxnTableError::kOk);
        live.emplace_back(branch, r.id);
        for (const auto& [b, id] : live) {
            ASSERT_EQ(table.find_client({b, "BYE"}), id);
        }
    }
    EXPECT_EQ(table.count(), 8u);
}

TEST(TxnTableTest, ErrorNamesAreDistinct) {
    std::set<std::string_view> names;
    for (int e = 0; e <= static_cast<int>(TxnTableError::kDuplicate); ++e) {
        names.insert(txn_table_error_name(static_cast<TxnTableError>(e)));
    }
    EXPECT_EQ(names.size(), static_cast<size_t>(TxnTableError::kDuplicate) + 1);
    EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace fe::txn
