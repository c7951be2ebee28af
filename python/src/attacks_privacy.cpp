// citadel.attacks (FGSM, PGD, robustness curves), citadel.robustness (randomized smoothing)
// and citadel.privacy (the DP-SGD accountant, membership-inference audits), on models from
// citadel.keras.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <citadel/attacks/adversarial.hpp>
#include <citadel/attacks/embedding_attack.hpp>
#include <citadel/attacks/interval_bounds.hpp>
#include <citadel/attacks/randomized_smoothing.hpp>
#include <citadel/core/error.hpp>
#include <citadel/core/random.hpp>
#include <citadel/model/model_config.hpp>
#include <citadel/privacy/accountant.hpp>
#include <citadel/privacy/lira.hpp>
#include <citadel/privacy/membership.hpp>
#include <citadel/privacy/private_fit.hpp>

#include "bindings.hpp"
#include "model_handle.hpp"

namespace citadel::python {
namespace {

AttackOptions attack_options(const py::dict& c) {
  AttackOptions options;
  options.method = py::cast<std::string>(c["method"]);
  options.norm = py::cast<std::string>(c["norm"]);
  options.epsilon = py::cast<float>(c["epsilon"]);
  options.step_size = py::cast<float>(c["step_size"]);
  options.steps = py::cast<int>(c["steps"]);
  options.random_start = py::cast<bool>(c["random_start"]);
  options.restarts = py::cast<int>(c["restarts"]);
  options.clip_min = py::cast<float>(c["clip_min"]);
  options.clip_max = py::cast<float>(c["clip_max"]);
  options.batch_size = py::cast<int64_t>(c["batch_size"]);
  options.seed = py::cast<uint64_t>(c["seed"]);
  if (c.contains("input")) options.input = py::cast<int>(c["input"]);
  if (!c["targets"].is_none())
    options.targets = Tensor::from(view_of(py::cast<FloatArray>(c["targets"]), "targets"));
  return options;
}

std::vector<ConstTensorView> views_of(const std::vector<FloatArray>& arrays, const char* what) {
  std::vector<ConstTensorView> views;
  for (size_t i = 0; i < arrays.size(); ++i)
    views.push_back(view_of(arrays[i], (std::string(what) + "[" + std::to_string(i) + "]").c_str()));
  return views;
}

SmoothingOptions smoothing_options(const py::dict& c) {
  return {.sigma = py::cast<double>(c["sigma"]),
          .selection_samples = py::cast<int64_t>(c["n0"]),
          .estimation_samples = py::cast<int64_t>(c["n"]),
          .alpha = py::cast<double>(c["alpha"]),
          .batch_size = py::cast<int64_t>(c["batch_size"]),
          .seed = py::cast<uint64_t>(c["seed"])};
}

py::object class_or_none(int64_t c) { return c == kAbstain ? py::object(py::none()) : py::object(py::int_(c)); }

py::dict result_dict(const MembershipAttackResult& result) {
  py::dict d;
  d["attack"] = result.attack;
  d["auc"] = result.auc;
  d["balanced_accuracy"] = result.balanced_accuracy;
  d["tpr_at_1_percent_fpr"] = result.tpr_at_1_percent_fpr;
  d["tpr_at_0_1_percent_fpr"] = result.tpr_at_0_1_percent_fpr;
  d["epsilon_lower_bound"] = result.epsilon_lower_bound;
  d["members"] = result.members;
  d["non_members"] = result.non_members;
  return d;
}



}  // namespace

// Native models from a Python function that returns a fresh, compiled one (a shadow, a
// reference, an audited run), called with the GIL held. The Python object is dropped with it.
std::function<citadel::Model()> native_models(const py::object& make) {
  return [&make] {
    py::gil_scoped_acquire acquired;
    py::object made = make();
    Model& handle = made.cast<Model&>();
    ModelLock lock(handle.lock);
    return std::move(handle.saved.model);
  };
}

void register_attacks_and_privacy(py::module_& module) {
  // x: one array per model input, y: one per output; the attack moves input options["input"].
  module.def("adversarial_examples", [](Model& model, const std::vector<FloatArray>& x, const std::vector<FloatArray>& y,
                                        const py::dict& c) {
    const AttackOptions options = attack_options(c);
    const std::vector<ConstTensorView> xs = views_of(x, "x"), ys = views_of(y, "y");
    Tensor result;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      result = xs.size() == 1 && ys.size() == 1 ? adversarial_examples(model.sequential(), xs[0], ys[0], options)
                                                : adversarial_examples(model.sequential(), xs, ys, options);
    }
    return to_numpy(std::move(result));
  });
  // y: the first output's targets (the output the accuracy is of).
  module.def("robustness_curve", [](Model& model, const std::vector<FloatArray>& x, const FloatArray& y,
                                    const py::dict& c, const std::vector<double>& epsilons) {
    const AttackOptions options = attack_options(c);
    const std::vector<ConstTensorView> xs = views_of(x, "x");
    const ConstTensorView ys = view_of(y, "y");
    std::vector<RobustnessPoint> points;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      points = xs.size() == 1 ? robustness_curve(model.sequential(), xs[0], ys, options, epsilons)
                              : robustness_curve(model.sequential(), xs, ys, options, epsilons);
    }
    py::list result;
    for (const RobustnessPoint& p : points) {
      py::dict d;
      d["epsilon"] = p.epsilon;
      d["accuracy"] = p.accuracy;
      d["attack_success"] = p.attack_success;
      d["mean_linf"] = p.mean_linf;
      d["mean_l2"] = p.mean_l2;
      result.append(d);
    }
    return result;
  });
  // A text model's embeddings attacked: ε relative to the table's mean row norm, per token;
  // each point also gives the nearest-token projection's figures.
  module.def("embedding_robustness_curve", [](Model& model, const std::vector<FloatArray>& x, const FloatArray& y,
                                              const py::dict& c, const std::vector<double>& epsilons,
                                              const std::string& layer, int64_t padding_id) {
    const EmbeddingAttackOptions options{.attack = attack_options(c), .layer = layer, .padding_id = padding_id};
    const std::vector<ConstTensorView> xs = views_of(x, "x");
    const ConstTensorView ys = view_of(y, "y");
    std::vector<EmbeddingRobustnessPoint> points;
    double scale = 0;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      const EmbeddingSite site = find_embedding(model.sequential(), layer);
      scale = embedding_scale(model.sequential(), site.layer, options.attack.norm, padding_id);
      points = embedding_robustness_curve(model.sequential(), xs, ys, options, epsilons);
    }
    py::list result;
    for (const EmbeddingRobustnessPoint& p : points) {
      py::dict d;
      d["epsilon"] = p.epsilon;
      d["radius"] = p.radius;
      d["scale"] = scale;
      d["accuracy"] = p.accuracy;
      d["attack_success"] = p.attack_success;
      d["mean_token_l2"] = p.mean_token_l2;
      d["mean_token_linf"] = p.mean_token_linf;
      d["tokens"] = p.tokens;
      d["tokens_changed"] = p.tokens_changed;
      d["rows_with_changed_tokens"] = p.rows_with_changed_tokens;
      d["projected_accuracy"] = p.projected_accuracy;
      d["projected_attack_success"] = p.projected_attack_success;
      result.append(d);
    }
    return result;
  });
  // Randomized smoothing (a model of one input): CERTIFY's certificate per row, and PREDICT.
  module.def("smoothing_certify", [](Model& model, const FloatArray& x, const py::dict& c) {
    const SmoothingOptions options = smoothing_options(c);
    const ConstTensorView xs = view_of(x, "x");
    std::vector<SmoothedCertificate> certificates;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      certificates = certify(model.sequential(), xs, options);
    }
    py::list result;
    for (const SmoothedCertificate& certificate : certificates) {
      py::dict d;
      d["predicted"] = class_or_none(certificate.predicted_class);
      d["radius"] = certificate.radius;
      d["probability_lower"] = certificate.probability_lower;
      d["count"] = certificate.count;
      d["samples"] = certificate.samples;
      result.append(d);
    }
    return result;
  });
  module.def("smoothing_predict", [](Model& model, const FloatArray& x, const py::dict& c) {
    const SmoothingOptions options = smoothing_options(c);
    const ConstTensorView xs = view_of(x, "x");
    std::vector<int64_t> classes;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      classes = smoothed_predict(model.sequential(), xs, options);
    }
    py::list result;
    for (const int64_t chosen : classes) result.append(class_or_none(chosen));
    return result;
  });
  // Interval bound propagation (a chain of one input): which rows are verified at ε.
  module.def("interval_verified_rows", [](Model& model, const FloatArray& x, const FloatArray& y, double epsilon,
                                          float clip_min, float clip_max) {
    const ConstTensorView xs = view_of(x, "x"), ys = view_of(y, "y");
    std::vector<uint8_t> verified;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      verified = verified_rows(model.sequential(), xs, ys,
                               {.epsilon = epsilon, .clip_min = clip_min, .clip_max = clip_max});
    }
    py::list result;
    for (const uint8_t row : verified) result.append(bool(row));
    return result;
  });
  module.def(
      "dp_sgd_epsilon",
      [](double sampling_rate, double noise_multiplier, int64_t steps, double delta) {
        const PrivacySpent spent = dp_sgd_epsilon(sampling_rate, noise_multiplier, steps, delta);
        return py::make_tuple(spent.epsilon, spent.order);
      },
      py::arg("sampling_rate"), py::arg("noise_multiplier"), py::arg("steps"), py::arg("delta"));
  module.def("dp_sgd_noise_multiplier", [](double sampling_rate, int64_t steps, double delta, double target) {
    return dp_sgd_noise_multiplier(sampling_rate, steps, delta, target);
  });
  module.def(
      "dp_sgd_epsilon_after_epochs",
      [](double sampling_rate, double noise_multiplier, int64_t steps_per_epoch, int epochs, double delta) {
        const PrivacySpent spent = dp_sgd_epsilon_after_epochs(sampling_rate, noise_multiplier, steps_per_epoch, epochs, delta);
        return py::make_tuple(spent.epsilon, spent.accountant);
      },
      py::arg("sampling_rate"), py::arg("noise_multiplier"), py::arg("steps_per_epoch"), py::arg("epochs"),
      py::arg("delta"));
  module.def("dp_sgd_noise_multiplier_for_epochs",
             [](double sampling_rate, int64_t steps_per_epoch, int epochs, double delta, double target) {
               return dp_sgd_noise_multiplier_for_epochs(sampling_rate, steps_per_epoch, epochs, delta, target);
             });
  module.def("steps_per_epoch", &steps_per_epoch, py::arg("rows"), py::arg("batch_size"), py::arg("poisson"));
  // A model of several inputs or outputs: one array per input and per output; the calibrated
  // attack's reference model comes from make_reference (a Python function returning a fresh,
  // compiled native model), called with the GIL held.
  // LiRA: make_shadow as membership_audit_graph's make_reference.
  module.def("lira_audit", [](Model& model, const std::vector<FloatArray>& train_x, const std::vector<FloatArray>& train_y,
                              const std::vector<FloatArray>& holdout_x, const std::vector<FloatArray>& holdout_y,
                              int shadows, int epochs, int64_t batch_size, uint64_t seed, const py::object& make_shadow) {
    const std::vector<ConstTensorView> tx = views_of(train_x, "train x"), ty = views_of(train_y, "train y");
    const std::vector<ConstTensorView> hx = views_of(holdout_x, "holdout x"), hy = views_of(holdout_y, "holdout y");
    const std::function<citadel::Model()> shadow = native_models(make_shadow);
    std::vector<MembershipAttackResult> results;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      results = lira_membership_attacks(model.sequential(), tx, ty, hx, hy, shadow,
                                        {.shadows = shadows, .epochs = epochs, .batch_size = batch_size, .seed = seed});
    }
    py::list list;
    for (const auto& result : results) list.append(result_dict(result));
    return list;
  });
  module.def("membership_audit_graph", [](Model& model, const std::vector<FloatArray>& train_x,
                                          const std::vector<FloatArray>& train_y, const std::vector<FloatArray>& holdout_x,
                                          const std::vector<FloatArray>& holdout_y, int reference_epochs,
                                          int64_t batch_size, uint64_t seed, const py::object& make_reference) {
    const std::vector<ConstTensorView> tx = views_of(train_x, "train x"), ty = views_of(train_y, "train y");
    const std::vector<ConstTensorView> hx = views_of(holdout_x, "holdout x"), hy = views_of(holdout_y, "holdout y");
    std::function<citadel::Model()> reference;
    if (!make_reference.is_none())
      reference = native_models(make_reference);
    std::vector<MembershipAttackResult> results;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      results = audit_membership(model.sequential(), tx, ty, hx, hy, reference, {reference_epochs, batch_size, seed});
    }
    py::list list;
    for (const auto& result : results) list.append(result_dict(result));
    return list;
  });
  module.def("membership_audit", [](Model& model, const FloatArray& train_x, const FloatArray& train_y,
                                    const FloatArray& holdout_x, const FloatArray& holdout_y, int reference_epochs,
                                    int64_t batch_size, uint64_t seed, bool calibrated) {
    const ConstTensorView tx = view_of(train_x, "train x"), ty = view_of(train_y, "train y");
    const ConstTensorView hx = view_of(holdout_x, "holdout x"), hy = view_of(holdout_y, "holdout y");
    std::vector<MembershipAttackResult> results;
    {
      py::gil_scoped_release released;
      ModelLock lock(model.lock);
      citadel::Model& trained = model.sequential();
      std::function<citadel::Model()> make_reference;
      if (calibrated) {
        // A fresh model of the same architecture, compiled as the audited one.
        const std::string config = model_to_config(trained);
        const citadel::Model::CompileSettings settings = trained.compile_settings();
        // As `citadel audit` makes it, so that the same seed gives the same figures.
        make_reference = [config, settings, seed] {
          random::set_seed(seed);
          citadel::Model reference = model_from_config(config, "reference model");
          std::unique_ptr<Optimizer> optimizer = make_optimizer(settings.optimizer);
          optimizer->set_learning_rate(settings.learning_rate);
          reference.compile({settings.loss, OptimizerSpec(std::move(optimizer))});
          return reference;
        };
      }
      results = audit_membership(trained, tx, ty, hx, hy, make_reference, {reference_epochs, batch_size, seed});
    }
    py::list list;
    for (const auto& result : results) list.append(result_dict(result));
    return list;
  });
}

}  // namespace citadel::python
