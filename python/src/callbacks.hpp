// Callbacks from Python: citadel's own (EarlyStopping, ...) wrapped as NativeCallback,
// and Python objects with Keras's hooks (on_epoch_end(epoch, logs), ...) called through a
// trampoline that takes the GIL only for the hooks the object overrides.
#pragma once

#include <memory>
#include <vector>

#include <citadel/model/callbacks.hpp>

#include "bindings.hpp"

namespace citadel::python {

// A library callback held by a Python object (citadel.keras.callbacks keeps one inside
// each of its native callbacks).
struct NativeCallback {
  std::unique_ptr<Callback> callback;
};

// What fit() runs: `callbacks` in order (NativeCallback or Python objects), then a check
// for Ctrl-C. `owner` is the Python model, whose stop_training attribute a Python callback
// may set. Built and destroyed with the GIL held.
struct FitCallbacks {
  std::vector<std::unique_ptr<Callback>> owned;
  std::vector<CallbackRef> refs;
};
FitCallbacks fit_callbacks(const py::list& callbacks, const py::object& owner);

}  // namespace citadel::python
