// The collective operations data-parallel training needs from a group of processes (one
// model replica per process, "rank"). fit() and evaluate() take one through
// FitOptions::communicator; citadel::distributed::Communicator implements it over MPI, and
// Collective::single() is the group of one process. Every rank must make the same calls in
// the same order, as with MPI itself.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  // In place: every rank ends with the element-wise sum over all ranks.
  virtual void all_reduce_sum(std::span<float> values) const = 0;
  virtual void all_reduce_sum(std::span<double> values) const = 0;
  // In place: every rank ends with the element-wise maximum (agreeing on a flag).
  virtual void all_reduce_max(std::span<double> values) const = 0;
  // Every rank's `values` (of any length), concatenated in rank order; `counts` receives
  // each rank's length when given.
  virtual std::vector<double> all_gather(std::span<const double> values,
                                         std::vector<int64_t>* counts = nullptr) const = 0;
  // root's values, copied to every rank.
  virtual void broadcast(std::span<float> values, int root = 0) const = 0;
  virtual void broadcast(std::span<uint64_t> values, int root = 0) const = 0;

  // The group of this process alone: every operation is the identity.
  static const Collective& single();
};

// Data-parallel training shards rows by stride: rank r of n holds global rows r, r + n,
// r + 2n, ... (so every rank's share stays within one row of the others, and a global
// row's owner and local index follow from its number).
int64_t shard_row_count(int64_t global_rows, int rank, int size);
// The rows of `all` that rank `rank` of `size` holds.
Tensor shard_rows(ConstTensorView all, int rank, int size);
inline Tensor shard_rows(ConstTensorView all, const Collective& group) {
  return shard_rows(all, group.rank(), group.size());
}

}  // namespace citadel
