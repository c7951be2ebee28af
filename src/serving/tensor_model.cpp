// Models served as tensors: a model file without a schema (a graph model of several inputs
// and outputs saved by the library, or imported) answers on its own Inputs and outputs.
#include "citadel/core/error.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

ServedModel tensor_served_model(const std::string& name, const std::string& path, Model model, Metadata metadata,
                                const OutputPolicy& policy) {
  // Top-k and label need classes; a tensor model's outputs are numbers without names.
  CITADEL_CHECK(policy.kind == OutputPolicy::Kind::kFull || policy.kind == OutputPolicy::Kind::kRound, ValueError,
                "--output-policy ", policy.text(), ": model '", name, "' (", path,
                ") has no schema and is served as tensors; use full or round:D (applied to every output)");
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

}  // namespace citadel::serving
