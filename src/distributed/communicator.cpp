// Communicator over MPI, or the group of one process when built without MPI (or run
// without a launcher). MPI's header stays in this file.
#include "citadel/distributed/communicator.hpp"

#include <climits>
#include <cstdlib>
#include <numeric>

#include "citadel/core/error.hpp"

#ifdef CITADEL_WITH_MPI
#include <mpi.h>
#endif

namespace citadel::distributed {

#ifdef CITADEL_WITH_MPI
struct Communicator::Handle {
  MPI_Comm comm = MPI_COMM_NULL;
  bool owned = false;  // split off: freed with the Communicator
  int rank = 0, size = 1;
  ~Handle() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned && !finalized) MPI_Comm_free(&comm);
  }
};

namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(detail::concat("MPI: ", call, " failed: ", std::string(text, static_cast<size_t>(length))));
}

int count_of(size_t n, const char* call) {
  CITADEL_CHECK(n <= size_t(INT_MAX), ValueError, "MPI: ", call, " of ", n, " values exceeds MPI's int count");
  return static_cast<int>(n);
}

// MPI_Finalize at exit, after every static Communicator is gone.
struct MpiSession {
  MpiSession() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as codes (turned into exceptions) instead of ending the job silently.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
};

}  // namespace

bool Communicator::mpi_built() { return true; }
#else
struct Communicator::Handle {
  int rank = 0, size = 1;
};
bool Communicator::mpi_built() { return false; }
#endif

bool Communicator::launched_by_mpi() {
  if (!mpi_built()) return false;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

Communicator& Communicator::world() {
  static Communicator world = [] {
    auto handle = std::make_unique<Handle>();
#ifdef CITADEL_WITH_MPI
    if (launched_by_mpi()) {
      static MpiSession session;
      handle->comm = MPI_COMM_WORLD;
      MPI_Comm_rank(MPI_COMM_WORLD, &handle->rank);
      MPI_Comm_size(MPI_COMM_WORLD, &handle->size);
    }
#endif
    return Communicator(std::move(handle));
  }();
  return world;
}

Communicator::Communicator(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
Communicator::Communicator(Communicator&&) noexcept = default;
Communicator& Communicator::operator=(Communicator&&) noexcept = default;
Communicator::~Communicator() = default;

int Communicator::rank() const { return handle_->rank; }
int Communicator::size() const { return handle_->size; }

#ifdef CITADEL_WITH_MPI
// A group of one (started without a launcher) has no MPI communicator: each call is the identity.
bool Communicator::alone() const { return handle_->comm == MPI_COMM_NULL; }

Communicator Communicator::split(int color, int key) const {
  auto handle = std::make_unique<Handle>();
  if (alone()) return Communicator(std::move(handle));
  check(MPI_Comm_split(handle_->comm, color, key, &handle->comm), "MPI_Comm_split");
  handle->owned = true;
  MPI_Comm_set_errhandler(handle->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(handle->comm, &handle->rank);
  MPI_Comm_size(handle->comm, &handle->size);
  return Communicator(std::move(handle));
}

void Communicator::all_reduce_sum(std::span<float> values) const {
  if (alone() || values.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"), MPI_FLOAT, MPI_SUM,
                      handle_->comm), "MPI_Allreduce");
}

void Communicator::all_reduce_sum(std::span<double> values) const {
  if (alone() || values.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"), MPI_DOUBLE, MPI_SUM,
                      handle_->comm), "MPI_Allreduce");
}

void Communicator::all_reduce_max(std::span<double> values) const {
  if (alone() || values.empty()) return;
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size(), "MPI_Allreduce"), MPI_DOUBLE, MPI_MAX,
                      handle_->comm), "MPI_Allreduce");
}

std::vector<double> Communicator::all_gather(std::span<const double> values, std::vector<int64_t>* counts) const {
  if (alone()) {
    if (counts) *counts = {static_cast<int64_t>(values.size())};
    return {values.begin(), values.end()};
  }
  const int mine = count_of(values.size(), "MPI_Allgatherv");
  std::vector<int> sizes(static_cast<size_t>(handle_->size)), offsets(sizes.size());
  check(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, handle_->comm), "MPI_Allgather");
  int64_t total = 0;
  for (size_t r = 0; r < sizes.size(); ++r) {
    CITADEL_CHECK(total + sizes[r] <= INT_MAX, ValueError, "MPI: all_gather of more than INT_MAX values");
    offsets[r] = static_cast<int>(total);
    total += sizes[r];
  }
  std::vector<double> gathered(static_cast<size_t>(total));
  check(MPI_Allgatherv(values.data(), mine, MPI_DOUBLE, gathered.data(), sizes.data(), offsets.data(), MPI_DOUBLE,
                       handle_->comm), "MPI_Allgatherv");
  if (counts) counts->assign(sizes.begin(), sizes.end());
  return gathered;
}

void Communicator::broadcast(std::span<float> values, int root) const {
  if (alone() || values.empty()) return;
  check(MPI_Bcast(values.data(), count_of(values.size(), "MPI_Bcast"), MPI_FLOAT, root, handle_->comm), "MPI_Bcast");
}

void Communicator::broadcast(std::span<uint64_t> values, int root) const {
  if (alone() || values.empty()) return;
  check(MPI_Bcast(values.data(), count_of(values.size(), "MPI_Bcast"), MPI_UINT64_T, root, handle_->comm),
        "MPI_Bcast");
}

void Communicator::barrier() const {
  if (!alone()) check(MPI_Barrier(handle_->comm), "MPI_Barrier");
}

void abort_job(int exit_code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && Communicator::world().size() > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
}
#else
Communicator Communicator::split(int, int) const { return Communicator(std::make_unique<Handle>()); }
void Communicator::all_reduce_sum(std::span<float>) const {}
void Communicator::all_reduce_sum(std::span<double>) const {}
void Communicator::all_reduce_max(std::span<double>) const {}
std::vector<double> Communicator::all_gather(std::span<const double> values, std::vector<int64_t>* counts) const {
  if (counts) *counts = {static_cast<int64_t>(values.size())};
  return {values.begin(), values.end()};
}
void Communicator::broadcast(std::span<float>, int) const {}
void Communicator::broadcast(std::span<uint64_t>, int) const {}
void Communicator::barrier() const {}
void abort_job(int) {}
#endif

}  // namespace citadel::distributed
