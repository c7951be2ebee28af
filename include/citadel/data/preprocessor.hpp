// What a data pipeline learns from its training rows and applies to every later row:
// mean imputation of missing values and feature scaling (standard or min-max), or pixel
// scaling for images. It is fitted on training rows only, so held-out rows leak nothing
// into training — or taken whole from a declared schema, so the rows teach it nothing
// (private training) — and it describes itself as JSON for model files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/core/tensor.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/declared_schema.hpp"
#include "citadel/data/scaler.hpp"

namespace citadel {

struct PreprocessorOptions {
  bool impute_missing = false;       // fill NaN with the training rows' means
  bool drop_missing = false;         // rows with a missing value were left out (recorded only)
  std::string scaling = "standard";  // "standard", "minmax" or "none"
  bool images = false;               // pixels, already scaled to [0, 1] when loaded: nothing to learn
};

class Preprocessor {
 public:
  Preprocessor() = default;
  explicit Preprocessor(const PreprocessorOptions& options);
  void fit(ConstTensorView x_train);
  // Every statistic from `declared` instead of from rows: each numeric column's fill (or
  // mean) for imputation, mean and std for standard scaling, min and max for min-max
  // scaling, and its [min, max] as a clamp applied before the rest; one-hot features are
  // neither clamped nor scaled. `schema` gives the feature layout. ValueError naming the
  // column and the file when a statistic the options need is not declared.
  void fit_declared(const DeclaredSchema& declared, const DataSchema& schema);
  // Clamps, imputes and scales, in that order.
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
  // How rows read for this pipeline treat missing values: as its training rows were
  // (kMean where it imputes, kDrop where they were dropped, else kError). Model files
  // carry it, so new rows are read exactly as the training rows were.
  MissingValues missing_values() const;
  // Whether the statistics came from a declared schema (nothing learned from rows).
  bool declared() const { return declared_; }
  // The clamp per feature, before scaling (empty when none; ±infinity where unbounded).
  const std::vector<double>& clip_min() const { return clip_min_; }
  const std::vector<double>& clip_max() const { return clip_max_; }

 private:
  PreprocessorOptions options_;
  MeanImputer imputer_;
  StandardScaler standard_;
  MinMaxScaler minmax_;
  // Per feature; empty when nothing is clamped, ±infinity where a feature has no bound.
  std::vector<double> clip_min_, clip_max_;
  bool declared_ = false;
};

}  // namespace citadel
