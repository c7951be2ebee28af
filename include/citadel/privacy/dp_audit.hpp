// The DP self-audit: an empirical lower bound on the ε of a private training run, set beside
// the accountant's ε (an upper bound that holds only if the code does what its analysis
// assumes). White-box, in the style of Nasr et al. (USENIX Security 2023, "Tight auditing")
// and Steinke, Nasr and Jagielski (NeurIPS 2023, one training run): the auditor sees every
// step's noisy sum of clipped gradients (PrivateTraining::observe_noisy_sum) and the weights
// it was computed at.
//
// Three kinds of evidence, each turned into a lower bound at the confidence level:
// - Dirac gradient canaries: m coordinates of the parameter vector, each "in" with
//   probability ½; an "in" canary adds C to its coordinate in the steps that sample it (at the
//   run's sampling rate). Added to the observed sum rather than before the noise, which is
//   the same in distribution since the noise is drawn independently of the batch. They test
//   the noise the run really adds, not the clipping.
// - Input canaries: crafted rows (each feature at the data's minimum or maximum, the label of
//   another row), each in the training rows with probability ½. They go through the run's
//   sampling, clipping and every layer; each step the auditor computes the gradient it
//   should contribute (clipped) at the current weights and projects the noisy sum onto it.
//   A layer, a process or a pipeline stage that lets a row move the sum by more than C shows.
//   Each step is scored against the hypothesis that the canary moved the sum by its whole
//   (unclipped) gradient, the shift a clipping defect gives; any score is valid for the bounds.
// - The same input canaries in the black-box setting: their loss under the final model.
// - The measured noise: the noisy sum's per-coordinate variance (coordinates chosen on odd
//   steps, measured on even ones) bounds the noise's standard deviation from above, and the
//   subsampled Gaussian with that noise has, by its privacy loss distribution, at least a
//   computable ε: the tight white-box figure, resting on the noise being Gaussian.
// - The sensitivity probe: the real step, run without noise on one input canary at a time
//   (at the first and last weights of every run, on every rank), reports what the row adds
//   to the sum; more than C scales the measured noise down by C / (what it added).
// And, when the pipeline releases something computed from its rows besides the weights
// (preprocessing statistics), that release is audited with one canary per trial.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "citadel/model/model.hpp"
#include "citadel/privacy/audit_statistics.hpp"
#include "citadel/privacy/private_fit.hpp"

namespace citadel {

// What a pipeline computes from its rows and releases besides the weights (its
// preprocessing statistics, say), as numbers. A private pipeline's does not depend on them.
using PipelineRelease = std::function<std::vector<double>(ConstTensorView x, ConstTensorView y)>;

// One training run under audit: trains `model` on rows x, y (the data and the canaries in
// this run) as the pipeline does, with dp.observe_noisy_sum called at every step. The
// default is fit_private(model, x, y, fit, dp). Tests plant defects here.
using PrivateTrainer = std::function<void(Model& model, ConstTensorView x, ConstTensorView y, const FitOptions& fit,
                                          const DPSGDOptions& dp)>;

struct DpAuditOptions {
  int64_t gradient_canaries = 1000;  // at most the number of trainable parameters
  int64_t input_canaries = 64;
  int runs = 1;                      // training runs; the canaries' evidence is pooled
  double confidence = 0.95;
  // Which canaries are in and which coordinates and rows they are; drawn from the operating
  // system by default (the training run never sees them either way).
  std::optional<uint64_t> seed = std::nullopt;
  // The pipeline's release and how many trials (one canary each, in with probability ½) audit it.
  PipelineRelease release = nullptr;
  int release_trials = 400;
  // The share of coordinates (chosen on odd steps for the smallest variance) whose variance
  // on even steps bounds the noise.
  double noise_coordinates = 0.25;
};

struct DpAuditResult {
  // The run as the accountant sees it.
  double claimed_epsilon = 0, delta = 0, sampling_rate = 0, noise_multiplier = 0, l2_norm_clip = 0;
  int64_t steps = 0, training_rows = 0;  // a run's steps; the rows of the first run (with its canaries)
  int runs = 0;
  // The bounds (each at its share of the confidence, so that all hold together).
  EpsilonLowerBound gradient_threshold, gradient_one_run, input_threshold, input_one_run, release;
  EpsilonLowerBound final_model_threshold, final_model_one_run;  // the input canaries' loss under the final model
  double measured_noise_multiplier = 0;  // upper confidence bound of the noise's std / C
  // The most any input canary added to a step's sum in the real step, run without noise at
  // the first and the last weights of each run, on every rank (and the rank); at most C
  // when clipping holds.
  double probed_sensitivity = 0;
  int probed_rank = 0;
  // ε of the subsampled Gaussian with that noise against a row of sensitivity
  // max(C, probed_sensitivity): a lower bound, resting on the noise being Gaussian.
  double noise_epsilon = 0;
  // The largest of them, which holds at `confidence`; the audit contradicts the accountant
  // when it exceeds claimed_epsilon.
  double epsilon_lower_bound = 0;
  std::string strongest;  // which evidence gave it
  bool contradicts_accountant = false;
  double confidence = 0;
  // Every canary's score (higher: more likely in) and whether it was in, over all runs.
  std::vector<double> gradient_scores, input_scores, release_scores;
  std::vector<double> final_model_scores;  // −loss of each input canary under its run's final model (flags: input_in)
  std::vector<uint8_t> gradient_in, input_in, release_in;
  double training_seconds = 0, audit_seconds = 0;  // in the runs; in the auditor's own work
};

// Audits `runs` private training runs of the model make_model returns (fresh and compiled,
// the same architecture every time) on rows x, y (one input and one output; on a group of
// processes, this rank's rows, with fit.communicator set) under `fit` and `dp`. The
// auditor's work runs on rank 0, whose result holds the bounds.
DpAuditResult audit_private_training(const std::function<Model()>& make_model, ConstTensorView x, ConstTensorView y,
                                     const FitOptions& fit, const DPSGDOptions& dp, const DpAuditOptions& audit = {},
                                     const PrivateTrainer& trainer = nullptr);

// The crafted input canaries for rows x, y: each a random row with every feature moved to its
// observed minimum or maximum (a corner of the data's box) and the label of another random row.
void make_input_canaries(ConstTensorView x, ConstTensorView y, int64_t count, uint64_t seed, Tensor& canary_x,
                         Tensor& canary_y);

}  // namespace citadel
