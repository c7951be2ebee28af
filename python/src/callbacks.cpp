// The callback trampoline, the Ctrl-C check, and the library's callbacks made from Python.
#include "callbacks.hpp"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <chrono>
#include <set>
#include <string>

#include <citadel/core/error.hpp>
#include <citadel/model/sequential.hpp>

namespace citadel::python {
namespace {

py::dict logs_to_dict(const Logs& logs) {
  py::dict dict;
  for (const auto& [key, value] : logs) dict[py::str(key)] = value;
  return dict;
}

// A Python object with Keras's callback hooks. Hooks it does not override are never
// called, so a callback acting once an epoch costs nothing per batch.
class PythonCallback final : public Callback {
 public:
  PythonCallback(py::object callback, py::object owner) : callback_(std::move(callback)), owner_(std::move(owner)) {
    for (const auto& name : callback_.attr("_overridden_hooks")()) overridden_.insert(py::cast<std::string>(name));
  }
  ~PythonCallback() override {
    py::gil_scoped_acquire gil;
    callback_ = py::object();
    owner_ = py::object();
  }
  std::unique_ptr<Callback> clone() const override {
    throw InternalError("a Python callback is passed by reference, never copied");
  }

  // Python objects (the logs dicts included) are made only once the GIL is held.
  void on_train_begin(citadel::Model& model) override { call("on_train_begin", model); }
  void on_train_end(citadel::Model& model) override { call("on_train_end", model); }
  void on_epoch_begin(int epoch, citadel::Model& model) override { call("on_epoch_begin", model, epoch); }
  void on_epoch_end(int epoch, Logs& logs, citadel::Model& model) override {
    if (!overridden_.count("on_epoch_end")) return;
    py::gil_scoped_acquire gil;
    py::dict dict = logs_to_dict(logs);
    callback_.attr("on_epoch_end")(epoch, dict);
    // Keras lets a callback add figures to the logs; numbers it adds enter the History.
    for (const auto& [key, value] : dict) {
      if (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value))
        logs[py::cast<std::string>(key)] = py::cast<double>(value);
    }
    check_stop(model);
  }
  void on_batch_begin(int64_t step, citadel::Model& model) override {
    call("on_train_batch_begin", model, step);
  }
  void on_batch_end(int64_t step, double loss, citadel::Model& model) override {
    if (!overridden_.count("on_train_batch_end")) return;
    py::gil_scoped_acquire gil;
    py::dict logs;
    logs["loss"] = loss;
    callback_.attr("on_train_batch_end")(step, logs);
    check_stop(model);
  }

 private:
  // hook(arguments..., logs={}) for plain C++ arguments.
  template <typename... Arguments>
  void call(const char* hook, citadel::Model& model, Arguments... arguments) {
    if (!overridden_.count(hook)) return;
    py::gil_scoped_acquire gil;
    callback_.attr(hook)(arguments..., py::dict());
    check_stop(model);
  }
  // Keras's way for a callback to end training: self.model.stop_training = True.
  void check_stop(citadel::Model& model) {
    if (owner_ && py::hasattr(owner_, "stop_training") && py::bool_(owner_.attr("stop_training")))
      model.stop_training("a callback set model.stop_training");
  }

  py::object callback_, owner_;
  std::set<std::string> overridden_;
};

// Ctrl-C during fit: Python's handler only sets a flag, which nothing reads while fit runs
// without the GIL; this takes the GIL after a step every 20 ms to run the handlers. The
// KeyboardInterrupt leaves fit between steps, so the weights are those of a whole step.
class InterruptCheck final : public Callback {
 public:
  std::unique_ptr<Callback> clone() const override { return std::make_unique<InterruptCheck>(*this); }
  void on_batch_end(int64_t step, double loss, citadel::Model& model) override {
    (void)step, (void)loss, (void)model;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(20)) return;
    last_ = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

MonitorMode monitor_mode(const std::string& mode) {
  if (mode == "auto") return MonitorMode::kAuto;
  if (mode == "min") return MonitorMode::kMin;
  if (mode == "max") return MonitorMode::kMax;
  throw ValueError("mode: expected 'auto', 'min' or 'max', got '" + mode + "'");
}

// A Python function kept by a library callback: copied and released with the GIL held,
// since the library may copy or drop callbacks anywhere.
struct PythonFunction {
  std::shared_ptr<py::object> function;
  explicit PythonFunction(py::object f)
      : function(new py::object(std::move(f)), [](py::object* pointer) {
          py::gil_scoped_acquire gil;
          delete pointer;
        }) {}
};

}  // namespace

FitCallbacks fit_callbacks(const py::list& callbacks, const py::object& owner) {
  FitCallbacks result;
  for (const py::handle& item : callbacks) {
    if (py::isinstance<NativeCallback>(item)) {
      result.refs.emplace_back(py::cast<NativeCallback&>(item).callback.get());
    } else if (py::hasattr(item, "_native")) {
      result.refs.emplace_back(py::cast<NativeCallback&>(item.attr("_native")).callback.get());
    } else {
      result.owned.push_back(std::make_unique<PythonCallback>(py::reinterpret_borrow<py::object>(item), owner));
      result.refs.emplace_back(result.owned.back().get());
    }
  }
  result.owned.push_back(std::make_unique<InterruptCheck>());
  result.refs.emplace_back(result.owned.back().get());
  return result;
}

void register_callbacks(py::module_& module) {
  py::class_<NativeCallback>(module, "NativeCallback")
      .def_property_readonly("stopped_epoch",
                             [](const NativeCallback& self) {
                               auto* early = dynamic_cast<const EarlyStopping*>(self.callback.get());
                               return early ? early->stopped_epoch() : -1;
                             })
      .def_property_readonly("best_epoch", [](const NativeCallback& self) {
        auto* early = dynamic_cast<const EarlyStopping*>(self.callback.get());
        return early ? early->best_epoch() : -1;
      });

  module.def("early_stopping", [](const std::string& monitor, double min_delta, int patience, const std::string& mode,
                                  bool restore_best_weights, int start_from_epoch) {
    EarlyStoppingOptions options{monitor, min_delta, patience, monitor_mode(mode), restore_best_weights,
                                 start_from_epoch};
    return NativeCallback{std::make_unique<EarlyStopping>(options)};
  });
  module.def("reduce_lr_on_plateau", [](const std::string& monitor, double factor, int patience,
                                        const std::string& mode, double min_delta, int cooldown, double min_lr) {
    ReduceLROnPlateauOptions options{monitor, factor, patience, monitor_mode(mode), min_delta, cooldown, min_lr};
    return NativeCallback{std::make_unique<ReduceLROnPlateau>(options)};
  });
  module.def("learning_rate_scheduler", [](py::object schedule) {
    PythonFunction held(std::move(schedule));
    auto call = [held](int epoch, double rate) {
      py::gil_scoped_acquire gil;
      return py::cast<double>((*held.function)(epoch, rate));
    };
    return NativeCallback{std::make_unique<LearningRateScheduler>(call)};
  });
  module.def("terminate_on_nan", [] { return NativeCallback{std::make_unique<TerminateOnNaN>()}; });
  module.def("csv_logger", [](const std::string& path, const std::string& separator, bool append) {
    CITADEL_CHECK(separator.size() == 1, ValueError, "CSVLogger: separator must be one character, got '", separator,
                  "'");
    return NativeCallback{std::make_unique<CSVLogger>(path, CSVLoggerOptions{separator[0], append})};
  });
}

}  // namespace citadel::python
