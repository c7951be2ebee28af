// citadel::distributed::Communicator: an MPI communicator (the world, or a part split off
// it) as the Collective that fit() and evaluate() use for data-parallel training. Built
// with Open MPI when CMake finds it; without MPI, world() is the one-process group and the
// rest of citadel is unchanged.
#pragma once

#include <memory>
#include <string>

#include "citadel/core/collective.hpp"

namespace citadel::distributed {

class Communicator final : public Collective {
 public:
  // MPI_COMM_WORLD. MPI is initialized on the first call when this process was started by
  // an MPI launcher (mpirun, srun: it sets OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_RANK) and
  // finalized at exit; a process started alone gets a world of one without touching MPI.
  static Communicator& world();
  // Whether this build has MPI at all.
  static bool mpi_built();
  // Whether world() spans processes started by an MPI launcher.
  static bool launched_by_mpi();

  // MPI_Comm_split: ranks giving the same color form one communicator, ordered by key.
  Communicator split(int color, int key) const;

  Communicator(Communicator&&) noexcept;
  Communicator& operator=(Communicator&&) noexcept;
  ~Communicator() override;

  int rank() const override;
  int size() const override;
  void all_reduce_sum(std::span<float> values) const override;
  void all_reduce_sum(std::span<double> values) const override;
  void all_reduce_max(std::span<double> values) const override;
  std::vector<double> all_gather(std::span<const double> values,
                                 std::vector<int64_t>* counts = nullptr) const override;
  void broadcast(std::span<float> values, int root = 0) const override;
  void broadcast(std::span<uint64_t> values, int root = 0) const override;
  void barrier() const;

 private:
  struct Handle;
  explicit Communicator(std::unique_ptr<Handle> handle);
  bool alone() const;
  std::unique_ptr<Handle> handle_;
};

// Ends every process of the job (MPI_Abort) after a rank's unrecoverable error, so that the
// others do not wait forever in a collective call. Returns (does nothing) outside MPI.
void abort_job(int exit_code);

}  // namespace citadel::distributed
