// ONNX's LSTM, GRU and RNN run over (T, N, D) with weights gate-major and transposed —
// (directions, G·U, D) and (directions, G·U, U) — and biases [input; recurrent] (directions,
// 2·G·U); LSTM's gates in ONNX's order i, o, f, c (Keras's i, f, c, o); GRU's z, r, h as
// Keras, Keras 3's reset_after being ONNX's linear_before_reset = 1. go_backwards is the
// reverse direction, its sequence put back in Keras's reading order; a Bidirectional's
// backward copy is the bidirectional node's second direction, whose outputs ONNX keeps at
// their steps' times, as Bidirectional gives them. A masked sequence runs packed, with
// sequence_lens (masked_outputs).
#include "onnx_recurrent_layers.hpp"

#include <limits>

#include "citadel/core/error.hpp"
#include "onnx_masks.hpp"

namespace citadel::detail {
namespace {

using nlohmann::json;

// One direction of the node: its cell's config and its parameters' prefix.
struct Direction {
  const json* config;
  std::string prefix;
};

int64_t gate_count(const std::string& type) { return type == "LSTM" ? 4 : type == "GRU" ? 3 : 1; }

std::string onnx_activation(const json& activation, const std::string& where) {
  const std::string a = activation.is_string() ? activation.get<std::string>() : "";
  if (a == "tanh") return "Tanh";
  if (a == "sigmoid") return "Sigmoid";
  if (a == "relu") return "Relu";
  throw NotImplementedError(where + ": activation " + activation.dump() + " has no ONNX form here");
}

void set_string(onnx::NodeProto& node, const char* name, const std::string& value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::STRING);
  attribute.set_s(value);
}

class RecurrentExport {
 public:
  RecurrentExport(OnnxGraphBuilder& g, const OnnxRecurrentCall& call, const OnnxParameterReader& parameter)
      : g_(g), call_(call), parameter_(parameter), where_("onnx export: layer " + call.name + " (" + call.type + ")") {
    read_directions();
  }

  std::vector<OnnxFlow> outputs() {
    if (!call_.mask.empty()) return masked_outputs();
    const std::string& name = call_.name;
    const int64_t directions = int64_t(directions_.size());
    onnx::NodeProto* steps_first = nullptr;
    std::vector<std::string> inputs{g_.apply("Transpose", {call_.sequence.tensor}, name + "_steps_first", &steps_first),
                                    weights("_onnx_kernel", "/kernel", D_), weights("_onnx_recurrent", "/recurrent_kernel", U_),
                                    bias()};
    const int64_t per_direction = states_per_direction();
    if (!call_.initial_states.empty()) {
      CITADEL_CHECK(int64_t(call_.initial_states.size()) == per_direction * directions, InternalError, where_, ": ",
                    call_.initial_states.size(), " initial states");
      inputs.push_back("");  // sequence_lens
      for (int64_t k = 0; k < per_direction; ++k) inputs.push_back(initial_state(k, per_direction));
    }
    while (inputs.back().empty()) inputs.pop_back();
    set_ints(*steps_first, "perm", {1, 0, 2});
    const std::string sequence = g_.fresh(name + "_sequence"), last = g_.fresh(name + "_last");
    onnx::NodeProto& cell = g_.node(type_ == "SimpleRNN" ? "RNN" : type_, inputs, sequence);
    cell.add_output(last);
    const bool states = first().value("return_state", false);
    std::string last_cell;
    if (type_ == "LSTM" && states) cell.add_output(last_cell = g_.fresh(name + "_last_cell"));
    set_int(cell, "hidden_size", U_);
    if (type_ == "GRU") set_int(cell, "linear_before_reset", reset_after_ ? 1 : 0);
    if (directions == 2) set_string(cell, "direction", "bidirectional");
    if (backwards_) set_string(cell, "direction", "reverse");  // reads the steps last to first, as go_backwards
    add_activations(cell);

    std::vector<OnnxFlow> out;
    if (first().value("return_sequences", false)) {
      std::vector<std::string> each;
      for (int64_t d = 0; d < directions; ++d) each.push_back(direction_of(sequence, 1, d, "_steps"));
      std::string merged = merge(each, "_sequences");
      if (backwards_)  // ONNX keeps each output at its step's time; Keras lists them in reading order
        merged = g_.apply("Slice",
                          {merged, g_.int64s(name + "_last_step", {-1}),
                           g_.int64s(name + "_before_first", {std::numeric_limits<int64_t>::min()}),
                           g_.int64s(name + "_time_axis", {0}), g_.int64s(name + "_step_back", {-1})},
                          name + "_reading_order");
      onnx::NodeProto* batch_first = nullptr;
      out.push_back({g_.apply("Transpose", {merged}, name, &batch_first), 3, false});
      set_ints(*batch_first, "perm", {1, 0, 2});
    } else {
      std::vector<std::string> each;
      for (int64_t d = 0; d < directions; ++d) each.push_back(direction_of(last, 0, d, "_last"));
      out.push_back({merge(each, ""), 2, false});
    }
    if (states)
      for (int64_t d = 0; d < directions; ++d) {
        out.push_back({direction_of(last, 0, d, "_state_h"), 2, false});
        if (type_ == "LSTM") out.push_back({direction_of(last_cell, 0, d, "_state_c"), 2, false});
      }
    return out;
  }

 private:
  // A masked sequence (docs/INTEROP.md): row n's kept steps gathered to its front in time
  // order (a one-hot (T, T) product, exact), run with sequence_lens = their count (at least 1:
  // the operator's page leaves a length of 0 unsaid; such a row's outputs are the initial
  // states anyway, put in by Where), each direction's outputs put back at their steps by another
  // one-hot product. A forward direction's output at step t is the one after the last kept
  // step up to t, a reverse direction's the one after the first kept step from t on; where no
  // step was kept yet, the initial state (zeros unless given). A row keeping no step keeps its
  // initial states.
  std::vector<OnnxFlow> masked_outputs() {
    const std::string& name = call_.name;
    const int64_t T = call_.input_shape[0], directions = int64_t(directions_.size());
    const std::string mask = call_.mask;
    onnx::NodeProto* node = nullptr;
    const std::string through = g_.apply("CumSum", {mask, g_.int64s(name + "_time_axis_scalar", {1})}, name + "_kept_through");
    const std::string before = g_.apply("Sub", {through, mask}, name + "_kept_before");
    const std::string count = g_.apply("ReduceSum", {mask, g_.int64s("steps_axis", {1})}, name + "_kept_steps", &node);
    set_int(*node, "keepdims", 0);
    std::vector<float> slot_numbers(static_cast<size_t>(T));
    for (int64_t j = 0; j < T; ++j) slot_numbers[size_t(j)] = float(j);
    const std::string slots = g_.floats(name + "_slots", {T}, slot_numbers);
    // gather[n, j, t] = 1 where step t is row n's j-th kept step.
    const std::string at_slot = g_.apply(
        "Equal", {unsqueeze(before, {1}), unsqueeze(slots, {1})}, name + "_at_slot");  // (N, 1, T) vs (T, 1)
    const std::string gather = g_.apply("Mul", {as_float(at_slot), unsqueeze(mask, {1})}, name + "_gather");
    const std::string packed = g_.apply("MatMul", {gather, call_.sequence.tensor}, name + "_packed");
    onnx::NodeProto* steps_first = nullptr;
    std::vector<std::string> inputs{g_.apply("Transpose", {packed}, name + "_steps_first", &steps_first),
                                    weights("_onnx_kernel", "/kernel", D_), weights("_onnx_recurrent", "/recurrent_kernel", U_),
                                    bias()};
    set_ints(*steps_first, "perm", {1, 0, 2});
    onnx::NodeProto* lengths = nullptr;
    inputs.push_back(g_.apply("Cast", {g_.apply("Max", {count, g_.scalar("one", 1.0f)}, name + "_lengths")},
                              name + "_lengths", &lengths));
    set_int(*lengths, "to", onnx::TensorProto::INT32);
    const int64_t per_direction = states_per_direction();
    if (!call_.initial_states.empty())
      for (int64_t k = 0; k < per_direction; ++k) inputs.push_back(initial_state(k, per_direction));
    const std::string sequence = g_.fresh(name + "_sequence"), last = g_.fresh(name + "_last");
    const std::string last_cell = type_ == "LSTM" ? g_.fresh(name + "_last_cell") : "";
    onnx::NodeProto& cell = g_.node(type_ == "SimpleRNN" ? "RNN" : type_, inputs, sequence);
    cell.add_output(last);
    if (!last_cell.empty()) cell.add_output(last_cell);
    set_int(cell, "hidden_size", U_);
    if (type_ == "GRU") set_int(cell, "linear_before_reset", reset_after_ ? 1 : 0);
    if (directions == 2) set_string(cell, "direction", "bidirectional");
    if (backwards_) set_string(cell, "direction", "reverse");
    add_activations(cell);

    // A row with a kept step has run; one without keeps its initial states.
    const std::string ran = g_.apply("Greater", {unsqueeze(count, {1}), g_.scalar("padding_id", 0.0f)}, name + "_ran");
    std::vector<OnnxFlow> out;
    if (first().value("return_sequences", false)) {
      std::vector<std::string> each;
      for (int64_t d = 0; d < directions; ++d) {
        const bool reverse = d == 1 || backwards_;
        // The slot whose output step t shows, and whether there is one.
        const std::string slot =
            reverse ? before : g_.apply("Sub", {through, g_.scalar("one", 1.0f)}, name + "_last_kept_slot");
        const std::string shown = reverse ? g_.apply("Less", {before, unsqueeze(count, {1})}, name + "_kept_after")
                                          : g_.apply("Greater", {through, g_.scalar("padding_id", 0.0f)}, name + "_kept_up_to");
        const std::string pick = g_.apply(
            "Mul",
            {as_float(g_.apply("Equal", {unsqueeze(slot, {2}), slots}, name + "_picks")), unsqueeze(as_float(shown), {2})},
            name + "_pick");  // (N, T, T)
        onnx::NodeProto* batch_first = nullptr;
        const std::string steps = g_.apply("Transpose", {direction_of(sequence, 1, d, "_steps")}, name + "_by_row",
                                           &batch_first);
        set_ints(*batch_first, "perm", {1, 0, 2});
        std::string y = g_.apply("MatMul", {pick, steps}, name + "_unpacked");
        if (!call_.initial_states.empty())
          y = g_.apply("Where", {unsqueeze(shown, {2}), y, unsqueeze(initial_h(d), {1})}, name + "_carried");
        if (zero_output_for_mask(d)) y = g_.apply("Mul", {y, unsqueeze(mask, {2})}, name + "_zeroed");
        each.push_back(y);
      }
      std::string merged = merge(each, "_sequences");
      if (backwards_)  // Keras lists go_backwards's outputs in reading order
        merged = g_.apply("Slice",
                          {merged, g_.int64s(name + "_last_step", {-1}),
                           g_.int64s(name + "_before_first", {std::numeric_limits<int64_t>::min()}),
                           g_.int64s(name + "_time_axis", {1}), g_.int64s(name + "_step_back", {-1})},
                          name);
      out.push_back({merged, 3, false});
    } else {
      std::vector<std::string> each;
      for (int64_t d = 0; d < directions; ++d) each.push_back(final_state(last, ran, d, 0, "_last"));
      out.push_back({merge(each, ""), 2, false});
    }
    if (first().value("return_state", false))
      for (int64_t d = 0; d < directions; ++d) {
        out.push_back({final_state(last, ran, d, 0, "_state_h"), 2, false});
        if (type_ == "LSTM") out.push_back({final_state(last_cell, ran, d, 1, "_state_c"), 2, false});
      }
    return out;
  }

  // Direction d's final state k (h 0, LSTM's c 1), or its initial one where the row ran no step.
  std::string final_state(const std::string& value, const std::string& ran, int64_t d, int64_t k,
                          const std::string& hint) {
    const std::string state = direction_of(value, 0, d, hint);
    const std::string initial = call_.initial_states.empty()
                                    ? g_.scalar("zero_state", 0.0f)
                                    : call_.initial_states[size_t(d * states_per_direction() + k)].tensor;
    return g_.apply("Where", {ran, state, initial}, call_.name + hint);
  }

  std::string initial_h(int64_t d) const {
    return call_.initial_states[size_t(d * states_per_direction())].tensor;
  }

  // Keras zeroes a masked step's output where zero_output_for_mask is set; Bidirectional sets
  // it on both its copies when they return sequences.
  bool zero_output_for_mask(int64_t d) const {
    return call_.type == "Bidirectional" || directions_[size_t(d)].config->value("zero_output_for_mask", false);
  }

  std::string unsqueeze(const std::string& x, const std::vector<int64_t>& axes) {
    std::string key = call_.name + "_unsqueeze";
    for (const int64_t a : axes) key += "_" + std::to_string(a);
    return g_.apply("Unsqueeze", {x, g_.int64s(key, axes)}, call_.name + "_expanded");
  }

  std::string as_float(const std::string& flags) { return onnx_as_float(g_, flags, call_.name + "_as_float"); }

  // The states each direction has: h, and LSTM's c.
  int64_t states_per_direction() const { return type_ == "LSTM" ? 2 : 1; }

  const json& first() const { return *directions_[0].config; }

  void read_directions() {
    const json& config = *call_.config;
    if (call_.type != "Bidirectional") {
      type_ = call_.type;
      directions_ = {{&config, call_.name}};
      backwards_ = config.value("go_backwards", false);
    } else {
      const json &forward = config.at("layer"), &backward = config.at("backward_layer");
      type_ = forward.at("class_name").get<std::string>();
      CITADEL_CHECK(backward.at("class_name").get<std::string>() == type_, NotImplementedError, where_,
                    ": its backward layer is a ", backward.at("class_name").get<std::string>(), " and its forward layer a ",
                    type_, "; ONNX's bidirectional node runs one kind of cell");
      directions_ = {{&forward.at("config"), call_.name + "/" + forward.at("config").at("name").get<std::string>()},
                     {&backward.at("config"), call_.name + "/" + backward.at("config").at("name").get<std::string>()}};
      CITADEL_CHECK(!forward.at("config").value("go_backwards", false), NotImplementedError, where_,
                    ": its forward layer reads backwards, which ONNX's bidirectional node does not");
      merge_mode_ = config.value("merge_mode", std::string("concat"));
      CITADEL_CHECK(merge_mode_ == "concat" || merge_mode_ == "sum" || merge_mode_ == "mul" || merge_mode_ == "ave",
                    NotImplementedError, where_, ": merge_mode ", merge_mode_, " is not exported");
    }
    CITADEL_CHECK(type_ == "LSTM" || type_ == "GRU" || type_ == "SimpleRNN", NotImplementedError, where_,
                  ": wraps a ", type_, ", which has no ONNX export");
    U_ = first().at("units").get<int64_t>();
    D_ = call_.input_shape[1];
    G_ = gate_count(type_);
    reset_after_ = type_ == "GRU" && first().value("reset_after", true);
    bias_ = parameter_(directions_[0].prefix + "/bias").has_value();
    for (const Direction& d : directions_) {
      CITADEL_CHECK(d.config->at("units").get<int64_t>() == U_, NotImplementedError, where_,
                    ": its two directions have different units, which ONNX's bidirectional node does not allow");
      CITADEL_CHECK(type_ != "GRU" || d.config->value("reset_after", true) == reset_after_, NotImplementedError,
                    where_, ": its two directions differ in reset_after");
      CITADEL_CHECK(parameter_(d.prefix + "/bias").has_value() == bias_, NotImplementedError, where_,
                    ": one of its directions has a bias and the other none");
    }
  }

  std::vector<float> values(const std::string& parameter) const {
    std::optional<std::vector<float>> v = parameter_(parameter);
    CITADEL_CHECK(v.has_value(), InternalError, "onnx export: no parameter ", parameter);
    return std::move(*v);
  }

  // Keras's gate g in ONNX's order.
  int64_t keras_gate(int64_t g) const {
    static constexpr int64_t kLstm[] = {0, 3, 1, 2};
    return G_ == 4 ? kLstm[g] : g;
  }

  // (rows, G·U) as Keras keeps it → (G·U, rows) in ONNX's gate order, each direction's after
  // the other.
  std::string weights(const char* suffix, const char* parameter, int64_t rows) {
    const int64_t GU = G_ * U_;
    return g_.floats(call_.name + suffix, {int64_t(directions_.size()), GU, rows}, [&] {
      std::vector<float> out;
      for (const Direction& d : directions_) {
        const std::vector<float> m = values(d.prefix + parameter);
        const size_t base = out.size();
        out.resize(base + size_t(GU * rows));
        for (int64_t g = 0; g < G_; ++g)
          for (int64_t j = 0; j < U_; ++j)
            for (int64_t r = 0; r < rows; ++r)
              out[base + size_t((g * U_ + j) * rows + r)] = m[size_t(r * GU + keras_gate(g) * U_ + j)];
      }
      return out;
    });
  }

  // [input bias; recurrent bias] per direction; Keras keeps a recurrent bias only in a GRU
  // with reset_after. "" (none) without bias.
  std::string bias() {
    if (!bias_) return "";
    const int64_t GU = G_ * U_;
    return g_.floats(call_.name + "_onnx_bias", {int64_t(directions_.size()), 2 * GU}, [&] {
      std::vector<float> out;
      for (const Direction& d : directions_) {
        const std::vector<float> b = values(d.prefix + "/bias");
        const size_t base = out.size();
        out.resize(base + size_t(2 * GU), 0.0f);
        for (int64_t half = 0; half < (reset_after_ ? 2 : 1); ++half)
          for (int64_t g = 0; g < G_; ++g)
            std::copy_n(b.data() + half * GU + keras_gate(g) * U_, U_, out.begin() + long(base + half * GU + g * U_));
      }
      return out;
    });
  }

  // initial_h (k = 0) or initial_c (k = 1): (directions, N, U) from the call's states.
  std::string initial_state(int64_t k, int64_t per_direction) {
    std::vector<std::string> each;
    for (size_t d = 0; d < directions_.size(); ++d)
      each.push_back(g_.apply("Unsqueeze", {call_.initial_states[d * size_t(per_direction) + size_t(k)].tensor,
                                            g_.int64s(call_.name + "_axis0", {0})},
                              call_.name + (k == 0 ? "_initial_h" : "_initial_c")));
    if (each.size() == 1) return each[0];
    onnx::NodeProto* concat = nullptr;
    const std::string both = g_.apply("Concat", each, call_.name + "_initial_states", &concat);
    set_int(*concat, "axis", 0);
    return both;
  }

  // Direction d of an output whose directions are on `axis` (Y: 1, Y_h and Y_c: 0).
  std::string direction_of(const std::string& value, int64_t axis, int64_t d, const std::string& hint) {
    const std::string axes = g_.int64s(call_.name + (axis == 0 ? "_axis0" : "_axis1"), {axis});
    std::string picked = value;
    if (directions_.size() > 1) {
      onnx::NodeProto* gather = nullptr;
      picked = g_.apply("Gather", {value, g_.int64s(call_.name + (d == 0 ? "_first" : "_second"), {d})},
                        call_.name + hint, &gather);
      set_int(*gather, "axis", axis);
    }
    return g_.apply("Squeeze", {picked, axes}, call_.name + hint);
  }

  // Bidirectional's merge of its two directions (one direction: itself), on the last axis.
  std::string merge(const std::vector<std::string>& each, const std::string& hint) {
    if (each.size() == 1) return each[0];
    const std::string name = call_.name + hint + "_" + merge_mode_;
    if (merge_mode_ == "sum") return g_.apply("Add", each, name);
    if (merge_mode_ == "mul") return g_.apply("Mul", each, name);
    if (merge_mode_ == "ave")  // (a + b) / 2, which Mul by 0.5 gives exactly
      return g_.apply("Mul", {g_.apply("Add", each, name), g_.scalar("half", 0.5f)}, name);
    onnx::NodeProto* concat = nullptr;
    const std::string joined = g_.apply("Concat", each, name, &concat);
    set_int(*concat, "axis", -1);
    return joined;
  }

  // Per direction: the gates' activation (not RNN's), the cell's, and LSTM's output one.
  void add_activations(onnx::NodeProto& cell) const {
    onnx::AttributeProto& activations = *cell.add_attribute();
    activations.set_name("activations");
    activations.set_type(onnx::AttributeProto::STRINGS);
    for (const Direction& d : directions_) {
      const std::string act = onnx_activation(d.config->value("activation", json("tanh")), where_);
      if (type_ != "SimpleRNN")
        activations.add_strings(onnx_activation(d.config->value("recurrent_activation", json("sigmoid")), where_));
      activations.add_strings(act);
      if (type_ == "LSTM") activations.add_strings(act);
    }
  }

  OnnxGraphBuilder& g_;
  const OnnxRecurrentCall& call_;
  const OnnxParameterReader& parameter_;
  const std::string where_;
  std::string type_, merge_mode_;
  std::vector<Direction> directions_;
  int64_t U_ = 0, D_ = 0, G_ = 1;
  bool reset_after_ = false, bias_ = false, backwards_ = false;
};

}  // namespace

std::vector<OnnxFlow> add_onnx_recurrent(OnnxGraphBuilder& g, const OnnxRecurrentCall& call,
                                         const OnnxParameterReader& parameter) {
  return RecurrentExport(g, call, parameter).outputs();
}

}  // namespace citadel::detail
