// The extension module citadel._citadel; the Python package citadel wraps it.
#include "bindings.hpp"

PYBIND11_MODULE(_citadel, module) {
  module.doc() = "citadel's C++ library, as the Python package citadel uses it";
  module.attr("built_for") = CITADEL_PYTHON_INTERPRETER;
  citadel::python::register_errors(module);
  citadel::python::register_model(module);
  citadel::python::register_callbacks(module);
  citadel::python::register_protection(module);
  citadel::python::register_attacks_and_privacy(module);
}
