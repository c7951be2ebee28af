// citadel's exceptions as the Python ones a Keras user expects: shape and value mistakes
// are ValueError, files OSError, failed signatures and decryption citadel.SecurityError.
#include <citadel/core/error.hpp>

#include "bindings.hpp"

namespace citadel::python {

void register_errors(py::module_& module) {
  static py::exception<SecurityError> security_error(module, "SecurityError", PyExc_Exception);
  security_error.doc() = "A model file or checkpoint failed its signature, decryption or integrity check.";
  // A file that cannot be read or is malformed: an OSError, and a ValueError as Keras 3's
  // load_model raises, so that either habit catches it.
  static py::handle file_error = PyErr_NewExceptionWithDoc(
      "citadel.FileError", "A file citadel cannot read or write, or whose contents are malformed.",
      py::make_tuple(py::handle(PyExc_OSError), py::handle(PyExc_ValueError)).release().ptr(), nullptr);
  module.attr("FileError") = file_error;
  py::register_exception_translator([](std::exception_ptr pointer) {
    if (!pointer) return;
    try {
      std::rethrow_exception(pointer);
    } catch (const SecurityError& error) {
      security_error(error.what());
    } catch (const ShapeError& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const ValueError& error) {
      PyErr_SetString(PyExc_ValueError, error.what());
    } catch (const IoError& error) {
      PyErr_SetString(file_error.ptr(), error.what());
    } catch (const NotImplementedError& error) {
      PyErr_SetString(PyExc_NotImplementedError, error.what());
    } catch (const Error& error) {
      PyErr_SetString(PyExc_RuntimeError, error.what());
    }
  });
}

}  // namespace citadel::python
