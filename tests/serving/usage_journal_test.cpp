// The budgets' write-ahead journal: records detect damage, recovery is the snapshot plus the
// journal's records of its generation or later, reservations are written in batches (group
// commit), and every reservation confirmed on disk survives a SIGKILL of the process that
// made it.
#include "../../src/serving/usage_journal.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "citadel/core/error.hpp"
#include "citadel/serving/access_control.hpp"
#include "scratch_folder.hpp"

namespace usage_journal_test {

using namespace citadel::serving;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path path = citadel::testing::scratch_folder() / name;
  fs::remove(path);
  fs::remove(path.string() + ".log");
  return path;
}

TokenRecord budgeted(const std::string& name, int64_t budget) {
  TokenRecord token;
  token.name = name;
  token.policy.rows_budget = budget;
  return token;
}

// Blocks until the reservation is settled; true when it is on disk.
bool wait_durable(AccessControl& access, uint64_t ticket) {
  std::mutex mutex;
  std::condition_variable done;
  bool settled = false, ok = false;
  access.when_durable(ticket, [&](bool written) {
    std::lock_guard lock(mutex);
    settled = true, ok = written;
    done.notify_all();
  });
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return settled; });
  return ok;
}

}  // namespace

TEST(UsageJournal, ARecordDetectsEveryChangedByteAndEveryCut) {
  const std::string line = encode_usage_record({7, "alice.b-2", 12});
  ASSERT_EQ(line.back(), '\n');
  const std::string text = line.substr(0, line.size() - 1);
  UsageRecord record;
  ASSERT_TRUE(decode_usage_record(text, record));
  EXPECT_EQ(record.generation, 7u);
  EXPECT_EQ(record.token, "alice.b-2");
  EXPECT_EQ(record.rows, 12);
  for (size_t i = 0; i < text.size(); ++i)
    for (int change : {1, 0x20, 0x80}) {
      std::string damaged = text;
      damaged[i] = static_cast<char>(damaged[i] ^ change);
      EXPECT_FALSE(decode_usage_record(damaged, record)) << i << " " << change;
    }
  for (size_t cut = 0; cut < text.size(); ++cut) EXPECT_FALSE(decode_usage_record(text.substr(0, cut), record)) << cut;
}

TEST(UsageJournal, RecoveryIsTheSnapshotPlusTheJournalOfItsGenerationOrLater) {
  const fs::path snapshot = scratch("recover.usage");
  write_usage_snapshot(snapshot.string(), {{"a", 5}, {"b", 1}}, 3);
  {
    std::ofstream journal(snapshot.string() + ".log", std::ios::binary);
    journal << encode_usage_record({2, "a", 100})  // older than the snapshot: already in it
            << encode_usage_record({3, "a", 2}) << "garbage line\n" << encode_usage_record({4, "c", 7})
            << encode_usage_record({4, "a", 1}).substr(0, 5);  // torn by a crash
  }
  const RecoveredUsage usage = recover_usage(snapshot.string(), snapshot.string() + ".log");
  EXPECT_EQ(usage.generation, 3u);
  EXPECT_EQ(usage.rows_used, (std::map<std::string, int64_t>{{"a", 7}, {"b", 1}, {"c", 7}}));
  EXPECT_EQ(usage.records, 2);
  EXPECT_EQ(usage.unreadable, 2);
  // Starting over it: one snapshot of the same usage, an empty journal, a later generation.
  {
    AccessControl access(snapshot.string());
    EXPECT_EQ(access.rows_used("a"), 7);
    EXPECT_EQ(fs::file_size(snapshot.string() + ".log"), 0u);
  }
  const RecoveredUsage again = recover_usage(snapshot.string(), snapshot.string() + ".log");
  EXPECT_EQ(again.rows_used, usage.rows_used);
  EXPECT_GT(again.generation, 3u);
}

TEST(UsageJournal, ASecondServerOnTheSameUsageIsRefused) {
  const fs::path snapshot = scratch("locked.usage");
  AccessControl first(snapshot.string());
  EXPECT_THROW(AccessControl{snapshot.string()}, citadel::IoError);
}

// Reservations made faster than the disk syncs share writes; each is confirmed only after
// its write, and the budget is exact.
TEST(UsageJournal, ReservationsAreWrittenInBatchesAndConfirmedAfterTheirWrite) {
  const fs::path snapshot = scratch("batches.usage");
  AccessControl access(snapshot.string());
  access.start();
  const TokenRecord token = budgeted("t", 1000);
  std::vector<uint64_t> tickets;
  for (int i = 0; i < 200; ++i) {
    const Admission admitted = access.admit(token, 5);
    ASSERT_TRUE(admitted.allowed) << i;
    ASSERT_GT(admitted.durable_ticket, 0u);
    tickets.push_back(admitted.durable_ticket);
  }
  EXPECT_FALSE(access.admit(token, 1).allowed);  // 1,000 of 1,000 rows
  for (uint64_t ticket : tickets) EXPECT_TRUE(wait_durable(access, ticket));
  const AccessControl::JournalCounts counts = access.journal_counts();
  EXPECT_EQ(counts.reservations, 200);
  EXPECT_GE(counts.writes, 1);
  EXPECT_LE(counts.writes, 50) << "reservations were not batched";
  // A token without a budget is not journaled (nothing to exceed), and waits for nothing.
  TokenRecord free = token;
  free.name = "free";
  free.policy.rows_budget.reset();
  EXPECT_EQ(access.admit(free, 3).durable_ticket, 0u);
}

// A child process reserves rows and reports each reservation once it is confirmed on disk;
// it is killed (SIGKILL) at a random moment, several times over the same files. The usage
// recovered always holds every confirmed row.
TEST(UsageJournal, EveryConfirmedReservationSurvivesASigkill) {
  const fs::path snapshot = scratch("killed.usage");
  std::mt19937 random(8);
  int64_t confirmed = 0;
  for (int cycle = 0; cycle < 5; ++cycle) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(report[0]);
      AccessControl access(snapshot.string());
      access.start();
      const TokenRecord token = budgeted("k", 1'000'000);
      std::vector<std::thread> clients;
      for (int c = 0; c < 4; ++c)
        clients.emplace_back([&, c] {
          for (int i = 0;; ++i) {
            const int64_t rows = 1 + (c + i) % 4;
            const Admission admitted = access.admit(token, rows);
            if (!admitted.allowed || !wait_durable(access, admitted.durable_ticket)) ::_exit(3);
            const char byte = static_cast<char>(rows);
            if (::write(report[1], &byte, 1) != 1) ::_exit(4);
          }
        });
      for (auto& client : clients) client.join();
      ::_exit(0);
    }
    ::close(report[1]);
    std::atomic<int64_t> reported{0};
    std::thread reader([&] {
      char bytes[256];
      for (ssize_t n; (n = ::read(report[0], bytes, sizeof bytes)) > 0;)
        for (ssize_t i = 0; i < n; ++i) reported += bytes[i];
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 250)(random)));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    reader.join();
    ::close(report[0]);
    confirmed += reported.load();
    const RecoveredUsage usage = recover_usage(snapshot.string(), snapshot.string() + ".log");
    ASSERT_GE(usage.rows_used.count("k") ? usage.rows_used.at("k") : 0, confirmed) << "cycle " << cycle;
    ASSERT_GT(reported.load(), 0) << "cycle " << cycle;
  }
}

}  // namespace usage_journal_test
