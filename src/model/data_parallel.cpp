// Data-parallel helpers of fit() and evaluate(); see data_parallel.hpp.
#include "data_parallel.hpp"

#include "citadel/core/error.hpp"

namespace citadel::data_parallel {

int64_t global_rows(int64_t local_rows, const Collective& group, const char* caller) {
  std::vector<int64_t> counts;
  const double mine = double(local_rows);
  const std::vector<double> all = group.all_gather(std::span<const double>(&mine, 1), &counts);
  int64_t total = 0;
  for (double rows : all) total += static_cast<int64_t>(rows);
  for (int r = 0; r < group.size(); ++r) {
    const int64_t expected = shard_row_count(total, r, group.size());
    CITADEL_CHECK(static_cast<int64_t>(all[size_t(r)]) == expected, ValueError, caller, ": rank ", r, " of ",
                  group.size(), " holds ", static_cast<int64_t>(all[size_t(r)]), " rows, but its share of the ",
                  total, " rows is ", expected, " (rows ", r, ", ", r + group.size(), ", ...: give each rank "
                  "shard_rows(x, communicator))");
  }
  return total;
}

void local_rows_of(const std::vector<int64_t>& order, int64_t begin, int64_t end, const Collective& group,
                   std::vector<int64_t>& local) {
  local.clear();
  const int64_t size = group.size(), rank = group.rank();
  for (int64_t j = begin; j < end; ++j)
    if (order[size_t(j)] % size == rank) local.push_back(order[size_t(j)] / size);
}

void merge_metrics(std::vector<std::unique_ptr<Metric>>& metrics, const Collective& group) {
  for (auto& metric : metrics) {
    const std::vector<double> mine = metric->state();
    std::vector<int64_t> counts;
    const std::vector<double> all = group.all_gather(mine, &counts);
    metric->reset(0);
    size_t offset = 0;
    for (int64_t count : counts) {
      metric->merge(std::span<const double>(all.data() + offset, size_t(count)));
      offset += size_t(count);
    }
  }
}

void broadcast_parameters(ParameterStore& params, const Collective& group) { group.broadcast(params.values()); }

void average_non_trainable(ParameterStore& params, const Collective& group) {
  const std::span<float> state = params.state_values();  // frozen weights are the same everywhere already
  if (state.empty()) return;
  group.all_reduce_sum(state);
  const float ranks = static_cast<float>(group.size());
  for (float& value : state) value /= ranks;
}

bool any(bool requested, const Collective& group) {
  double flag = requested ? 1.0 : 0.0;
  group.all_reduce_max(std::span<double>(&flag, 1));
  return flag > 0;
}

}  // namespace citadel::data_parallel
