// Keras's map_graph (keras/src/ops/function.py) over a call graph: a depth-first walk from
// the outputs numbers the operations as it first meets them and lists the calls inputs
// first; the depths then run from the outputs back; the order is by depth, then number.
#include "keras_layer_order.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "citadel/core/error.hpp"

namespace citadel::detail {

namespace {

// The walk Keras makes recursively, with a stack of its own (a chain of 10,000 layers is
// 10,000 frames deep): calls in post-order, and each operation's first-meeting number.
struct Walk {
  std::vector<size_t> post_order;
  std::vector<int64_t> number;  // per operation; -1 when never met
};

Walk walk_from_outputs(const KerasCallGraph& graph) {
  Walk walk{{}, std::vector<int64_t>(graph.operations, -1)};
  std::vector<char> finished(graph.calls.size(), 0), in_progress(graph.calls.size(), 0);
  int64_t counter = 0;
  std::vector<std::pair<size_t, size_t>> stack;  // (call, next input to visit)
  auto enter = [&](size_t call) {
    CITADEL_ASSERT(!in_progress[call], "keras_operation_order: the graph has a cycle");
    const size_t operation = graph.calls[call].operation;
    if (walk.number[operation] < 0) walk.number[operation] = counter++;
    in_progress[call] = 1;
    stack.emplace_back(call, 0);
  };
  for (const size_t output : graph.outputs) {
    if (finished[output]) continue;
    enter(output);
    while (!stack.empty()) {
      auto& [call, next] = stack.back();
      const std::vector<size_t>& inputs = graph.calls[call].inputs;
      if (next < inputs.size()) {
        const size_t input = inputs[next++];
        if (!finished[input]) enter(input);
        continue;
      }
      finished[call] = 1;
      in_progress[call] = 0;
      walk.post_order.push_back(call);
      stack.pop_back();
    }
  }
  return walk;
}

}  // namespace

std::vector<size_t> keras_operation_order(const KerasCallGraph& graph) {
  const Walk walk = walk_from_outputs(graph);
  // A call's depth is one more than the deepest call reading it; an operation's is its
  // calls' largest, and a call takes its operation's depth as Keras does for shared layers.
  std::vector<int64_t> call_depth(graph.calls.size(), -1), operation_depth(graph.operations, -1);
  for (auto it = walk.post_order.rbegin(); it != walk.post_order.rend(); ++it) {
    const size_t call = *it, operation = graph.calls[call].operation;
    int64_t depth = std::max<int64_t>(call_depth[call], 0);
    depth = std::max(depth, std::max<int64_t>(operation_depth[operation], 0));
    operation_depth[operation] = depth;
    call_depth[call] = depth;
    for (const size_t input : graph.calls[call].inputs) call_depth[input] = std::max(call_depth[input], depth + 1);
  }
  std::vector<size_t> order;
  for (size_t operation = 0; operation < graph.operations; ++operation)
    if (operation_depth[operation] >= 0) order.push_back(operation);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (operation_depth[a] != operation_depth[b]) return operation_depth[a] > operation_depth[b];
    return walk.number[a] < walk.number[b];
  });
  return order;
}

}  // namespace citadel::detail
