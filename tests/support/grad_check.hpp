// Finite-difference checks of layer and loss gradients. The layer's output is reduced
// to L = Σ r⊙y with a fixed random r; central differences are taken in double around
// float evaluations; agreement is the relative error ‖a − b‖ / max(‖a‖ + ‖b‖, 1e-12).
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "citadel/core/parameter_store.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/model/model.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel::testkit {

struct GradCheckOptions {
  double epsilon = 1e-2;
  double tolerance = 1e-2;
  uint64_t seed = 1;
  // Inputs are drawn from N(0, 1) but kept at least this far from 0, away from the
  // kinks of relu-like functions.
  double min_abs_input = 0.05;
};

// A layer built for inputs of shape `input_shape` (with the batch axis), with its own
// parameter store, initialized randomly.
struct BuiltLayer {
  std::unique_ptr<Layer> layer;
  ParameterStore params;
  std::vector<Shape> input_shapes;
};
std::unique_ptr<BuiltLayer> build_layer(const Layer& prototype, const std::vector<Shape>& input_shapes,
                                        uint64_t seed = 1);
std::unique_ptr<BuiltLayer> build_layer(const Layer& prototype, const Shape& input_shape, uint64_t seed = 1);

// A random input away from kinks.
Tensor random_input(const Shape& shape, uint64_t seed, double min_abs = 0.05);
// Token ids drawn uniformly from [0, bound) (layers with token_id_bound(): Embedding).
Tensor random_ids(const Shape& shape, int64_t bound, uint64_t seed);

// One input of `input_shape`, or (merge layers) one of each of `input_shapes`; the input
// gradient check covers every input.
::testing::AssertionResult check_input_gradient(const Layer& prototype, const Shape& input_shape,
                                                const GradCheckOptions& options = {});
::testing::AssertionResult check_param_gradients(const Layer& prototype, const Shape& input_shape,
                                                 const GradCheckOptions& options = {});
::testing::AssertionResult check_input_gradient(const Layer& prototype, const std::vector<Shape>& input_shapes,
                                                const GradCheckOptions& options = {});
::testing::AssertionResult check_param_gradients(const Layer& prototype, const std::vector<Shape>& input_shapes,
                                                 const GradCheckOptions& options = {});
// The largest difference between the model's parameter gradients (compute_gradients) and
// central differences of its evaluated loss (penalties and fused losses included).
double model_gradient_error(Model& model, const Tensor& x, const Tensor& y, double epsilon = 1e-3);
double model_gradient_error(Model& model, const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                            double epsilon = 1e-3);
// ∂(mean loss)/∂predictions against finite differences, at the given predictions.
::testing::AssertionResult check_loss_gradient(const Loss& loss, const Tensor& predictions,
                                               const Tensor& targets, const GradCheckOptions& options = {});

}  // namespace citadel::testkit
