// What a data pipeline learns from its training rows and applies to every later row:
// mean imputation of missing values and feature scaling (standard or min-max), or pixel
// scaling for images. It is fitted on training rows only, so held-out rows leak nothing
// into training, and it describes itself as JSON for model files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/core/tensor.hpp"
#include "citadel/data/scaler.hpp"

namespace citadel {

struct PreprocessorOptions {
  bool impute_missing = false;       // fill NaN with the training rows' means
  std::string scaling = "standard";  // "standard", "minmax" or "none"
  bool images = false;               // pixels, already scaled to [0, 1] when loaded: nothing to learn
};

class Preprocessor {
 public:
  Preprocessor() = default;
  explicit Preprocessor(const PreprocessorOptions& options);
  void fit(ConstTensorView x_train);
  void apply(TensorView x) const;
  void apply(Tensor& x) const { apply(x.view()); }
  // JSON text: {"scaling": ..., "imputation": ..., "mean"/"scale" or "min"/"max", "imputed_means"}.
  std::string describe() const;
  // A preprocessor from describe()'s text (a model file's record); IoError when malformed.
  static Preprocessor restore(std::string_view description, bool images);
  // ValueError unless every fitted statistic covers exactly `features` features.
  void check_width(int64_t features) const;
  bool images() const { return options_.images; }
  // Fills missing values (NaN) with the training rows' means.
  bool imputes_missing() const { return options_.impute_missing; }

 private:
  PreprocessorOptions options_;
  MeanImputer imputer_;
  StandardScaler standard_;
  MinMaxScaler minmax_;
};

}  // namespace citadel
