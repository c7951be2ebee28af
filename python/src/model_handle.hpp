// The model object the extension hands to Python: a Sequential, with the data schema and
// preprocessing of a model trained by the CLI when it was loaded from one, and the lock
// that keeps two Python threads from computing with it at once (a callback calling
// predict during fit is the same thread, so the lock is re-entrant).
#pragma once

#include <mutex>

#include <citadel/io/saved_model.hpp>

namespace citadel::python {

struct Model {
  SavedModel saved;  // schema and preprocessing are empty unless the file had them
  bool has_schema = false;
  std::recursive_mutex lock;

  citadel::Model& sequential() { return saved.model; }
};

using ModelLock = std::lock_guard<std::recursive_mutex>;
using Lock = ModelLock;

}  // namespace citadel::python
