// Optimizers over the model's flat parameter and gradient buffers. Settings objects
// (SGD, Adam, ...) have Keras's names and defaults; OptimizerSpec accepts a name, a
// settings object or an Optimizer of your own in compile().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/parameter_store.hpp"

namespace citadel {

// Gradient clipping, as Keras: clipnorm rescales each parameter tensor's gradient to at
// most that L2 norm, global_clipnorm all of them together, clipvalue clamps each
// element to ±value. 0 disables. clipnorm and global_clipnorm exclude each other.
struct ClipSettings {
  float clipnorm = 0.0f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
};

// θ ← θ − α·∂J/∂θ; with momentum: v ← μ·v − α·g, θ ← θ + v (Nesterov: θ ← θ + μ·v − α·g).
struct SGD {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  float clipnorm = 0.0f, global_clipnorm = 0.0f, clipvalue = 0.0f;
};
// Kingma & Ba 2015, in Keras's form: α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ), θ ← θ − α_t·m/(√v + ε).
struct Adam {
  float learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float clipnorm = 0.0f, global_clipnorm = 0.0f, clipvalue = 0.0f;
};
// Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ − α·λ·θ, then Adam.
struct AdamW {
  float learning_rate = 0.001f;
  float weight_decay = 0.004f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float clipnorm = 0.0f, global_clipnorm = 0.0f, clipvalue = 0.0f;
};
// v ← ρ·v + (1 − ρ)·g²; θ ← θ − α·g/√(v + ε) (centered: v − ḡ² in the root).
struct RMSprop {
  float learning_rate = 0.001f;
  float rho = 0.9f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
  bool centered = false;
  float clipnorm = 0.0f, global_clipnorm = 0.0f, clipvalue = 0.0f;
};
// a ← a + g²; θ ← θ − α·g/√(a + ε), a starting at initial_accumulator_value.
struct Adagrad {
  float learning_rate = 0.001f;
  float initial_accumulator_value = 0.1f;
  float epsilon = 1e-7f;
  float clipnorm = 0.0f, global_clipnorm = 0.0f, clipvalue = 0.0f;
};

class Optimizer {
 public:
  // Called on the gradients after clipping and before the update: where privacy noise
  // and the MPI all-reduce plug in.
  using GradientHook = std::function<void(ParameterStore&)>;

  virtual ~Optimizer() = default;
  virtual std::unique_ptr<Optimizer> clone() const = 0;
  virtual std::string name() const = 0;

  // One update from the gradients in `store`: clip, run the hooks, update the values.
  void step(ParameterStore& store);
  void add_gradient_hook(GradientHook hook) { hooks_.push_back(std::move(hook)); }

  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float learning_rate);
  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t iterations) { iterations_ = iterations; }
  // The optimizer's state buffers by name ("m", "v", "velocity", ...), for checkpoints;
  // empty until the first step sizes them.
  virtual std::vector<std::pair<std::string, std::vector<float>*>> state() { return {}; }

 protected:
  Optimizer(float learning_rate, const ClipSettings& clip);
  // Updates values from (clipped) gradients; iterations() already counts this step.
  virtual void update(std::span<float> values, std::span<const float> gradients) = 0;

 private:
  void clip(ParameterStore& store) const;

  float learning_rate_;
  ClipSettings clip_;
  int64_t iterations_ = 0;
  std::vector<GradientHook> hooks_;
};

std::unique_ptr<Optimizer> make_optimizer(const SGD& settings);
std::unique_ptr<Optimizer> make_optimizer(const Adam& settings);
std::unique_ptr<Optimizer> make_optimizer(const AdamW& settings);
std::unique_ptr<Optimizer> make_optimizer(const RMSprop& settings);
std::unique_ptr<Optimizer> make_optimizer(const Adagrad& settings);
// By Keras identifier ("sgd", "adam", "adamw", "rmsprop", "adagrad") with its defaults;
// throws ValueError listing the known names.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name);
const std::vector<std::string>& known_optimizers();

class OptimizerSpec {
 public:
  OptimizerSpec() : OptimizerSpec("rmsprop") {}  // Keras's default
  OptimizerSpec(const char* name) : optimizer_(make_optimizer(name)) {}         // NOLINT
  OptimizerSpec(const std::string& name) : optimizer_(make_optimizer(name)) {}  // NOLINT
  OptimizerSpec(const SGD& s) : optimizer_(make_optimizer(s)) {}                // NOLINT
  OptimizerSpec(const Adam& s) : optimizer_(make_optimizer(s)) {}               // NOLINT
  OptimizerSpec(const AdamW& s) : optimizer_(make_optimizer(s)) {}              // NOLINT
  OptimizerSpec(const RMSprop& s) : optimizer_(make_optimizer(s)) {}            // NOLINT
  OptimizerSpec(const Adagrad& s) : optimizer_(make_optimizer(s)) {}            // NOLINT
  OptimizerSpec(std::unique_ptr<Optimizer> o) : optimizer_(std::move(o)) {}     // NOLINT
  OptimizerSpec(const OptimizerSpec& other) : optimizer_(other.optimizer_->clone()) {}
  OptimizerSpec& operator=(const OptimizerSpec& other) {
    optimizer_ = other.optimizer_->clone();
    return *this;
  }
  OptimizerSpec(OptimizerSpec&&) noexcept = default;
  OptimizerSpec& operator=(OptimizerSpec&&) noexcept = default;

  std::unique_ptr<Optimizer> make() const { return optimizer_->clone(); }

 private:
  std::unique_ptr<Optimizer> optimizer_;
};

}  // namespace citadel
