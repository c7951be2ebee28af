#include "served_classifier.hpp"

#include "citadel/core/error.hpp"

namespace citadel::serving {

void check_served_classifier(const ServedModel& served, const std::string& where, const std::string& feature) {
  CITADEL_CHECK(!served.tensors, ValueError, where, ": model '", served.name,
                "' is a model file without a schema (served as tensors); ", feature,
                " needs a saved classifier (`citadel train`), whose classes it works with");
  const SavedModel& m = served.model;
  CITADEL_CHECK(m.classification() && !m.several_outputs(), ValueError, where, ": model '", served.name, "' ",
                m.several_outputs() ? "has several outputs" : "predicts numbers", "; ", feature,
                " takes a model of one classification output");
  // Each of these works on the rows a client sends as numbers; a speech model's rows are WAV
  // files whose features the server computes (noise, blends or a logged row to replay would
  // have to be defined on the waveform).
  CITADEL_CHECK(!m.audio, ValueError, where, ": model '", served.name, "' reads WAV files (a speech model); ", feature,
                " is not offered for speech models, only for models whose rows are numbers (images or features)");
  CITADEL_CHECK(m.model.input_count() == 1, ValueError, where, ": model '", served.name, "' takes ",
                m.model.input_count(), " inputs; ", feature, " takes a model of one input");
  CITADEL_CHECK(!m.schema.text, ValueError, where, ": model '", served.name, "' reads raw text (the column '",
                m.schema.text_column, "') as token ids; ", feature, " perturbs real-valued inputs, which ids are not");
  CITADEL_CHECK(m.model.input_dtypes()[0] == "float32", ValueError, where, ": model '", served.name,
                "' reads token ids (", m.model.input_dtypes()[0], "); ", feature,
                " perturbs real-valued inputs, which ids are not");
}

}  // namespace citadel::serving
