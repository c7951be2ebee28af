// StandardScaler: (x − mean) / std per feature, fitted on training rows only, as
// scikit-learn's StandardScaler.
#pragma once

#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class StandardScaler {
 public:
  // Learns each column's mean and population standard deviation from x (N, D).
  void fit(ConstTensorView x);
  // Scales x in place; a constant column (std 0) is only centred.
  void transform(TensorView x) const;
  Tensor transform(ConstTensorView x) const;
  Tensor fit_transform(ConstTensorView x);

  bool fitted() const { return !mean_.empty(); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }

 private:
  std::vector<double> mean_, scale_;
};

}  // namespace citadel
