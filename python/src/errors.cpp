// citadel's exceptions as the Python ones a Keras user expects: shape and value mistakes
// are ValueError, files OSError, failed signatures and decryption citadel.SecurityError.
#include <citadel/core/error.hpp>

#include <cstring>

#include "bindings.hpp"

namespace citadel::python {

namespace {

// Raises `type` with the message as text even where it is not valid UTF-8 (bytes a hostile
// file put there): PyErr_SetString would raise it with no message at all.
void raise_with_message(PyObject* type, const char* what) {
  PyObject* message = PyUnicode_DecodeUTF8(what, static_cast<Py_ssize_t>(std::strlen(what)), "backslashreplace");
  if (message == nullptr) return;  // the decoding error is raised instead
  PyErr_SetObject(type, message);
  Py_DECREF(message);
}

}  // namespace

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
      raise_with_message(security_error.ptr(), error.what());
    } catch (const ShapeError& error) {
      raise_with_message(PyExc_ValueError, error.what());
    } catch (const ValueError& error) {
      raise_with_message(PyExc_ValueError, error.what());
    } catch (const IoError& error) {
      raise_with_message(file_error.ptr(), error.what());
    } catch (const NotImplementedError& error) {
      raise_with_message(PyExc_NotImplementedError, error.what());
    } catch (const Error& error) {
      raise_with_message(PyExc_RuntimeError, error.what());
    }
  });
}

}  // namespace citadel::python
