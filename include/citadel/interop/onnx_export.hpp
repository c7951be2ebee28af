// citadel models out as ONNX (opset 13), for ONNX Runtime and the other runtimes that read
// it. Built with libonnx's protobuf classes and validated by its checker before a byte is
// written. The graph takes and gives what the model does: (N, features) or channels-last
// images (N, H, W, C); convolutions run in ONNX's NCHW between transposes, Flatten
// flattens in Keras's NHWC order, Dropout is left out (inference).
#pragma once

#include <map>
#include <string>

#include "citadel/model/model.hpp"

namespace citadel {

struct OnnxExportOptions {
  int opset = 13;
  std::string producer = "citadel";
  // A saved model's preprocessing record (Preprocessor::describe()): its mean imputation of
  // missing values (NaN) and its standard or min-max scaling become nodes in front, so the
  // graph takes the feature columns as `citadel predict` reads them (one-hot columns
  // already encoded). Empty, or pixel scaling: the graph takes what the model takes.
  std::string preprocessing;
  // Written as the ONNX model's metadata_props (key → value): e.g. a text model's vectorizer
  // record, which no ONNX operator up to opset 17 can apply, for the user to reproduce it.
  std::map<std::string, std::string> metadata;
};

// The ONNX model's bytes (a serialized ModelProto), checked. NotImplementedError naming
// the layer for what ONNX export does not cover.
std::string onnx_model_bytes(Model& model, const OnnxExportOptions& options = {});
// Writes them atomically to `path`.
void export_onnx(Model& model, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace citadel
