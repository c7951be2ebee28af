// Communicator::world() in a process started without an MPI launcher (as every CTest case
// but the mpirun ones): a group of one that never initializes MPI, where every collective
// is the identity. The mpirun cases are in data_parallel_test.cpp.
#include <gtest/gtest.h>

#include <cstdlib>

#include "citadel/distributed/communicator.hpp"

namespace communicator_test {

using namespace citadel;

TEST(Communicator, WorldWithoutALauncherIsOneProcess) {
  ASSERT_FALSE(distributed::Communicator::launched_by_mpi()) << "run this one without mpirun";
  const distributed::Communicator& world = distributed::Communicator::world();
  EXPECT_EQ(world.size(), 1);
  EXPECT_EQ(world.rank(), 0);
  std::vector<float> values{2.5f};
  world.all_reduce_sum(values);
  EXPECT_EQ(values[0], 2.5f);
  std::vector<int64_t> counts;
  const std::vector<double> mine{1.0, 2.0};
  EXPECT_EQ(world.all_gather(mine, &counts), mine);
  EXPECT_EQ(counts, (std::vector<int64_t>{2}));
  const distributed::Communicator part = world.split(0, 0);
  EXPECT_EQ(part.size(), 1);
  world.barrier();
  distributed::abort_job(3);  // outside a job: returns
}

}  // namespace communicator_test
