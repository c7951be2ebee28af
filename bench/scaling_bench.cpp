// Data-parallel scaling on this machine (docs/SCALING.md), run under mpirun with 1 or more
// ranks: W2 and W3 trained one epoch on each rank's stride shard (samples/s of the whole
// group), and the all-reduce of a float buffer timed for sizes from 4 KB to 400 MB, with
// the bus bandwidth the ring cost model 2(N−1)/N · bytes / t implies. Rank 0 prints one
// JSON object per figure, as citadel_bench. Not a test: it asserts nothing.
//
//   mpirun -np N scaling_bench [w2|w3|allreduce]... [--max-floats F]
#include <citadel/citadel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "citadel/distributed/communicator.hpp"
#include "workload_models.hpp"

using namespace citadel;
using citadel::bench::w2_model;
using citadel::bench::w3_model;

namespace {

using Clock = std::chrono::steady_clock;
const distributed::Communicator& group() { return distributed::Communicator::world(); }

double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

void report(const char* workload, const char* metric, double value, const char* unit, double extra = -1,
            const char* extra_name = nullptr) {
  if (!group().is_root()) return;
  std::printf("{\"workload\": \"%s\", \"ranks\": %d, \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"",
              workload, group().size(), metric, value, unit);
  if (extra_name) std::printf(", \"%s\": %.6g", extra_name, extra);
  std::printf("}\n");
  std::fflush(stdout);
}

void train(const char* name, Sequential (*make)(const std::string&), int64_t rows) {
  ImageDataset data = load_fashion_mnist();
  scale_pixels(data.x_train.view());
  std::vector<int64_t> first(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) first[size_t(i)] = i;
  const Tensor x = shard_rows(take_rows(data.x_train, first), group());
  const Tensor y = shard_rows(take_rows(data.y_train, first), group());
  random::set_seed(42);
  Sequential model = make("float32");
  model.fit(x, y, {.epochs = 1, .batch_size = 128, .verbose = 0, .communicator = &group()});  // warm-up
  std::vector<double> times;
  for (int rep = 0; rep < 3; ++rep) {
    group().barrier();
    const double start = now();
    model.fit(x, y, {.epochs = 1, .batch_size = 128, .verbose = 0, .communicator = &group()});
    group().barrier();
    times.push_back(now() - start);
  }
  std::sort(times.begin(), times.end());
  report(name, "train samples/s", double(rows) / times[1], "samples/s", double(model.count_params()), "parameters");
}

void allreduce(int64_t max_floats) {
  const int ranks = group().size();
  for (int64_t floats = 1024; floats <= max_floats; floats *= 4) {
    std::vector<float> buffer(static_cast<size_t>(floats), 1.0f);
    const int reps = floats <= (1 << 20) ? 50 : floats <= (1 << 24) ? 10 : 3;
    group().all_reduce_sum(buffer);  // warm-up: connections, pages
    std::vector<double> times;
    for (int rep = 0; rep < reps; ++rep) {
      group().barrier();
      const double start = now();
      group().all_reduce_sum(buffer);
      times.push_back(now() - start);
    }
    std::sort(times.begin(), times.end());
    const double t = times[times.size() / 2], bytes = double(floats) * 4;
    const double bus = ranks > 1 ? 2.0 * (ranks - 1) / ranks * bytes / t / 1e9 : 0;
    report("allreduce", ("float32 x " + std::to_string(floats)).c_str(), t * 1e6, "us", bus, "bus_GB_per_s");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> workloads;
  int64_t max_floats = 100'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--max-floats") == 0 && i + 1 < argc) max_floats = std::stoll(argv[++i]);
    else workloads.emplace_back(argv[i]);
  }
  if (workloads.empty()) workloads = {"w2", "w3", "allreduce"};
  try {
    for (const std::string& w : workloads) {
      if (w == "w2") train("W2", w2_model, 60000);
      else if (w == "w3") train("W3", w3_model, 10000);
      else if (w == "allreduce") allreduce(max_floats);
      else throw ValueError("scaling_bench: unknown workload '" + w + "' (w2, w3, allreduce)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    distributed::abort_job(1);
    return 1;
  }
  return 0;
}
