// Models served as tensors: a model file without a schema (a graph model of several inputs
// and outputs saved by the library, or imported) answers on its own Inputs and outputs.
#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

ServedModel tensor_served_model(const std::string& name, const std::string& path, Model model, Metadata metadata,
                                const OutputPolicy& policy) {
  // Top-k and label choose among a row's units: an output of one unit has nothing to choose.
  if (policy.kind == OutputPolicy::Kind::kTopK || policy.kind == OutputPolicy::Kind::kLabel) {
    const std::vector<std::string> names = model.output_names();
    const std::vector<Shape> shapes = model.output_shapes();
    for (size_t o = 0; o < names.size(); ++o)
      CITADEL_CHECK(shapes[o].numel() > 1, ValueError, "--output-policy ", policy.text(), ": output '", names[o],
                    "' of model '", name, "' (", path, ") has one unit per row, nothing to rank; use full or round:D");
  }
  ServedModel served{name, path, {}, policy};
  served.model.model = std::move(model);
  served.model.metadata = std::move(metadata);
  served.model.schema.label_type = LabelType::kValues;
  served.tensors = true;
  return served;
}

std::vector<Tensor> predict_tensors(const InferRequest& request, const ServedModel& served) {
  std::vector<ConstTensorView> inputs(request.tensors.begin(), request.tensors.end());
  return Predictor(served.model.model).predict(inputs);
}

Tensor tensor_query_rows(const InferRequest& request) {
  const int64_t rows = request.rows;
  int64_t width = 0;
  for (const Tensor& input : request.tensors) width += input.numel() / std::max<int64_t>(rows, 1);
  Tensor query(Shape{rows, width});
  int64_t column = 0;  // where the current input starts within a row
  for (const Tensor& input : request.tensors) {
    const int64_t w = input.numel() / std::max<int64_t>(rows, 1);
    for (int64_t r = 0; r < rows; ++r)
      std::copy_n(input.data() + r * w, w, query.data() + r * width + column);
    column += w;
  }
  return query;
}

std::vector<int64_t> tensor_predicted_classes(const std::vector<Tensor>& outputs) {
  CITADEL_CHECK(!outputs.empty(), ValueError, "a tensor model's prediction has no output");
  const Tensor& first = outputs.front();
  const int64_t rows = first.shape(0), units = rows == 0 ? 0 : first.numel() / rows;
  std::vector<int64_t> classes(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = first.data() + r * units;
    classes[size_t(r)] = units > 1 ? std::max_element(row, row + units) - row : (row[0] > 0.5f ? 1 : 0);
  }
  return classes;
}

}  // namespace citadel::serving
