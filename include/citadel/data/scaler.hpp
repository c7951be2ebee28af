// Feature scaling fitted on training rows only, as scikit-learn's StandardScaler and
// MinMaxScaler, and pixel scaling to [0, 1]; MeanImputer fills missing values.
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
  // A scaler with statistics fitted before (read back from a model file).
  static StandardScaler restore(std::vector<double> mean, std::vector<double> scale);

 private:
  std::vector<double> mean_, scale_;
};

// (x − min) / (max − min) per feature, into [0, 1] on the training rows (a constant
// column maps to 0).
class MinMaxScaler {
 public:
  void fit(ConstTensorView x);
  void transform(TensorView x) const;
  Tensor transform(ConstTensorView x) const;
  Tensor fit_transform(ConstTensorView x);

  bool fitted() const { return !minimum_.empty(); }
  const std::vector<double>& data_min() const { return minimum_; }
  const std::vector<double>& data_max() const { return maximum_; }
  static MinMaxScaler restore(std::vector<double> minimum, std::vector<double> maximum);

 private:
  std::vector<double> minimum_, maximum_;
};

// Pixels from 0..255 to [0, 1] (x / 255), in place.
void scale_pixels(TensorView x);

// Replaces NaN (a missing value) by the column's mean over the training rows, ignoring
// their missing values (0 for a column with no value at all).
class MeanImputer {
 public:
  void fit(ConstTensorView x);
  void transform(TensorView x) const;
  const std::vector<double>& means() const { return means_; }
  bool fitted() const { return !means_.empty(); }
  static MeanImputer restore(std::vector<double> means);

 private:
  std::vector<double> means_;
};

}  // namespace citadel
