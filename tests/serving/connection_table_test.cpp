// The connection table's choices: who is shed when the server is full (the waiting,
// unauthenticated connection that has sent the least of a request for the longest), the
// share reserved for authenticated connections, the per-address cap, and refusal only when
// nobody can be shed.
#include "../../src/serving/connection_table.hpp"

#include <gtest/gtest.h>

#include <set>

namespace connection_table_test {

using namespace citadel::serving;

namespace {

// A connection as a session holds it: given back to the table when it closes.
struct Held {
  ConnectionTable* table = nullptr;
  std::shared_ptr<ConnectionState> state;
  bool shed = false;
  ~Held() {
    if (state) table->release(*state);
  }
};

// Admits a connection and makes it sheddable, waiting since `waiting_ns` ago with `bytes`
// of a header received.
std::shared_ptr<Held> open(ConnectionTable& table, const std::string& address, int64_t waiting_ns, int64_t bytes,
                           int64_t& sheds) {
  auto held = std::make_shared<Held>();
  held->table = &table;
  held->state = table.admit(address, sheds);
  if (!held->state) return nullptr;
  held->state->waiting_since = steady_nanoseconds() - waiting_ns;
  held->state->header_bytes = bytes;
  Held* raw = held.get();
  held->state->shed = [raw] { raw->shed = true; };
  held->state->can_be_shed = true;
  return held;
}

constexpr int64_t kSecond = 1'000'000'000;

}  // namespace

TEST(ConnectionTable, TheWaitingConnectionThatSentTheLeastForTheLongestIsShed) {
  ConnectionLimits limits;
  limits.max_total = 4;
  limits.reserved_for_authenticated = 0;
  limits.credit_per_header_byte = std::chrono::milliseconds(10);  // 100 bytes = 1 s
  ConnectionTable table(limits);
  int64_t sheds = 0;
  auto idle_long = open(table, "10.0.0.1", 5 * kSecond, 0, sheds);         // 5 s, nothing
  auto trickled = open(table, "10.0.0.2", 8 * kSecond, 400, sheds);        // 8 s less 4 s of credit
  auto fresh = open(table, "10.0.0.3", kSecond / 100, 0, sheds);           // 10 ms, nothing
  auto busy = open(table, "10.0.0.4", 60 * kSecond, 0, sheds);
  busy->state->waiting_since = ConnectionState::kBusy;                    // a request being answered
  EXPECT_EQ(sheds, 0);
  auto newest = open(table, "10.0.0.5", 0, 0, sheds);
  ASSERT_NE(newest, nullptr);  // admitted, not refused
  EXPECT_EQ(sheds, 1);
  EXPECT_TRUE(idle_long->shed);  // 5 s of waiting beats 8 − 4 s and 10 ms
  EXPECT_FALSE(trickled->shed || fresh->shed || busy->shed);
  EXPECT_EQ(table.open(), 4);
  auto next = open(table, "10.0.0.6", 0, 0, sheds);
  EXPECT_TRUE(trickled->shed);
  EXPECT_FALSE(fresh->shed);
  idle_long.reset();  // a shed connection's close gives nothing back twice
  EXPECT_EQ(table.open(), 4);
}

TEST(ConnectionTable, AuthenticatedConnectionsKeepTheirShareAndAreNeverShed) {
  ConnectionLimits limits;
  limits.max_total = 8;
  limits.reserved_for_authenticated = 2;
  ConnectionTable table(limits);
  int64_t sheds = 0;
  std::vector<std::shared_ptr<Held>> authenticated, others;
  for (int i = 0; i < 2; ++i) {
    authenticated.push_back(open(table, "10.0.1." + std::to_string(i), 100 * kSecond, 0, sheds));
    table.authenticated(*authenticated.back()->state);
  }
  for (int i = 0; i < 6; ++i) others.push_back(open(table, "10.0.2." + std::to_string(i), (10 - i) * kSecond, 0, sheds));
  EXPECT_EQ(sheds, 0);
  EXPECT_EQ(table.open(), 8);
  // Unauthenticated connections hold their 6 places: each new one sheds the stalest of them.
  std::vector<std::shared_ptr<Held>> newer;
  for (int i = 0; i < 6; ++i) {
    newer.push_back(open(table, "10.0.3." + std::to_string(i), 0, 0, sheds));
    ASSERT_NE(newer.back(), nullptr);
    EXPECT_TRUE(others[size_t(i)]->shed) << i;
  }
  for (const auto& a : authenticated) EXPECT_FALSE(a->shed);
  EXPECT_EQ(table.open(), 8);
}

TEST(ConnectionTable, RefusedOnlyAtTheAddressCapOrWhenNobodyCanBeShed) {
  ConnectionLimits limits;
  limits.max_total = 3;
  limits.max_per_address = 2;
  limits.reserved_for_authenticated = 0;
  ConnectionTable table(limits);
  int64_t sheds = 0;
  auto a = open(table, "10.0.0.1", kSecond, 0, sheds);
  auto b = open(table, "10.0.0.1", kSecond, 0, sheds);
  EXPECT_EQ(open(table, "10.0.0.1", 0, 0, sheds), nullptr);  // its address is at its cap
  auto c = open(table, "10.0.0.2", kSecond, 0, sheds);
  for (const auto& held : {a, b, c}) held->state->waiting_since = ConnectionState::kBusy;
  EXPECT_EQ(open(table, "10.0.0.3", 0, 0, sheds), nullptr);  // full, and every connection busy
  EXPECT_EQ(sheds, 0);
  c.reset();  // closed: its place is free
  EXPECT_NE(open(table, "10.0.0.3", 0, 0, sheds), nullptr);
}

}  // namespace connection_table_test
