// The extraction monitor on streams whose nature is known: real-looking rows (independent
// draws from one distribution), the small steps around a few seeds that synthetic
// extraction queries take, and a line search to a decision boundary.
#include "citadel/serving/extraction_monitor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>

#include "citadel/core/error.hpp"

namespace extraction_monitor_test {

using namespace citadel;
using namespace citadel::serving;

namespace {

constexpr int64_t kWidth = 8;

Tensor row(const std::vector<float>& values) {
  Tensor t(Shape{1, kWidth});
  for (int64_t i = 0; i < kWidth; ++i) t[i] = values[size_t(i)];
  return t;
}

std::vector<float> draw(std::mt19937_64& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kWidth);
  for (float& x : v) x = normal(rng);
  return v;
}

int64_t class_of(const std::vector<float>& v) { return v[0] + v[1] > 0 ? 1 : 0; }

}  // namespace

TEST(ExtractionMonitor, IndependentRealRowsRaiseNoAlarm) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    ExtractionMonitor monitor;
    ExtractionState state;
    for (int q = 0; q < 1500; ++q) {
      const std::vector<float> v = draw(rng);
      state = monitor.observe("benign", row(v), {class_of(v)});
      ASSERT_FALSE(state.alarm) << "seed " << seed << ", query " << q + 1 << ", W " << state.w;
    }
    EXPECT_GT(state.w, 0.9);
    EXPECT_EQ(state.queries, 1500);
  }
}

TEST(ExtractionMonitor, SyntheticStepsAroundAFewSeedsRaiseTheAlarm) {
  std::mt19937_64 rng(3);
  std::bernoulli_distribution coin;
  ExtractionMonitor monitor, lenient;  // the lenient one is given a threshold no stream reaches
  std::vector<std::vector<float>> known;
  for (int s = 0; s < 10; ++s) known.push_back(draw(rng));
  int64_t raised_at = -1, q = 0;
  for (const auto& v : known)
    monitor.observe("attacker", row(v), {class_of(v)}), lenient.observe("attacker", row(v), {class_of(v)}), ++q;
  while (q < 1000 && raised_at < 0) {  // Papernot-style rounds: every known point moved by ±0.1
    const size_t n = known.size();
    for (size_t i = 0; i < n && raised_at < 0; ++i) {
      std::vector<float> moved = known[i];
      for (float& x : moved) x += coin(rng) ? 0.1f : -0.1f;
      known.push_back(moved);
      const ExtractionState state = monitor.observe("attacker", row(moved), {class_of(moved)});
      EXPECT_FALSE(lenient.observe("attacker", row(moved), {class_of(moved)}, 0.01).alarm);
      ++q;
      if (state.raised_now) raised_at = q;
      EXPECT_EQ(state.alarm, raised_at > 0);
    }
  }
  ASSERT_GT(raised_at, 0) << "no alarm in " << q << " queries";
  EXPECT_LE(raised_at, 200);
  // The alarm stays raised, and is the attacker's alone.
  EXPECT_TRUE(monitor.observe("attacker", row(draw(rng)), {0}).alarm);
  EXPECT_FALSE(monitor.state("someone else").alarm);
  // Asking about streams never observed (the server does, for every request when it blocks
  // on alarms) keeps no state for them.
  const size_t observed = monitor.streams();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(monitor.state("asked " + std::to_string(i)).queries, 0);
  EXPECT_TRUE(monitor.distances("never seen").empty());
  EXPECT_EQ(monitor.streams(), observed);
}

TEST(ExtractionMonitor, ALineSearchToTheBoundaryRaisesTheAlarm) {
  std::mt19937_64 rng(5);
  ExtractionMonitor monitor;
  int64_t q = 0, raised_at = -1;
  while (q < 1000 && raised_at < 0) {
    const std::vector<float> a = draw(rng), b = draw(rng);  // two real rows, asked first
    for (const auto& end : {a, b})
      if (monitor.observe("prober", row(end), {class_of(end)}).raised_now && raised_at < 0) raised_at = q + 1;
    q += 2;
    if (class_of(a) == class_of(b)) continue;
    double lo = 0, hi = 1;
    for (int step = 0; step < 8 && raised_at < 0; ++step) {
      const double mid = (lo + hi) / 2;
      std::vector<float> p(kWidth);
      for (int64_t i = 0; i < kWidth; ++i) p[size_t(i)] = float((1 - mid) * a[size_t(i)] + mid * b[size_t(i)]);
      const int64_t c = class_of(p);
      if (monitor.observe("prober", row(p), {c}).raised_now) raised_at = q + 1;
      ++q;
      (c == class_of(a) ? lo : hi) = mid;
    }
  }
  ASSERT_GT(raised_at, 0);
  EXPECT_LE(raised_at, 300);
}

TEST(ExtractionMonitor, RetriesAreNotDistancesAndMemoryIsBounded) {
  ExtractionMonitor monitor({.max_distances = 300, .max_kept_queries = 5});
  std::mt19937_64 rng(9);
  const std::vector<float> same = draw(rng);
  for (int i = 0; i < 200; ++i) monitor.observe("retrying", row(same), {0});
  const ExtractionState retrying = monitor.state("retrying");
  EXPECT_EQ(retrying.distances, 0);
  EXPECT_FALSE(retrying.alarm);
  ExtractionState state;
  for (int i = 0; i < 1000; ++i) {
    const std::vector<float> v = draw(rng);
    state = monitor.observe("busy", row(v), {class_of(v)});
  }
  EXPECT_EQ(state.kept, 5);
  EXPECT_EQ(state.distances, 300);
  EXPECT_EQ(monitor.distances("busy").size(), 300u);
}

TEST(ExtractionMonitor, BadOptionsAndMismatchedClassesAreRefused) {
  EXPECT_THROW(ExtractionMonitor({.alarm_below = 1.0}), ValueError);
  EXPECT_THROW(ExtractionMonitor({.min_distances = 5}), ValueError);
  EXPECT_THROW(ExtractionMonitor({.max_distances = 6000}), ValueError);
  EXPECT_THROW(ExtractionMonitor({.max_query_width = 8}), ValueError);
  ExtractionMonitor monitor;
  EXPECT_THROW(monitor.observe("x", Tensor(Shape{2, kWidth}), {0}), ValueError);
}

namespace {

Tensor wide_row(const std::vector<float>& values) {
  Tensor t(Shape{1, static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

std::vector<float> wide_draw(std::mt19937_64& rng, int64_t width) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(width));
  for (float& x : v) x = normal(rng);
  return v;
}

double distance(std::span<const float> a, std::span<const float> b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += double(a[i] - b[i]) * double(a[i] - b[i]);
  return std::sqrt(d);
}

}  // namespace

TEST(QuerySketch, KeepsDistancesWithinAFewPercentAndDependsOnItsKey) {
  constexpr int64_t kWide = 20'000, kSlots = 1'024;
  const QuerySketch sketch(kSlots, 42), other(kSlots, 43);
  std::mt19937_64 rng(11);
  std::vector<float> sa(kSlots), sb(kSlots), oa(kSlots);
  double worst = 0;
  for (int pair = 0; pair < 100; ++pair) {
    // Differences of every kind: spread over all positions, and on a few positions only.
    std::vector<float> a = wide_draw(rng, kWide), b = a;
    if (pair % 2 == 0) b = wide_draw(rng, kWide);
    else
      for (int k = 0; k < 50; ++k) b[size_t(rng() % kWide)] += 1.0f;
    sketch.apply(a, sa), sketch.apply(b, sb);
    const double ratio = distance(sa, sb) / distance(a, b);
    worst = std::max(worst, std::abs(std::log(ratio)));
  }
  // sqrt(2 / 1024) ≈ 4.4 % spread in squared distance, so about 2 % in distance.
  EXPECT_LT(worst, std::log(1.15)) << "a sketched distance off by more than 15 %";
  std::vector<float> a = wide_draw(rng, kWide);
  sketch.apply(a, sa), other.apply(a, oa);
  EXPECT_NE(sa, oa) << "the sketch does not depend on its key";
  EXPECT_THROW(sketch.apply(a, std::span<float>(oa).first(10)), ValueError);
}

TEST(ExtractionMonitor, WideQueriesAreSketchedSoATokensMemoryIsBoundedByTheLimitNotTheInput) {
  // 20,000 numbers a query (a 82×82×3 image): kept whole, 64 queries would hold 1.28 M floats.
  constexpr int64_t kWide = 20'000;
  ExtractionMonitor monitor({.max_kept_queries = 64, .max_query_width = 256, .sketch_seed = 7});
  std::mt19937_64 rng(13);
  ExtractionState state;
  for (int q = 0; q < 200; ++q) {  // each farther out than the last, so that each joins its class's set
    std::vector<float> v = wide_draw(rng, kWide);
    for (float& x : v) x *= float(q + 1);
    state = monitor.observe("wide", wide_row(v), {q % 3});
  }
  EXPECT_EQ(state.kept, 64);
  EXPECT_EQ(state.stored_values, 64 * 256);
  // Narrow queries are kept as they are.
  ExtractionMonitor narrow({.max_kept_queries = 64, .max_query_width = 256});
  for (int q = 0; q < 10; ++q) state = narrow.observe("narrow", wide_row(wide_draw(rng, 100)), {0});
  EXPECT_EQ(state.stored_values, state.kept * 100);
}

TEST(ExtractionMonitor, OnSketchedQueriesSyntheticStepsStillRaiseTheAlarmAndRealRowsDoNot) {
  constexpr int64_t kWide = 3'000;
  const ExtractionMonitorOptions options{.max_query_width = 256};
  std::mt19937_64 rng(17);
  auto wide_class = [](const std::vector<float>& v) { return int64_t(v[0] + v[1] + v[2] > 0); };
  ExtractionMonitor benign(options);
  for (int q = 0; q < 1000; ++q) {
    const std::vector<float> v = wide_draw(rng, kWide);
    ASSERT_FALSE(benign.observe("benign", wide_row(v), {wide_class(v)}).alarm) << "query " << q + 1;
  }
  ExtractionMonitor monitor(options);
  std::bernoulli_distribution coin;
  std::vector<std::vector<float>> known;
  for (int s = 0; s < 10; ++s) known.push_back(wide_draw(rng, kWide));
  int64_t q = 0, raised_at = -1;
  for (const auto& v : known) monitor.observe("attacker", wide_row(v), {wide_class(v)}), ++q;
  while (q < 1000 && raised_at < 0) {
    const size_t n = known.size();
    for (size_t i = 0; i < n && raised_at < 0; ++i) {
      std::vector<float> moved = known[i];
      for (float& x : moved) x += coin(rng) ? 0.1f : -0.1f;
      known.push_back(moved);
      ++q;
      if (monitor.observe("attacker", wide_row(moved), {wide_class(moved)}).raised_now) raised_at = q;
    }
  }
  ASSERT_GT(raised_at, 0) << "no alarm in " << q << " queries";
  EXPECT_LE(raised_at, 200);
}

}  // namespace extraction_monitor_test
