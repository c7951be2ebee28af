// Attribute inference (Yeom, Giacomelli, Fredrikson and Jha 2018; Fredrikson et al. 2014):
// an attacker who knows a row's label and every feature but one column queries the model
// with each candidate value of that column and guesses the one whose loss on the true label,
// less the log of the value's share of the rows (categories; a number's grid is flat), is
// lowest: for a cross-entropy loss, the value of largest p(label | value)·prior. Its accuracy is set against a baseline that never queries the model (always the
// most common candidate), on the training rows and on rows the model never saw: an advantage
// on members that non-members do not show is what the model leaks about its training rows.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class Model;

// The column attacked: its encoded features in a row of x (one for a number; its one-hot
// block for categories, each candidate one of them set to 1).
struct AttributeSpec {
  std::string name;               // for messages and reports
  std::vector<int64_t> features;  // indices into a row
  bool categorical = false;
};

struct AttributeInferenceOptions {
  int grid = 10;           // a number's candidates: the quantiles (i + ½)/grid of the audited rows' values
  int resamples = 1000;    // bootstrap resamples of the rows
  double confidence = 0.95;
  uint64_t seed = 1;       // the resamples
};

// The figures on one set of rows. A guess is right when it is the row's own category, or for
// a number the candidate nearest the row's value (its bin of the grid: "within-bin accuracy").
struct AttributeInferenceFigures {
  int64_t rows = 0;
  double attack_accuracy = 0, baseline_accuracy = 0;
  double advantage = 0;                         // attack − baseline, per row averaged
  double advantage_low = 0, advantage_high = 0;  // its percentile bootstrap interval
};

struct AttributeInferenceResult {
  std::string attribute;
  bool categorical = false;
  std::vector<double> candidates;  // a number: the grid, in the model's input units (after scaling)
  int64_t candidate_count = 0;
  int64_t baseline_guess = 0;  // the candidate the baseline always guesses (the most common over all rows)
  AttributeInferenceFigures members, non_members;
  double gap = 0, gap_low = 0, gap_high = 0;  // members' advantage − non-members', with its interval
  double confidence = 0.95;
  int resamples = 0;
};

// The model's loss per row of (x, y): the attacker's query.
using RowLossQuery = std::function<std::vector<double>(ConstTensorView x, ConstTensorView y)>;

AttributeInferenceResult attribute_inference(const RowLossQuery& loss, ConstTensorView member_x,
                                             ConstTensorView member_y, ConstTensorView non_member_x,
                                             ConstTensorView non_member_y, const AttributeSpec& attribute,
                                             const AttributeInferenceOptions& options = {});
// The same with `model`'s per-row loss (a model of one input).
AttributeInferenceResult attribute_inference(Model& model, ConstTensorView member_x, ConstTensorView member_y,
                                             ConstTensorView non_member_x, ConstTensorView non_member_y,
                                             const AttributeSpec& attribute,
                                             const AttributeInferenceOptions& options = {});

// The percentile bootstrap interval at `confidence` of mean(a) − mean(b) (b empty: of mean(a)):
// `resamples` times, a and b are each resampled with replacement (row i of a resample is
// a[rng.below(|a|)], a's rows first, then b's, from one Rng(seed)), and the interval's ends are
// the (1 ∓ confidence)/2 quantiles of the resampled statistics (linear interpolation between
// order statistics, as numpy.quantile's default).
struct BootstrapInterval {
  double low = 0, high = 0;
};
BootstrapInterval bootstrap_interval(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                     double confidence, uint64_t seed);

}  // namespace citadel
