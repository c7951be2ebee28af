// The update rules of SGD, Adam, AdamW, RMSprop and Adagrad, as Keras 3 defines them
// (keras/src/optimizers/*.py), each one loop over the flat buffers. State is sized on
// the first step and reused.
#include <cmath>
#include <utility>

#include "citadel/core/error.hpp"
#include "citadel/optim/optimizer.hpp"

namespace citadel {
namespace {

void check_fraction(const char* optimizer, const char* setting, float value) {
  CITADEL_CHECK(value >= 0.0f && value < 1.0f, ValueError, optimizer, ": ", setting,
                " must lie in [0, 1), got ", value);
}

void check_positive(const char* optimizer, const char* setting, float value) {
  CITADEL_CHECK(value > 0.0f, ValueError, optimizer, ": ", setting, " must be positive, got ", value);
}

template <typename Settings>
ClipSettings clip_of(const Settings& s) {
  return {s.clipnorm, s.global_clipnorm, s.clipvalue};
}

void ensure_size(std::vector<float>& state, size_t size, float initial = 0.0f) {
  if (state.size() != size) state.assign(size, initial);
}

class SgdOptimizer final : public Optimizer {
 public:
  explicit SgdOptimizer(const SGD& s) : Optimizer(s.learning_rate, clip_of(s)), settings_(s) {
    check_fraction("SGD", "momentum", s.momentum);
  }
  std::unique_ptr<Optimizer> clone() const override { return std::make_unique<SgdOptimizer>(*this); }
  std::string name() const override { return "sgd"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state() override { return {{"velocity", &velocity_}}; }

 protected:
  void update(std::span<float> values, std::span<const float> gradients) override {
    const float lr = learning_rate(), mu = settings_.momentum;
    if (mu == 0.0f) {
      for (size_t i = 0; i < values.size(); ++i) values[i] -= lr * gradients[i];
      return;
    }
    ensure_size(velocity_, values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      velocity_[i] = mu * velocity_[i] - lr * gradients[i];
      values[i] += settings_.nesterov ? mu * velocity_[i] - lr * gradients[i] : velocity_[i];
    }
  }

 private:
  SGD settings_;
  std::vector<float> velocity_;
};

class AdamOptimizer final : public Optimizer {
 public:
  AdamOptimizer(const Adam& s, float weight_decay, const char* name, ClipSettings clip)
      : Optimizer(s.learning_rate, clip), settings_(s), weight_decay_(weight_decay), name_(name) {
    check_fraction(name, "beta_1", s.beta_1);
    check_fraction(name, "beta_2", s.beta_2);
    check_positive(name, "epsilon", s.epsilon);
    CITADEL_CHECK(weight_decay >= 0, ValueError, name, ": weight_decay must be >= 0");
  }
  std::unique_ptr<Optimizer> clone() const override { return std::make_unique<AdamOptimizer>(*this); }
  std::string name() const override { return name_; }
  std::vector<std::pair<std::string, std::vector<float>*>> state() override { return {{"m", &m_}, {"v", &v_}}; }

 protected:
  void update(std::span<float> values, std::span<const float> gradients) override {
    ensure_size(m_, values.size());
    ensure_size(v_, values.size());
    const double t = static_cast<double>(iterations());
    const float lr = learning_rate();
    const float b1 = settings_.beta_1, b2 = settings_.beta_2, eps = settings_.epsilon;
    const float alpha = static_cast<float>(lr * std::sqrt(1.0 - std::pow(double(b2), t)) /
                                           (1.0 - std::pow(double(b1), t)));
    const float keep = 1.0f - lr * weight_decay_;  // decoupled weight decay (AdamW); 1 for Adam
    // Restrict-qualified locals: the buffers never overlap, so the loop vectorizes.
    float* __restrict w = values.data();
    const float* __restrict grad = gradients.data();
    float* __restrict m = m_.data();
    float* __restrict v = v_.data();
    const size_t count = values.size();
    for (size_t i = 0; i < count; ++i) {
      const float g = grad[i];
      m[i] += (g - m[i]) * (1.0f - b1);
      v[i] += (g * g - v[i]) * (1.0f - b2);
      w[i] = w[i] * keep - alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
  }

 private:
  Adam settings_;
  float weight_decay_;
  const char* name_;
  std::vector<float> m_, v_;
};

class RmspropOptimizer final : public Optimizer {
 public:
  explicit RmspropOptimizer(const RMSprop& s) : Optimizer(s.learning_rate, clip_of(s)), settings_(s) {
    check_fraction("RMSprop", "rho", s.rho);
    check_fraction("RMSprop", "momentum", s.momentum);
    check_positive("RMSprop", "epsilon", s.epsilon);
  }
  std::unique_ptr<Optimizer> clone() const override { return std::make_unique<RmspropOptimizer>(*this); }
  std::string name() const override { return "rmsprop"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state() override {
    return {{"velocity", &velocity_}, {"average_gradient", &average_gradient_}, {"momentum", &momentum_}};
  }

 protected:
  void update(std::span<float> values, std::span<const float> gradients) override {
    ensure_size(velocity_, values.size());
    if (settings_.centered) ensure_size(average_gradient_, values.size());
    if (settings_.momentum > 0) ensure_size(momentum_, values.size());
    const float lr = learning_rate(), rho = settings_.rho;
    for (size_t i = 0; i < values.size(); ++i) {
      const float g = gradients[i];
      velocity_[i] = rho * velocity_[i] + (1.0f - rho) * g * g;
      float denominator = velocity_[i] + settings_.epsilon;
      if (settings_.centered) {
        average_gradient_[i] = rho * average_gradient_[i] + (1.0f - rho) * g;
        denominator -= average_gradient_[i] * average_gradient_[i];
      }
      const float increment = lr * g / std::sqrt(denominator);
      if (settings_.momentum > 0) {
        momentum_[i] = settings_.momentum * momentum_[i] + increment;
        values[i] -= momentum_[i];
      } else {
        values[i] -= increment;
      }
    }
  }

 private:
  RMSprop settings_;
  std::vector<float> velocity_, average_gradient_, momentum_;
};

class AdagradOptimizer final : public Optimizer {
 public:
  explicit AdagradOptimizer(const Adagrad& s) : Optimizer(s.learning_rate, clip_of(s)), settings_(s) {
    CITADEL_CHECK(s.initial_accumulator_value >= 0, ValueError,
                  "Adagrad: initial_accumulator_value must be >= 0");
    check_positive("Adagrad", "epsilon", s.epsilon);
  }
  std::unique_ptr<Optimizer> clone() const override { return std::make_unique<AdagradOptimizer>(*this); }
  std::string name() const override { return "adagrad"; }
  std::vector<std::pair<std::string, std::vector<float>*>> state() override { return {{"accumulator", &accumulator_}}; }

 protected:
  void update(std::span<float> values, std::span<const float> gradients) override {
    ensure_size(accumulator_, values.size(), settings_.initial_accumulator_value);
    const float lr = learning_rate();
    for (size_t i = 0; i < values.size(); ++i) {
      const float g = gradients[i];
      accumulator_[i] += g * g;
      values[i] -= lr * g / std::sqrt(accumulator_[i] + settings_.epsilon);
    }
  }

 private:
  Adagrad settings_;
  std::vector<float> accumulator_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const SGD& s) { return std::make_unique<SgdOptimizer>(s); }

std::unique_ptr<Optimizer> make_optimizer(const Adam& s) {
  return std::make_unique<AdamOptimizer>(s, 0.0f, "adam", clip_of(s));
}

std::unique_ptr<Optimizer> make_optimizer(const AdamW& s) {
  const Adam adam{s.learning_rate, s.beta_1, s.beta_2, s.epsilon};
  return std::make_unique<AdamOptimizer>(adam, s.weight_decay, "adamw", clip_of(s));
}

std::unique_ptr<Optimizer> make_optimizer(const RMSprop& s) { return std::make_unique<RmspropOptimizer>(s); }

std::unique_ptr<Optimizer> make_optimizer(const Adagrad& s) { return std::make_unique<AdagradOptimizer>(s); }

const std::vector<std::string>& known_optimizers() {
  static const std::vector<std::string> names{"sgd", "adam", "adamw", "rmsprop", "adagrad"};
  return names;
}

std::unique_ptr<Optimizer> make_optimizer(std::string_view name) {
  if (name == "sgd") return make_optimizer(SGD{});
  if (name == "adam") return make_optimizer(Adam{});
  if (name == "adamw") return make_optimizer(AdamW{});
  if (name == "rmsprop") return make_optimizer(RMSprop{});
  if (name == "adagrad") return make_optimizer(Adagrad{});
  std::string list;
  for (const auto& known : known_optimizers()) list += (list.empty() ? "" : ", ") + known;
  throw ValueError("unknown optimizer '" + std::string(name) + "'; known: " + list);
}

}  // namespace citadel
