// What fit() and evaluate() do differently on a group of processes: agreeing on the data's
// global size, picking each rank's rows of a global batch, and merging what ranks computed.
#pragma once

#include <memory>
#include <vector>

#include "citadel/core/collective.hpp"
#include "citadel/core/parameter_store.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel::data_parallel {

// The global row count of stride-sharded data whose local part has `local_rows`; throws on
// every rank alike when some rank's count is not its stride shard's.
int64_t global_rows(int64_t local_rows, const Collective& group, const char* caller);

// The local indices of the global rows order[begin, end) that this rank holds.
void local_rows_of(const std::vector<int64_t>& order, int64_t begin, int64_t end, const Collective& group,
                   std::vector<int64_t>& local);

// Every metric's accumulation replaced by the merge of all ranks' (the same on every rank).
void merge_metrics(std::vector<std::unique_ptr<Metric>>& metrics, const Collective& group);

// Rank 0's weights and non-trainable state, on every rank.
void broadcast_parameters(ParameterStore& params, const Collective& group);

// Non-trainable state each rank updates from its own rows (BatchNormalization's moving
// statistics) replaced by its mean over the ranks, so the replicas stay equal.
void average_non_trainable(ParameterStore& params, const Collective& group);

// true on every rank when `requested` is true on any.
bool any(bool requested, const Collective& group);

}  // namespace citadel::data_parallel
