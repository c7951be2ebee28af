// The model-extraction study for docs/SECURITY.md: how well an attacker's surrogate agrees
// with a served model after N answered queries, under each output policy, and when the
// extraction monitor (PRADA) raises its alarm — on attack streams, and falsely on benign
// streams of real rows. The served side is the server's own code in process: the output
// policy coarsens every answer, the monitor sees the rows as the model read them.
//
//   extraction_study [pima|fashion] [benign streams] [alarm below W] [min distances]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "citadel/data/dataset.hpp"
#include "citadel/data/split.hpp"
#include "citadel/serving/extraction_monitor.hpp"
#include "extraction_attacks.hpp"

using namespace citadel;
using namespace citadel::bench;

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "pima";
  const int benign_streams = argc > 2 ? std::atoi(argv[2]) : 100;
  if (argc > 3) monitor_options().alarm_below = std::atof(argv[3]);
  if (argc > 4) monitor_options().min_distances = std::atoll(argv[4]);
  Task t = which == "fashion" ? fashion() : pima();
  set_input_range(t);
  Sequential victim = network(t, t.hidden * 2, 1);
  victim.fit(t.train_x, one_hot(t.train_y, t.classes), {.epochs = t.victim_epochs, .batch_size = 32, .verbose = 0});
  std::printf("# monitor: alarm below W %.2f, from %lld distances\n", monitor_options().alarm_below,
              static_cast<long long>(monitor_options().min_distances));
  std::printf("# %s: victim test accuracy %.3f; agreement measured on the %lld training rows\n", t.name.c_str(),
              1 - [&] {
                const auto p = labels_of(victim.predict(t.test_x));
                int64_t wrong = 0;
                for (size_t i = 0; i < p.size(); ++i) wrong += p[i] != int64_t(t.test_y[int64_t(i)]);
                return double(wrong) / double(p.size());
              }(), static_cast<long long>(t.train_x.shape(0)));
  std::printf("| attack | policy | queries | surrogate agreement | monitor alarm at query | last W |\n|---|---|---|---|---|---|\n");
  const std::vector<int64_t> budgets = t.classes > 2 ? std::vector<int64_t>{200, 1000, 5000}
                                                     : std::vector<int64_t>{50, 150, 500, 1500};
  for (const std::string policy_text : {"full", "round:1", "label"}) {
    const serving::OutputPolicy policy = serving::OutputPolicy::parse(policy_text, "study");
    for (int64_t budget : budgets) {
      for (const std::string attack : {"real rows", "Papernot synthetic", "boundary search"}) {
        if (attack == "real rows" && budget > t.test_x.shape(0)) continue;
        const Result r = attack == "real rows"            ? real_row_attack(t, victim, policy, budget)
                         : attack == "Papernot synthetic" ? papernot_attack(t, victim, policy, budget)
                                                          : boundary_search_attack(t, victim, policy, budget);
        std::printf("| %s | %s | %lld | %.3f | %s | %.3f |\n", attack.c_str(),
                    policy_text.c_str(), static_cast<long long>(r.queries), r.agreement,
                    r.alarm_at < 0 ? "none" : std::to_string(r.alarm_at).c_str(), r.w);
        std::fflush(stdout);
      }
    }
  }
  // Benign clients: real rows (training and test splits) in a random order, one per query.
  const Tensor real = concat_rows(t.train_x, t.test_x);
  const int64_t stream = std::min<int64_t>(real.shape(0), t.classes > 2 ? 5000 : real.shape(0));
  int alarms = 0;
  std::vector<int64_t> first_alarm;
  std::vector<double> lowest_w;  // each stream's lowest W once tested
  for (int s = 0; s < benign_streams; ++s) {
    std::vector<int64_t> order(static_cast<size_t>(real.shape(0)));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(1000 + s));
    order.resize(static_cast<size_t>(stream));
    serving::ExtractionMonitor monitor(monitor_options());
    Model& model = victim;
    const Tensor rows = take_rows(real, order);
    const auto labels = labels_of(model.predict(rows));
    double lowest = 1;
    for (int64_t r = 0; r < stream; ++r) {
      const serving::ExtractionState state = monitor.observe("benign", take_rows(rows, {r}), {labels[size_t(r)]});
      if (state.distances >= monitor.options().min_distances) lowest = std::min(lowest, state.w);
      if (state.raised_now) {
        ++alarms;
        first_alarm.push_back(r + 1);
      }
    }
    lowest_w.push_back(lowest);
    if (const char* dump = std::getenv("EXTRACTION_STUDY_DUMP"); dump && s == 0) {
      FILE* f = std::fopen((std::string(dump) + "-benign").c_str(), "w");
      for (double d : monitor.distances("benign")) std::fprintf(f, "%g\n", d);
      std::fclose(f);
    }
  }
  std::sort(lowest_w.begin(), lowest_w.end());
  std::printf("\nbenign streams of %lld real rows: %d of %d raised a false alarm", static_cast<long long>(stream),
              alarms, benign_streams);
  if (!first_alarm.empty()) std::printf(" (first at query %lld)", static_cast<long long>(*std::min_element(first_alarm.begin(), first_alarm.end())));
  std::printf("\nlowest W of each benign stream: min %.3f, 1st percentile %.3f, 5th %.3f, median %.3f\n",
              lowest_w.front(), lowest_w[lowest_w.size() / 100], lowest_w[lowest_w.size() / 20],
              lowest_w[lowest_w.size() / 2]);
}
