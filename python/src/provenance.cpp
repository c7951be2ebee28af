// Ownership watermarks on served answers (DAWN): the key `serve --watermark` uses, and the test
// of a suspect against the log of watermarked answers, as `citadel watermark keygen/verify` do;
// and trigger-set watermarks in model files: the key's set, and the test of a model file.
#include <pybind11/stl.h>

#include <citadel/core/error.hpp>
#include <citadel/io/model_file.hpp>
#include <citadel/io/saved_model.hpp>
#include <citadel/provenance/served_watermark.hpp>
#include <citadel/provenance/trigger_set_watermark.hpp>
#include <nlohmann/json.hpp>
#include <citadel/serving/inference_protocol.hpp>
#include <citadel/serving/watermark_suspect.hpp>
#include <filesystem>
#include <memory>

#include "bindings.hpp"

namespace citadel::python {
namespace {

// A saved classifier's answers through the server's request path (watermark verify's).
SuspectAnswers file_answers(const std::string& path) {
  SavedModel saved = load_saved_model(path);
  CITADEL_CHECK(saved.metadata.count("schema"), ValueError, "watermark_verify: ", path,
                ": a model file without a schema (its classes unknown); pass a saved classifier "
                "(`citadel train --save`), a URL, or the model itself");
  auto served = std::make_shared<serving::ServedModel>();
  served->name = std::filesystem::path(path).stem().string();
  served->path = path;
  served->model = std::move(saved);
  served->policy = serving::OutputPolicy::parse("label", "watermark_verify");
  CITADEL_CHECK(served->model.classification() && !served->model.several_outputs(), ValueError,
                "watermark_verify: ", path, ": not a classifier of one output; a served watermark is a label");
  return serving::suspect_model_answers(std::move(served));
}

// A Python callable's answers: it gets the rows of a slice as one float32 array shaped
// (N, *record shape) and returns N class indices, compared with the recorded label's index.
SuspectAnswers callable_answers(py::object classify) {
  return [classify = std::move(classify)](const std::vector<WatermarkRecord>& records) {
    const WatermarkRecord& first = records.front();
    std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(records.size())};
    for (int64_t d : first.shape) shape.push_back(static_cast<py::ssize_t>(d));
    py::gil_scoped_acquire held;
    py::array_t<float> rows(shape);
    float* out = rows.mutable_data();
    for (const WatermarkRecord& r : records) {
      CITADEL_CHECK(r.shape == first.shape, ValueError,
                    "watermark_verify: the log mixes rows of two shapes; test one model's records at a time");
      out = std::copy(r.row.begin(), r.row.end(), out);
    }
    const py::array_t<int64_t, py::array::c_style | py::array::forcecast> answers(classify(rows));
    CITADEL_CHECK(answers.ndim() == 1 && answers.shape(0) == static_cast<py::ssize_t>(records.size()), ValueError,
                  "watermark_verify: the suspect returned ", answers.size(), " class indices for ", records.size(),
                  " rows (one index a row expected)");
    std::vector<std::string> labels(records.size());
    for (size_t i = 0; i < records.size(); ++i)  // the recorded name when the index is the recorded label
      if (answers.at(static_cast<py::ssize_t>(i)) == records[i].label) labels[i] = records[i].class_name;
    return labels;
  };
}

}  // namespace

void register_provenance(py::module_& module) {
  module.def("watermark_keygen", [](const std::string& path, bool overwrite) {
    generate_watermark_key(path, overwrite);
  });
  // suspect: a model file path or a KServe v2 URL (str), or a callable from rows to class indices.
  module.def("watermark_verify", [](const std::string& log_file, const py::object& suspect, int64_t max_queries,
                                    double alpha, const std::string& token) {
    const WatermarkLog log = read_watermark_log(log_file);
    SuspectAnswers answers;
    if (py::isinstance<py::str>(suspect)) {
      const std::string s = suspect.cast<std::string>();
      if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
        answers = serving::suspect_url_answers(s, token);
      } else {
        CITADEL_CHECK(token.empty(), ValueError, "watermark_verify: token= is for a URL suspect, not the model file ",
                      s);
        answers = file_answers(s);
      }
    } else {
      answers = callable_answers(suspect);
    }
    WatermarkVerdict v;
    {
      py::gil_scoped_release released;
      v = verify_served_watermark(log.records, answers, max_queries, alpha);
    }
    py::dict d;
    d["records"] = log.records.size();
    d["torn_records"] = log.torn;
    d["duplicate_records"] = log.duplicates;
    d["queries"] = v.queries;
    d["matches"] = v.matches;
    d["classes"] = v.classes;
    d["null_probability"] = v.null_probability;
    d["p_value"] = v.p_value;
    d["alpha"] = v.alpha;
    d["claimed"] = v.claimed;
    return d;
  });
  module.def("binomial_tail", &binomial_tail);
  // The key's trigger set for a model of that input shape and class count.
  module.def("trigger_set", [](const std::string& key_file, const std::vector<int64_t>& input_shape, int64_t classes,
                               int64_t size, float low, float high) {
    const TriggerSet set = make_trigger_set(WatermarkKey::load(key_file), Shape(input_shape), classes,
                                            {.size = size, .low = low, .high = high});
    std::vector<py::ssize_t> shape;
    for (int64_t d : set.x.shape().dims()) shape.push_back(static_cast<py::ssize_t>(d));
    py::array_t<float> x(shape);
    std::copy(set.x.data(), set.x.data() + set.x.numel(), x.mutable_data());
    py::array_t<int64_t> labels(static_cast<py::ssize_t>(set.labels.size()));
    std::copy(set.labels.begin(), set.labels.end(), labels.mutable_data());
    py::dict d;
    d["x"] = x;
    d["labels"] = labels;
    d["classes"] = set.classes;
    d["commitment"] = set.commitment;
    d["key_id"] = set.key_id;
    return d;
  });
  // A model file against the key's set, as `citadel watermark verify --trigger-set`: size and
  // range from the file's record unless given (size <= 0 or low >= high: not given).
  module.def("trigger_set_verify_file", [](const std::string& key_file, const std::string& path, int64_t size,
                                           float low, float high, double alpha) {
    const WatermarkKey key = WatermarkKey::load(key_file);
    LoadedModel loaded = load_model(path);
    nlohmann::json recorded;
    if (const auto found = loaded.metadata.find("trigger_set_watermark"); found != loaded.metadata.end()) {
      recorded = nlohmann::json::parse(found->second, nullptr, false);
      if (recorded.is_discarded() || !recorded.is_object()) recorded = nullptr;
    }
    TriggerSetOptions options;
    if (!recorded.is_null()) {
      options.size = recorded.value("size", options.size);
      options.low = recorded.value("low", options.low);
      options.high = recorded.value("high", options.high);
    }
    if (size > 0) options.size = size;
    if (low < high) options.low = low, options.high = high;
    Model& model = loaded.model;
    CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1 && model.output_shape().rank() == 1,
                  ValueError, "trigger_set_verify: ", path,
                  ": a trigger-set watermark is for a classifier of one input and one output");
    const TriggerSet set = make_trigger_set(key, model.input_shape(), model.output_shape()[0], options);
    std::string commitment = "absent";
    if (!recorded.is_null())
      commitment = recorded.value("commitment", std::string()) == set.commitment ? "matches" : "differs";
    TriggerSetVerdict v;
    {
      py::gil_scoped_release released;
      v = verify_trigger_set(model, set, alpha);
    }
    py::dict d;
    d["key_id"] = set.key_id;
    d["commitment"] = set.commitment;
    d["commitment_in_file"] = commitment;
    d["size"] = set.options.size;
    d["low"] = set.options.low;
    d["high"] = set.options.high;
    d["trials"] = v.trials;
    d["matches"] = v.matches;
    d["trigger_accuracy"] = v.accuracy;
    d["classes"] = v.classes;
    d["null_probability"] = v.null_probability;
    d["p_value"] = v.p_value;
    d["alpha"] = v.alpha;
    d["claimed"] = v.claimed;
    return d;
  });
}

}  // namespace citadel::python
