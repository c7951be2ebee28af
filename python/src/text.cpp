// Keras's TextVectorization for Python: citadel.keras.layers.TextVectorization holds one of
// these (the library's rules, bounds and messages) and gives numpy arrays of ids.
#include <pybind11/stl.h>

#include <citadel/data/text_vectorization.hpp>

#include "bindings.hpp"

namespace citadel::python {

void register_text(py::module_& module) {
  py::class_<TextVectorization>(module, "TextVectorization")
      .def(py::init([](std::optional<int64_t> max_tokens, std::optional<int64_t> output_sequence_length,
                       const std::string& standardize) {
             return TextVectorization({.max_tokens = max_tokens,
                                       .output_sequence_length = output_sequence_length,
                                       .standardize = standardize});
           }),
           py::arg("max_tokens"), py::arg("output_sequence_length"), py::arg("standardize"))
      .def("adapt", &TextVectorization::adapt, py::arg("rows"), py::call_guard<py::gil_scoped_release>())
      // int64 ids, as Keras's layer returns them (exact: the library's float32 ids are integers below 2^24).
      .def(
          "transform",
          [](const TextVectorization& text, const std::vector<std::string>& rows) {
            Tensor ids;
            {
              py::gil_scoped_release released;
              ids = text.transform(rows);
            }
            py::array_t<int64_t> out({static_cast<py::ssize_t>(ids.shape(0)), static_cast<py::ssize_t>(ids.shape(1))});
            int64_t* data = out.mutable_data();
            for (int64_t i = 0; i < ids.numel(); ++i) data[i] = static_cast<int64_t>(ids[i]);
            return out;
          },
          py::arg("rows"))
      .def("set_vocabulary", &TextVectorization::set_vocabulary, py::arg("tokens"))
      .def("vocabulary", &TextVectorization::vocabulary)
      .def("vocabulary_size", &TextVectorization::vocabulary_size)
      .def("has_vocabulary", &TextVectorization::has_vocabulary)
      .def("to_json", &TextVectorization::to_json)
      .def_static("from_json", [](const std::string& record) { return TextVectorization::from_json(record); });
  module.def("read_vocabulary_file", &read_vocabulary_file, py::arg("path"),
             "A vocabulary file's tokens (one a line), as `citadel train --vocabulary` reads it");
}

}  // namespace citadel::python
