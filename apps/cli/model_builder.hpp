// The model the command line asks for, its preprocessing, and the fit options of the
// training flags.
#pragma once

#include <initializer_list>

#include "citadel/data/preprocessor.hpp"
#include "citadel/model/sequential.hpp"
#include "data_source.hpp"
#include "settings.hpp"

namespace citadel::cli {

// Mean imputation (with --missing mean) and scaling, fitted on training rows only.
using FeaturePreprocessor = Preprocessor;
// The preprocessing --missing and --scale ask for (pixels for images), not yet fitted.
Preprocessor make_preprocessor(const Settings& settings, const PreparedData& data);
// A preprocessor fitted on data.x_train, already applied to it and to each of `others`.
Preprocessor preprocess(const Settings& settings, PreparedData& data, std::initializer_list<Tensor*> others);

// The compiled model for inputs of `input_shape` (without the batch axis).
Sequential build_model(const Settings& settings, const PreparedData& data, const Shape& input_shape);
FitOptions fit_options(const Settings& settings, const PreparedData& data);
int epochs_for(const Settings& settings, const PreparedData& data);

}  // namespace citadel::cli
