// One output of a saved model of several outputs, as a model of its own (--output NAME of
// attack and audit): that output's part of the graph with the saved weights, and its label.
#pragma once

#include <string>

#include "saved_pipeline.hpp"

namespace citadel::cli {

// `saved` narrowed to the output `output`: the layers it depends on (sharing nothing with
// `saved`, holding the same weights, so it predicts exactly what that output of `saved`
// predicts), compiled with that output's loss, and its data reading that output's label
// alone. A model of one output is returned as it is (`output` empty or its output's name).
// ValueError naming --output when `command` is given a model of several outputs without
// --output, or a name that is not one of its outputs.
SavedPipeline select_output(SavedPipeline saved, const std::string& output, const std::string& command);

}  // namespace citadel::cli
