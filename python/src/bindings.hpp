// What the binding files share: numpy conversions and each file's registration function.
// The extension is a thin user of the library: every check and message is the library's.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <citadel/core/tensor.hpp>
#include <citadel/io/encryption.hpp>
#include <citadel/model/model.hpp>
#include <functional>

namespace citadel::python {

namespace py = pybind11;

// What every array argument becomes: float32, C-contiguous. pybind11 converts anything
// else (float64, ints, strided views, nested lists) once; such an array passes as is.
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A view of the array's data, shaped as the array; `argument` names it in errors.
ConstTensorView view_of(const FloatArray& array, const char* argument);
// A numpy array owning the tensor's storage (moved, not copied).
py::array_t<float> to_numpy(Tensor tensor);
// A key file or a passphrase (either may be empty), as the Python calls take them.
EncryptionKey encryption_key(const std::string& key_file, const std::string& passphrase);

// Native models from a Python function that returns a fresh, compiled one (LiRA's shadows, a
// membership audit's reference, the DP audit's runs), called with the GIL held.
std::function<citadel::Model()> native_models(const py::object& make);

void register_errors(py::module_& module);
void register_model(py::module_& module);
void register_callbacks(py::module_& module);
void register_protection(py::module_& module);
void register_attacks_and_privacy(py::module_& module);
void register_privacy_audits(py::module_& module);
void register_interop(py::module_& module);
void register_provenance(py::module_& module);
void register_graph(py::module_& module);  // after register_model
void register_text(py::module_& module);
void register_audio(py::module_& module);

}  // namespace citadel::python
