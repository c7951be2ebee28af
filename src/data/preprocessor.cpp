// Preprocessor: imputation and scaling fitted on training rows; its JSON record.
#include "citadel/data/preprocessor.hpp"

#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"

namespace citadel {

Preprocessor::Preprocessor(const PreprocessorOptions& options) : options_(options) {
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

void Preprocessor::apply(TensorView x) const {
  if (options_.images) return;
  if (options_.impute_missing) imputer_.transform(x);
  if (options_.scaling == "standard") standard_.transform(x);
  if (options_.scaling == "minmax") minmax_.transform(x);
}

std::string Preprocessor::describe() const {
  if (options_.images) return nlohmann::json{{"scaling", "pixels / 255"}}.dump();
  nlohmann::json out{{"scaling", options_.scaling}, {"imputation", options_.impute_missing ? "training mean" : "none"}};
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
  if (options_.impute_missing) check("imputation", imputer_.means().size());
  if (options_.scaling == "standard") check("standard scaling", standard_.mean().size());
  if (options_.scaling == "minmax") check("min-max scaling", minmax_.data_min().size());
}

}  // namespace citadel
