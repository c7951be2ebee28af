// The audits of privacy that train or query models of their own: the DP self-audit (fresh
// models trained with canaries) and attribute inference.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <citadel/privacy/attribute_inference.hpp>
#include <citadel/privacy/dp_audit.hpp>

#include "bindings.hpp"
#include "model_handle.hpp"

namespace citadel::python {

void register_privacy_audits(py::module_& module) {
  // The DP self-audit (a model of one input): make_model as lira_audit's make_shadow; each run
  // trains a fresh model with canaries through fit_private.
  module.def("dp_audit", [](const FloatArray& x, const FloatArray& y, int epochs, int64_t batch_size,
                            const py::dict& dp, const py::dict& audit, const py::object& make_model) {
    const ConstTensorView xs = view_of(x, "x"), ys = view_of(y, "y");
    const std::function<citadel::Model()> fresh = native_models(make_model);
    DPSGDOptions options{.l2_norm_clip = dp["l2_norm_clip"].cast<float>(),
                         .noise_multiplier = dp["noise_multiplier"].cast<double>(),
                         .delta = dp["delta"].cast<double>()};
    if (!dp["target_epsilon"].is_none()) options.target_epsilon = dp["target_epsilon"].cast<double>();
    DpAuditOptions settings{.gradient_canaries = audit["gradient_canaries"].cast<int64_t>(),
                            .input_canaries = audit["input_canaries"].cast<int64_t>(),
                            .runs = audit["runs"].cast<int>(),
                            .confidence = audit["confidence"].cast<double>()};
    if (!audit["seed"].is_none()) settings.seed = audit["seed"].cast<uint64_t>();
    DpAuditResult result;
    {
      py::gil_scoped_release released;
      result = audit_private_training(fresh, xs, ys, FitOptions{.epochs = epochs, .batch_size = batch_size, .verbose = 0},
                                      options, settings);
    }
    py::dict d;
    d["claimed_epsilon"] = result.claimed_epsilon;
    d["epsilon_lower_bound"] = result.epsilon_lower_bound;
    d["contradicts_accountant"] = result.contradicts_accountant;
    d["strongest"] = result.strongest;
    d["confidence"] = result.confidence;
    d["delta"] = result.delta;
    d["noise_multiplier"] = result.noise_multiplier;
    d["measured_noise_multiplier"] = result.measured_noise_multiplier;
    d["probed_sensitivity"] = result.probed_sensitivity;
    d["l2_norm_clip"] = result.l2_norm_clip;
    d["sampling_rate"] = result.sampling_rate;
    d["steps"] = result.steps;
    d["runs"] = result.runs;
    d["gradient_threshold"] = result.gradient_threshold.epsilon;
    d["gradient_one_run"] = result.gradient_one_run.epsilon;
    d["input_threshold"] = result.input_threshold.epsilon;
    d["input_one_run"] = result.input_one_run.epsilon;
    d["noise_epsilon"] = result.noise_epsilon;
    return d;
  });
  // Attribute inference on the columns `features` of x (a model of one input).
  module.def("attribute_inference", [](Model& model, const FloatArray& member_x, const FloatArray& member_y,
                                       const FloatArray& non_member_x, const FloatArray& non_member_y,
                                       const std::vector<int64_t>& features, bool categorical, int grid,
                                       int resamples, double confidence, uint64_t seed) {
    const ConstTensorView mx = view_of(member_x, "x_train"), my = view_of(member_y, "y_train");
    const ConstTensorView nx = view_of(non_member_x, "x_holdout"), ny = view_of(non_member_y, "y_holdout");
    const AttributeSpec spec{.name = "column " + std::to_string(features.empty() ? -1 : features.front()),
                             .features = features, .categorical = categorical};
    AttributeInferenceResult result;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      result = attribute_inference(model.sequential(), mx, my, nx, ny, spec,
                                   {.grid = grid, .resamples = resamples, .confidence = confidence, .seed = seed});
    }
    auto figures = [](const AttributeInferenceFigures& f) {
      py::dict d;
      d["rows"] = f.rows;
      d["attack_accuracy"] = f.attack_accuracy;
      d["baseline_accuracy"] = f.baseline_accuracy;
      d["advantage"] = f.advantage;
      d["advantage_interval"] = py::make_tuple(f.advantage_low, f.advantage_high);
      return d;
    };
    py::dict d;
    d["categorical"] = result.categorical;
    d["candidates"] = result.candidates;
    d["baseline_guess"] = result.baseline_guess;
    d["members"] = figures(result.members);
    d["non_members"] = figures(result.non_members);
    d["gap"] = result.gap;
    d["gap_interval"] = py::make_tuple(result.gap_low, result.gap_high);
    d["confidence"] = result.confidence;
    d["resamples"] = result.resamples;
    return d;
  });
}

}  // namespace citadel::python
