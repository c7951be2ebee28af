// Scalers and the mean imputer, accumulating in double for accuracy on large columns.
#include "citadel/data/scaler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"

namespace citadel {

void StandardScaler::fit(ConstTensorView x) {
  CITADEL_CHECK(x.rank() == 2 && x.shape(0) > 0, ShapeError,
                "StandardScaler.fit: expects (samples, features) with samples > 0, got ", x.shape());
  const int64_t N = x.shape(0), D = x.shape(1);
  mean_.assign(D, 0.0);
  scale_.assign(D, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) mean_[d] += x[n * D + d];
  for (auto& m : mean_) m /= double(N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      const double centred = x[n * D + d] - mean_[d];
      scale_[d] += centred * centred;
    }
  for (auto& s : scale_) {
    s = std::sqrt(s / double(N));
    if (s == 0.0) s = 1.0;  // constant column: centring is all we can do
  }
}

void StandardScaler::transform(TensorView x) const {
  CITADEL_CHECK(fitted(), ValueError, "StandardScaler.transform called before fit");
  const auto D = static_cast<int64_t>(mean_.size());
  CITADEL_CHECK(x.rank() == 2 && x.shape(1) == D, ShapeError, "StandardScaler: fitted on ", D,
                " features, got shape ", x.shape());
  for (int64_t n = 0; n < x.shape(0); ++n)
    for (int64_t d = 0; d < D; ++d)
      x[n * D + d] = static_cast<float>((x[n * D + d] - mean_[d]) / scale_[d]);
}

Tensor StandardScaler::transform(ConstTensorView x) const {
  Tensor result = Tensor::from(x);
  transform(result.view());
  return result;
}

Tensor StandardScaler::fit_transform(ConstTensorView x) {
  fit(x);
  return transform(x);
}

void MinMaxScaler::fit(ConstTensorView x) {
  CITADEL_CHECK(x.rank() == 2 && x.shape(0) > 0, ShapeError,
                "MinMaxScaler.fit: expects (samples, features) with samples > 0, got ", x.shape());
  const int64_t N = x.shape(0), D = x.shape(1);
  minimum_.assign(D, std::numeric_limits<double>::infinity());
  maximum_.assign(D, -std::numeric_limits<double>::infinity());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      minimum_[d] = std::min(minimum_[d], double(x[n * D + d]));
      maximum_[d] = std::max(maximum_[d], double(x[n * D + d]));
    }
}

void MinMaxScaler::transform(TensorView x) const {
  CITADEL_CHECK(fitted(), ValueError, "MinMaxScaler.transform called before fit");
  const auto D = static_cast<int64_t>(minimum_.size());
  CITADEL_CHECK(x.rank() == 2 && x.shape(1) == D, ShapeError, "MinMaxScaler: fitted on ", D,
                " features, got shape ", x.shape());
  for (int64_t n = 0; n < x.shape(0); ++n)
    for (int64_t d = 0; d < D; ++d) {
      const double range = maximum_[d] - minimum_[d];
      x[n * D + d] = range == 0 ? 0.0f : static_cast<float>((x[n * D + d] - minimum_[d]) / range);
    }
}

Tensor MinMaxScaler::transform(ConstTensorView x) const {
  Tensor result = Tensor::from(x);
  transform(result.view());
  return result;
}

Tensor MinMaxScaler::fit_transform(ConstTensorView x) {
  fit(x);
  return transform(x);
}

StandardScaler StandardScaler::restore(std::vector<double> mean, std::vector<double> scale) {
  CITADEL_CHECK(!mean.empty() && mean.size() == scale.size(), ValueError, "StandardScaler: ", mean.size(),
                " means for ", scale.size(), " scales");
  for (double s : scale) CITADEL_CHECK(std::isfinite(s) && s > 0, ValueError, "StandardScaler: a scale must be positive");
  for (double m : mean) CITADEL_CHECK(std::isfinite(m), ValueError, "StandardScaler: a mean must be finite");
  StandardScaler scaler;
  scaler.mean_ = std::move(mean);
  scaler.scale_ = std::move(scale);
  return scaler;
}

MinMaxScaler MinMaxScaler::restore(std::vector<double> minimum, std::vector<double> maximum) {
  CITADEL_CHECK(!minimum.empty() && minimum.size() == maximum.size(), ValueError, "MinMaxScaler: ", minimum.size(),
                " minima for ", maximum.size(), " maxima");
  for (size_t i = 0; i < minimum.size(); ++i)
    CITADEL_CHECK(std::isfinite(minimum[i]) && std::isfinite(maximum[i]) && minimum[i] <= maximum[i], ValueError,
                  "MinMaxScaler: feature ", i, " has minimum ", minimum[i], " and maximum ", maximum[i]);
  MinMaxScaler scaler;
  scaler.minimum_ = std::move(minimum);
  scaler.maximum_ = std::move(maximum);
  return scaler;
}

MeanImputer MeanImputer::restore(std::vector<double> means) {
  CITADEL_CHECK(!means.empty(), ValueError, "MeanImputer: no means");
  for (double m : means) CITADEL_CHECK(std::isfinite(m), ValueError, "MeanImputer: a mean must be finite");
  MeanImputer imputer;
  imputer.means_ = std::move(means);
  return imputer;
}

void scale_pixels(TensorView x) {
  // The count is read once: numel() in the loop's condition kept it from vectorizing (12 %
  // of a W2 benchmark process went to scaling its 47M pixels).
  float* pixels = x.data();
  const int64_t count = x.numel();
  for (int64_t i = 0; i < count; ++i) pixels[i] /= 255.0f;  // division: 51 / 255 is exactly 0.2f
}

void MeanImputer::fit(ConstTensorView x) {
  CITADEL_CHECK(x.rank() == 2, ShapeError, "MeanImputer.fit: expects (samples, features), got ", x.shape());
  const int64_t N = x.shape(0), D = x.shape(1);
  means_.assign(D, 0.0);
  std::vector<int64_t> counts(D, 0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d)
      if (!std::isnan(x[n * D + d])) {
        means_[d] += x[n * D + d];
        ++counts[d];
      }
  for (int64_t d = 0; d < D; ++d) means_[d] = counts[d] == 0 ? 0.0 : means_[d] / double(counts[d]);
}

void MeanImputer::transform(TensorView x) const {
  CITADEL_CHECK(fitted(), ValueError, "MeanImputer.transform called before fit");
  const auto D = static_cast<int64_t>(means_.size());
  CITADEL_CHECK(x.rank() == 2 && x.shape(1) == D, ShapeError, "MeanImputer: fitted on ", D,
                " features, got shape ", x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    if (std::isnan(x[i])) x[i] = static_cast<float>(means_[i % D]);
}

}  // namespace citadel
