// The ONNX graph as the exporter grows it: nodes with fresh value names that never collide
// with the graph's inputs and outputs, initializers made once however many nodes read them
// (a shared layer's weights), and the layout of 4-D values (Keras's NHWC or ONNX's NCHW),
// each value transposed at most once whichever nodes want it the other way.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace citadel::detail {

// A value flowing through the graph: its name, rank (with the batch axis), and for a 4-D
// value whether it is in ONNX's NCHW layout (else Keras's NHWC).
struct OnnxFlow {
  std::string tensor;
  int rank = 2;
  bool nchw = false;
};

class OnnxGraphBuilder {
 public:
  explicit OnnxGraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  // Names the graph's inputs and outputs hold, which fresh names skip.
  void reserve(const std::string& name) { used_.insert(name); }
  std::string fresh(const std::string& hint);

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output);
  // One node, its output a fresh name.
  std::string apply(const std::string& op, const std::vector<std::string>& inputs, const std::string& hint,
                    onnx::NodeProto** made = nullptr);

  // An initializer made the first time `key` is asked for (then reused), from `values()`.
  std::string floats(const std::string& key, const std::vector<int64_t>& dims,
                     const std::function<std::vector<float>()>& values);
  std::string floats(const std::string& key, const std::vector<int64_t>& dims, const std::vector<float>& values);
  std::string int64s(const std::string& key, const std::vector<int64_t>& values);
  std::string scalar(const std::string& key, float value) { return floats(key, {}, std::vector<float>{value}); }

  // The value in NCHW (NHWC) layout: itself, or its transpose (made once per value).
  void to_nchw(OnnxFlow& flow);
  void to_nhwc(OnnxFlow& flow);

 private:
  std::string transposed(const std::string& value, const std::vector<int64_t>& perm, const std::string& hint);

  onnx::GraphProto& graph_;
  std::set<std::string> used_;
  std::map<std::string, std::string> initializers_;  // key → value name
  std::map<std::string, std::string> twins_;         // a 4-D value → the same data in the other layout
  int counter_ = 0;
};

void set_ints(onnx::NodeProto& node, const char* name, const std::vector<int64_t>& values);
void set_int(onnx::NodeProto& node, const char* name, int64_t value);
void set_float(onnx::NodeProto& node, const char* name, float value);

}  // namespace citadel::detail
