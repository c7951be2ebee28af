// Preprocessor: clamping, imputation and scaling, fitted on training rows or declared; its
// JSON record.
#include "citadel/data/preprocessor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"

namespace citadel {

MissingValues Preprocessor::missing_values() const {
  if (options_.impute_missing) return MissingValues::kMean;
  return options_.drop_missing ? MissingValues::kDrop : MissingValues::kError;
}

Preprocessor::Preprocessor(const PreprocessorOptions& options) : options_(options) {
  CITADEL_CHECK(!(options.impute_missing && options.drop_missing), ValueError,
                "preprocessing: missing values are either imputed or dropped, not both");
  CITADEL_CHECK(options.scaling == "standard" || options.scaling == "minmax" || options.scaling == "none", ValueError,
                "preprocessing: scaling must be standard, minmax or none, got '", options.scaling, "'");
}

void Preprocessor::fit(ConstTensorView x_train) {
  if (options_.images) return;  // pixels were scaled to [0, 1] when loaded
  Tensor x = Tensor::from(x_train);
  if (options_.impute_missing) {
    imputer_.fit(x);
    imputer_.transform(x.view());
  }
  if (options_.scaling == "standard") standard_.fit(x);
  if (options_.scaling == "minmax") minmax_.fit(x);
}

void Preprocessor::fit_declared(const DeclaredSchema& declared, const DataSchema& schema) {
  if (options_.images) return;
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  std::vector<double> fill, mean, scale, low, high, clip_low, clip_high;
  auto need = [&](const std::optional<double>& value, const std::string& column, const char* field, const char* use) {
    CITADEL_CHECK(value.has_value(), ValueError, declared.source, ": column '", column, "' declares no ", field,
                  ", which ", use, " needs (add it, or choose other preprocessing)");
    return *value;
  };
  for (size_t c = 0; c < schema.input_columns.size(); ++c) {
    const std::string& name = schema.input_columns[c];
    if (!schema.categories[c].empty()) {  // one-hot features: 0 or 1 already
      for (size_t k = 0; k < schema.categories[c].size(); ++k) {
        fill.push_back(0), mean.push_back(0), scale.push_back(1), low.push_back(0), high.push_back(1);
        clip_low.push_back(-kInfinity), clip_high.push_back(kInfinity);
      }
      continue;
    }
    const DeclaredColumn* column = declared.column(name);
    static const DeclaredColumn kNothing;
    if (column == nullptr) column = &kNothing;
    clip_low.push_back(column->min.value_or(-kInfinity));
    clip_high.push_back(column->max.value_or(kInfinity));
    if (options_.impute_missing)
      fill.push_back(column->fill ? *column->fill : need(column->mean, name, "fill or mean", "imputation (--missing mean)"));
    if (options_.scaling == "standard") {
      mean.push_back(need(column->mean, name, "mean", "standard scaling"));
      scale.push_back(need(column->std, name, "std", "standard scaling"));
    }
    if (options_.scaling == "minmax") {
      low.push_back(need(column->min, name, "min", "min-max scaling"));
      high.push_back(need(column->max, name, "max", "min-max scaling"));
    }
  }
  if (options_.impute_missing) imputer_ = MeanImputer::restore(fill);
  if (options_.scaling == "standard") standard_ = StandardScaler::restore(mean, scale);
  if (options_.scaling == "minmax") minmax_ = MinMaxScaler::restore(low, high);
  const bool clamps = std::any_of(clip_low.begin(), clip_low.end(), [](double v) { return std::isfinite(v); });
  clip_min_ = clamps ? clip_low : std::vector<double>{};
  clip_max_ = clamps ? clip_high : std::vector<double>{};
  declared_ = true;
}

void Preprocessor::apply(TensorView x) const {
  if (options_.images) return;
  if (!clip_min_.empty()) {  // NaN (missing) passes through to the imputation
    const int64_t features = static_cast<int64_t>(clip_min_.size());
    CITADEL_CHECK(x.numel() % features == 0, ShapeError, "preprocessing: rows of ", features, " features expected");
    float* values = x.data();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t f = static_cast<size_t>(i % features);
      if (values[i] < clip_min_[f]) values[i] = static_cast<float>(clip_min_[f]);
      if (values[i] > clip_max_[f]) values[i] = static_cast<float>(clip_max_[f]);
    }
  }
  if (options_.impute_missing) imputer_.transform(x);
  if (options_.scaling == "standard") standard_.transform(x);
  if (options_.scaling == "minmax") minmax_.transform(x);
}

std::string Preprocessor::describe() const {
  if (options_.images) return nlohmann::json{{"scaling", "pixels / 255"}}.dump();
  nlohmann::json out{{"scaling", options_.scaling},
                     {"imputation", !options_.impute_missing ? "none" : declared_ ? "declared fill" : "training mean"},
                     {"statistics_from", declared_ ? "declared schema" : "training rows"},
                     {"missing_values", options_.impute_missing ? "mean" : options_.drop_missing ? "drop" : "error"}};
  if (!clip_min_.empty()) {  // JSON has no infinity: an unbounded side is null
    auto bound = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    nlohmann::json low = nlohmann::json::array(), high = nlohmann::json::array();
    for (size_t f = 0; f < clip_min_.size(); ++f) low.push_back(bound(clip_min_[f])), high.push_back(bound(clip_max_[f]));
    out["clip_min"] = low, out["clip_max"] = high;
  }
  if (options_.scaling == "standard") out["mean"] = standard_.mean(), out["scale"] = standard_.scale();
  if (options_.scaling == "minmax") out["min"] = minmax_.data_min(), out["max"] = minmax_.data_max();
  if (options_.impute_missing) out["imputed_means"] = imputer_.means();
  return out.dump();
}

Preprocessor Preprocessor::restore(std::string_view description, bool images) {
  Preprocessor p;
  p.options_.images = images;
  if (images) return p;
  CITADEL_CHECK(json_nesting_depth(description) <= 32, IoError, "the preprocessing record is nested too deep");
  try {
    const nlohmann::json d = nlohmann::json::parse(description);
    p.options_.scaling = d.at("scaling").get<std::string>();
    p.options_.impute_missing = d.at("imputation").get<std::string>() != "none";
    p.declared_ = d.value("statistics_from", "training rows") == "declared schema";
    // Files written before the policy was recorded: imputation implies "mean", else "error".
    const std::string missing = d.value("missing_values", p.options_.impute_missing ? "mean" : "error");
    CITADEL_CHECK(missing == "error" || missing == "drop" || missing == "mean", IoError,
                  "unknown missing_values '", missing, "' in the preprocessing record");
    CITADEL_CHECK((missing == "mean") == p.options_.impute_missing, IoError,
                  "the preprocessing record's missing_values '", missing, "' disagrees with its imputation");
    p.options_.drop_missing = missing == "drop";
    if (d.contains("clip_min")) {
      constexpr double kInfinity = std::numeric_limits<double>::infinity();
      const auto& low = d.at("clip_min");
      const auto& high = d.at("clip_max");
      CITADEL_CHECK(low.is_array() && high.is_array() && low.size() == high.size(), IoError,
                    "the preprocessing record's clip_min and clip_max differ in length");
      for (size_t f = 0; f < low.size(); ++f) {
        p.clip_min_.push_back(low[f].is_null() ? -kInfinity : low[f].get<double>());
        p.clip_max_.push_back(high[f].is_null() ? kInfinity : high[f].get<double>());
        CITADEL_CHECK(!(p.clip_min_.back() > p.clip_max_.back()) && !std::isnan(p.clip_min_.back()) &&
                          !std::isnan(p.clip_max_.back()),
                      IoError, "the preprocessing record's clip range of feature ", f, " is empty");
      }
    }
    if (p.options_.impute_missing) p.imputer_ = MeanImputer::restore(d.at("imputed_means").get<std::vector<double>>());
    if (p.options_.scaling == "standard")
      p.standard_ = StandardScaler::restore(d.at("mean").get<std::vector<double>>(), d.at("scale").get<std::vector<double>>());
    else if (p.options_.scaling == "minmax")
      p.minmax_ = MinMaxScaler::restore(d.at("min").get<std::vector<double>>(), d.at("max").get<std::vector<double>>());
    else
      CITADEL_CHECK(p.options_.scaling == "none", IoError, "unknown scaling '", p.options_.scaling, "'");
  } catch (const nlohmann::json::exception& e) {
    throw IoError(std::string("the preprocessing record is malformed: ") + e.what());
  } catch (const ValueError& e) {
    throw IoError(std::string("the preprocessing record is invalid: ") + e.what());
  }
  return p;
}

void Preprocessor::check_width(int64_t features) const {
  auto check = [&](const char* what, size_t size) {
    CITADEL_CHECK(int64_t(size) == features, ValueError, "the preprocessing record's ", what, " covers ", size,
                  " features but the model takes ", features);
  };
  if (!clip_min_.empty()) check("clip range", clip_min_.size());
  if (options_.impute_missing) check("imputation", imputer_.means().size());
  if (options_.scaling == "standard") check("standard scaling", standard_.mean().size());
  if (options_.scaling == "minmax") check("min-max scaling", minmax_.data_min().size());
}

}  // namespace citadel
