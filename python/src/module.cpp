// The extension module citadel._citadel; the Python package citadel wraps it.
#include <citadel/ops/precision.hpp>

#include "bindings.hpp"

PYBIND11_MODULE(_citadel, module) {
  module.doc() = "citadel's C++ library, as the Python package citadel uses it";
  module.attr("built_for") = CITADEL_PYTHON_INTERPRETER;
  module.def("bf16_instructions", &citadel::ops::bf16_instructions,
             "The processor's bf16 instructions as oneDNN sees them: 'AMX-BF16', 'AVX512-BF16' or 'none'");
  citadel::python::register_errors(module);
  citadel::python::register_model(module);
  citadel::python::register_graph(module);
  citadel::python::register_callbacks(module);
  citadel::python::register_protection(module);
  citadel::python::register_attacks_and_privacy(module);
  citadel::python::register_privacy_audits(module);
  citadel::python::register_interop(module);
  citadel::python::register_provenance(module);
  citadel::python::register_text(module);
  citadel::python::register_audio(module);
}
