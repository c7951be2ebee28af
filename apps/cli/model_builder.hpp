// The model the command line asks for, its preprocessing, and the fit options of the
// training flags.
#pragma once

#include <initializer_list>

#include "citadel/data/preprocessor.hpp"
#include "citadel/model/sequential.hpp"
#include "data_source.hpp"
#include "flags.hpp"

namespace citadel::cli {

// Mean imputation (with --missing mean) and scaling, fitted on training rows only.
using FeaturePreprocessor = Preprocessor;
// The preprocessing --missing and --scale ask for (pixels for images), not yet fitted.
Preprocessor make_preprocessor(const DataFlags& flags, const PreparedData& data);
// A preprocessor fitted on data.x_train, already applied to it and to each of `others`.
Preprocessor preprocess(const DataFlags& flags, PreparedData& data, std::initializer_list<Tensor*> others);

// The compiled model for inputs of `input_shape` (without the batch axis).
Sequential build_model(const ModelFlags& flags, const PreparedData& data, const Shape& input_shape);

// --precision for a loaded model (a model file holds no precision); says on stderr when
// the processor cannot compute in it.
void apply_precision(Sequential& model, const ModelFlags& flags);
// The training flags as fit options (--lr-schedule starts from the model's learning rate).
FitOptions fit_options(const TrainingFlags& flags, const ModelFlags& model, const PreparedData& data);
int epochs_for(const TrainingFlags& flags, const PreparedData& data);
int64_t batch_size_for(const TrainingFlags& flags, const PreparedData& data);

}  // namespace citadel::cli
