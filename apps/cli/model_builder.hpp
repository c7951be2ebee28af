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
// The scaling --scale asks for: by default standard, and under --dp minmax (its statistics
// are the declared bounds, which standard scaling has no counterpart of).
std::string scaling_for(const DataFlags& flags, bool private_training);
// The preprocessing --missing and --scale ask for (pixels for images), not yet fitted.
Preprocessor make_preprocessor(const DataFlags& flags, const PreparedData& data, bool private_training = false);
// A preprocessor fitted on data.x_train (or taken from --schema: nothing is then learned
// from the rows), already applied to it and to each of `others`. Under
// `private_training`, imputation and scaling learned from the rows are refused.
Preprocessor preprocess(const DataFlags& flags, PreparedData& data, std::initializer_list<Tensor*> others,
                        bool private_training = false);

// The compiled model for inputs of `input_shape` (without the batch axis): --layers as a
// Sequential chain, or --model-config's Sequential chain or Functional graph (whose Inputs
// must declare the shapes the data gives; ValueError naming the Input otherwise).
Model build_model(const ModelFlags& flags, const PreparedData& data, const Shape& input_shape);

// The compile settings per output of a model of several outputs whose outputs `data` has
// matched with its labels (data.outputs): each output's loss and metrics (checked against
// its width; ValueError naming the output) and the loss weights. No optimizer.
CompileOptions several_outputs_compile(const Model& model, const PreparedData& data);

// --precision for a loaded model (a model file holds no precision); says on stderr when
// the processor cannot compute in it.
void apply_precision(Model& model, const ModelFlags& flags);
// The training flags as fit options (--lr-schedule starts from the model's learning rate).
// `private_data`: the training rows' figures are private (--dp): the CSV log is written 0600.
FitOptions fit_options(const TrainingFlags& flags, const ModelFlags& model, const PreparedData& data,
                       bool private_data = false);
int epochs_for(const TrainingFlags& flags, const PreparedData& data);
int64_t batch_size_for(const TrainingFlags& flags, const PreparedData& data);

}  // namespace citadel::cli
