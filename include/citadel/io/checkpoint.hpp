// Checkpoints: everything needed to continue a training run exactly — weights, optimizer
// state, random states, epoch and history — in one safetensors file, written atomically,
// so a run killed at any instant resumes to bit-identical weights.
#pragma once

#include <string>

#include "citadel/io/protected_file.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

// Writes the state of the fit in progress (after a completed epoch), encrypted and signed
// (for the purpose "checkpoint") as `protection` asks.
void save_checkpoint(Model& model, const std::string& path, const ModelProtection& protection = {});

// Restores weights, optimizer state and layers' random states into `model`, which must be
// built and compiled as the checkpointed one was; returns where to resume: pass it as
// FitOptions::resume with the same data and options. A checkpoint is untrusted input: with
// access.public_key it must carry a valid checkpoint signature, and every field of its
// training record is range-checked (counts, rates, finite optimizer state) before use.
ResumePoint restore_checkpoint(Model& model, const std::string& path, const ModelAccess& access = {});
// The same from a checkpoint's plaintext in memory (a fuzzer's input); `source` names it.
ResumePoint restore_checkpoint_from_bytes(Model& model, std::string_view bytes, const std::string& source);

// Saves a checkpoint every `every` epochs during fit.
class ModelCheckpoint final : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, int every = 1, ModelProtection protection = {});
  std::unique_ptr<Callback> clone() const override { return std::make_unique<ModelCheckpoint>(*this); }
  void on_epoch_saved(int epoch, Model& model) override;

 private:
  std::string path_;
  int every_;
  ModelProtection protection_;
};

}  // namespace citadel
