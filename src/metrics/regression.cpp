// Mean squared and mean absolute error over every element seen since reset().
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel {
namespace {

class MeanErrorMetric final : public Metric {
 public:
  MeanErrorMetric(std::string name, bool squared) : name_(std::move(name)), squared_(squared) {}
  std::unique_ptr<Metric> clone() const override { return std::make_unique<MeanErrorMetric>(*this); }
  std::string name() const override { return name_; }
  void reset(int64_t) override { sum_ = 0, count_ = 0; }

  void update(ConstTensorView predictions, ConstTensorView targets) override {
    CITADEL_CHECK(predictions.numel() == targets.numel(), ShapeError, name_, ": ",
                  targets.shape(), " targets for ", predictions.shape(), " predictions");
    for (int64_t i = 0; i < predictions.numel(); ++i) {
      const double error = double(predictions[i]) - targets[i];
      sum_ += squared_ ? error * error : std::fabs(error);
    }
    count_ += predictions.numel();
  }

  double result() const override { return count_ == 0 ? 0.0 : sum_ / double(count_); }
  std::vector<double> state() const override { return {sum_, double(count_)}; }
  void merge(std::span<const double> other) override {
    CITADEL_CHECK(other.size() == 2, ValueError, name_, ": merge of a state of ", other.size(), " numbers");
    sum_ += other[0];
    count_ += static_cast<int64_t>(other[1]);
  }

 private:
  std::string name_;
  bool squared_;
  double sum_ = 0;
  int64_t count_ = 0;
};

}  // namespace

std::unique_ptr<Metric> make_mse() { return std::make_unique<MeanErrorMetric>("mse", true); }
std::unique_ptr<Metric> make_mae() { return std::make_unique<MeanErrorMetric>("mae", false); }

}  // namespace citadel
