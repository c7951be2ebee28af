// Standard scaling with two passes in double for accuracy on large columns.
#include "citadel/data/scaler.hpp"

#include <cmath>

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

}  // namespace citadel
