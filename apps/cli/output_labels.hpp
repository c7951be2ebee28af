// Which label column each output of the model learns, and with which loss and weight:
// --label COLUMN / --loss LOSS for a model of one output, or --label OUTPUT=COLUMN (one per
// output), --loss [OUTPUT=]LOSS and --loss-weights OUTPUT=W,... for a model of several.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flags.hpp"

namespace citadel::cli {

struct OutputLabel {
  std::string output, column;
  std::string loss;  // empty: the default for its labels (as for one output)
};

struct LabelPlan {
  std::string column;  // one output: --label COLUMN ("": the last column)
  std::string loss;    // one output: --loss; several: the --loss without OUTPUT= (every output's default)
  std::vector<OutputLabel> outputs;            // several outputs, in --label order; empty for one
  std::map<std::string, double> loss_weights;  // by output
  bool several() const { return !outputs.empty(); }
};

// The plan the flags give, checked: an output or a column named twice, a --loss or a
// --loss-weights entry for an output no --label names, a weight that is not a number >= 0,
// and one output's form mixed with several outputs' are ValueErrors naming the argument.
LabelPlan label_plan(const DataFlags& data, const ModelFlags& model);

}  // namespace citadel::cli
