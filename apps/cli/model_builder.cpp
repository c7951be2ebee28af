// The model the command line asks for (--layers or --model-config, checked against the
// labels and the loss), its preprocessing, and the fit options of the training flags.
#include "model_builder.hpp"

#include <algorithm>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/pooling1d.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/model/model_config.hpp"
#include "layer_spec.hpp"

namespace citadel::cli {
namespace {

// 'a', 'b', 'c': names as the messages quote them.
std::string join_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "'" : ", '") + name + "'";
  return joined;
}

// The output layer a network needs for these labels, as UNITS:ACTIVATION.
std::string output_layer_for(const PreparedData& data) {
  if (!data.classification()) return "1:linear";
  if (data.loss == "binary_crossentropy") return "1:sigmoid";
  return std::to_string(data.schema.class_count()) + ":softmax";
}

// Checks an output of `outputs` units against its label and loss; says what to use instead
// (`which`: how messages name the output, empty for a model of one).
void check_output(int64_t outputs, const LabelSchema& label, const std::string& loss, const std::string& which) {
  const int64_t classes = label.class_count();
  const std::string fix = " (the defaults choose both when --layers/--model-config and --loss are not given)";
  const std::string the_model = which.empty() ? "the model" : "the output '" + which + "'";
  const std::string loss_flag = which.empty() ? "--loss " : "--loss " + which + "=";
  const std::string end = which.empty() ? "end the network" : "end the output '" + which + "'";
  if (label.type == LabelType::kValues) {
    CITADEL_CHECK(outputs == 1, ValueError, the_model, " has ", outputs, " outputs but '", label.name,
                  "' is one number to predict; ", end, " with 1:linear", fix);
    return;
  }
  std::string names;
  for (int64_t c = 0; c < std::min<int64_t>(classes, 5); ++c)
    names += (c ? ", '" : "'") + label.classes[size_t(c)] + "'";
  if (classes > 5) names += ", ...";
  if (loss == "binary_crossentropy") {
    CITADEL_CHECK(classes == 2, ValueError, "the label '", label.name, "' has ", classes, " classes (", names,
                  "); binary_crossentropy is for two. Use ", loss_flag, "sparse_categorical_crossentropy and ", end,
                  " with ", classes, ":softmax", fix);
    CITADEL_CHECK(outputs == 1, ValueError, "binary_crossentropy needs one sigmoid output, but ", the_model, " has ",
                  outputs, "; ", end, " with 1:sigmoid, or use ", loss_flag, "sparse_categorical_crossentropy with ",
                  outputs, ":softmax", fix);
    return;
  }
  CITADEL_CHECK(outputs == classes, ValueError, "the label '", label.name, "' has ", classes, " classes (", names,
                ") but ", the_model, " has ", outputs, " outputs; ", end, " with ", classes, ":softmax", fix);
}

std::vector<std::string> metrics_for(LabelType type) {
  if (type == LabelType::kClasses) return {"accuracy", "precision", "recall", "f1", "auc"};
  return {"mse", "mae"};
}

}  // namespace

// A model of several outputs (check_output_labels has matched its outputs with the labels):
// each output's width fits its label; the compile settings per output.
CompileOptions several_outputs_compile(const Model& model, const PreparedData& data) {
  const std::vector<std::string> names = model.output_names();
  const std::vector<Shape> shapes = model.output_shapes();
  CompileOptions options;
  for (size_t o = 0; o < names.size(); ++o) {
    const auto found = std::find(data.outputs.begin(), data.outputs.end(), names[o]);  // check_output_labels: there
    const auto i = static_cast<size_t>(found - data.outputs.begin());
    const LabelSchema label = data.schema.label_schema(i);
    check_output(shapes[o].numel(), label, data.losses[i], names[o]);
    options.losses[names[o]] = data.losses[i];
    options.output_metrics[names[o]] = metrics_for(label.type);
  }
  options.loss_weights = data.loss_weights;
  return options;
}

std::string scaling_for(const DataFlags& s, bool private_training) {
  if (!s.scale.empty()) return s.scale;
  return private_training ? "minmax" : "standard";
}

namespace {

// Token ids are not scaled: an Embedding looks them up as they are.
std::string scaling_for(const DataFlags& s, const PreparedData& data, bool private_training) {
  if (data.audio) return "none";  // the front end standardizes each coefficient
  if (!data.schema.text) return scaling_for(s, private_training);
  CITADEL_CHECK(s.scale.empty() || s.scale == "none", ValueError, "--scale ", s.scale,
                ": --text gives token ids, which are looked up, not scaled; leave --scale out");
  return "none";
}

}  // namespace

Preprocessor make_preprocessor(const DataFlags& s, const PreparedData& data, bool private_training) {
  return Preprocessor({.impute_missing = s.missing == "mean", .drop_missing = s.missing == "drop",
                       .scaling = scaling_for(s, data, private_training), .images = data.images});
}

Preprocessor preprocess(const DataFlags& s, PreparedData& data, std::initializer_list<Tensor*> others,
                        bool private_training) {
  Preprocessor preprocessor = make_preprocessor(s, data, private_training);
  const std::string scaling = scaling_for(s, data, private_training);
  if (data.declared && !data.images) {
    preprocessor.fit_declared(*data.declared, data.schema);
  } else {
    const bool learns = !data.images && (scaling != "none" || s.missing == "mean");
    CITADEL_CHECK(!private_training || !learns, ValueError, "--dp: ",
                  s.missing == "mean" ? "--missing mean would fill missing values with means"
                                      : "--scale " + scaling + " would scale every row with statistics",
                  " computed from the private rows, outside what ε covers (one row would move every other row's "
                  "inputs); declare them with --schema FILE (each column's min and max for --scale minmax, mean "
                  "and std for --scale standard, fill for --missing mean; docs/CLI.md, \"Declared schemas\"), or "
                  "use --scale none");
    preprocessor.fit(data.x_train);
  }
  preprocessor.apply(data.x_train);
  for (Tensor* x : others) preprocessor.apply(*x);
  return preprocessor;
}

namespace {

// The default network: two hidden Dense layers (wider for images; an Embedding averaged
// over the row for text), then the output layer the labels need.
std::string default_layers(const PreparedData& data) {
  if (data.schema.text) return "embedding:16,globalavgpool1d," + output_layer_for(data);
  if (data.audio)
    return "conv1d:32:5:relu,maxpool1d:2,conv1d:64:5:relu,globalmaxpool1d,64:relu," + output_layer_for(data);
  return std::string(data.images ? "256:relu,128:relu," : "10:relu,10:relu,") + output_layer_for(data);
}

// --layers (or the default network) as a Sequential chain, images flattened into it; an
// Embedding (first, with --text) reads the text's ids with the vocabulary as its input_dim.
Sequential layers_model(const ModelFlags& s, const PreparedData& data, const Shape& input_shape) {
  Sequential model;
  const std::vector<LayerSpec> layers = parse_layer_spec(s.layers.empty() ? default_layers(data) : s.layers);
  // Images (or audio features) into a Dense network are flattened; a Conv1D, recurrent or
  // (on a sequence) 1-D global pooling first layer reads the (frames, coefficients) sequence itself.
  const bool pools_sequence = input_shape.rank() == 2 && (layers[0].kind == LayerSpec::Kind::kGlobalAveragePooling1D ||
                                                          layers[0].kind == LayerSpec::Kind::kGlobalMaxPooling1D);
  const bool reads_sequence = layers[0].kind == LayerSpec::Kind::kConv1D || layers[0].kind == LayerSpec::Kind::kGRU ||
                              layers[0].kind == LayerSpec::Kind::kLSTM || pools_sequence;
  if (input_shape.rank() > 1 && !reads_sequence) model.add(Flatten({input_shape.dims()}));
  const Regularizer penalty = L1L2(static_cast<float>(s.l1), static_cast<float>(s.l2));
  for (size_t i = 0; i < layers.size(); ++i) {
    const bool first = i == 0 && (input_shape.rank() == 1 || reads_sequence);
    const std::vector<int64_t> declared = first ? input_shape.dims() : std::vector<int64_t>{};
    switch (layers[i].kind) {
      case LayerSpec::Kind::kEmbedding:
        CITADEL_CHECK(data.schema.text && i == 0, ValueError, "--layers: item ", i + 1,
                      " (embedding) reads token ids: ",
                      data.schema.text ? "put it first" : "give --text COLUMN (the column of raw text it reads)");
        model.add(Embedding(data.schema.text->vocabulary_size(), layers[i].units,
                            {.embeddings_regularizer = penalty, .input_shape = declared}));
        break;
      case LayerSpec::Kind::kGlobalAveragePooling1D:
        model.add(GlobalAveragePooling1D({.input_shape = declared}));
        break;
      case LayerSpec::Kind::kGlobalMaxPooling1D:
        model.add(GlobalMaxPooling1D({.input_shape = declared}));
        break;
      case LayerSpec::Kind::kConv1D:
        model.add(Conv1D(layers[i].units, layers[i].kernel_size,
                         {.input_shape = declared, .padding = "same", .activation = layers[i].activation,
                          .kernel_regularizer = penalty}));
        break;
      case LayerSpec::Kind::kMaxPooling1D:
        model.add(MaxPooling1D(layers[i].units));
        break;
      case LayerSpec::Kind::kGRU:
        model.add(GRU(layers[i].units, {.input_shape = declared, .return_sequences = layers[i].return_sequences}));
        break;
      case LayerSpec::Kind::kLSTM:
        model.add(LSTM(layers[i].units, {.input_shape = declared, .return_sequences = layers[i].return_sequences}));
        break;
      case LayerSpec::Kind::kDense:
        model.add(Dense(layers[i].units, {.input_dim = first ? input_shape[0] : 0,
                                          .activation = layers[i].activation,
                                          .kernel_regularizer = penalty}));
        break;
    }
    if (s.dropout > 0 && i + 1 < layers.size()) model.add(Dropout(static_cast<float>(s.dropout)));
  }
  model.build(input_shape);
  return model;
}

// A Sequential config as before: images into a Dense network get a Flatten in front (in
// `flattened`, made before the config was read: each model draws its seed when made, so the
// same seed gives the same weights as before graphs existed).
Sequential sequential_config_model(Sequential flattened, Model loaded, const Shape& input_shape) {
  Sequential chain = std::move(loaded);
  if (input_shape.rank() > 1 && chain.layer(0).type() == "Dense") {  // images into a Dense network
    flattened.add(Flatten({input_shape.dims()}));
    for (size_t i = 0; i < chain.size(); ++i) flattened.add(chain.layer(i).clone());
    chain = std::move(flattened);
  }
  chain.build(input_shape);
  return chain;
}

// Each output of `model` has a label and each label an output (before the inputs are
// checked: a label column left out of --label would otherwise show up as a feature).
void check_output_labels(const Model& model, const PreparedData& data, const std::string& path) {
  const std::vector<std::string> names = model.output_names();
  if (!data.several_outputs()) {
    std::string per_output;
    for (const auto& name : names) per_output += " --label " + name + "=COLUMN";
    CITADEL_CHECK(names.size() == 1, ValueError, path, ": the model has ", names.size(), " outputs (",
                  join_names(names), "); give each its label column:", per_output,
                  " (docs/CLI.md, \"Models of several outputs\")");
    return;
  }
  for (size_t i = 0; i < data.outputs.size(); ++i)
    CITADEL_CHECK(std::find(names.begin(), names.end(), data.outputs[i]) != names.end(), ValueError, "--label ",
                  data.outputs[i], "=", data.schema.label_schema(i).name, ": the model has no output '",
                  data.outputs[i], "'; its outputs are ", join_names(names));
  for (const std::string& name : names)
    CITADEL_CHECK(std::find(data.outputs.begin(), data.outputs.end(), name) != data.outputs.end(), ValueError,
                  "--label: the model's output '", name, "' has no label column; give --label ", name,
                  "=COLUMN (the model's outputs: ", join_names(names), ")");
}

// A Functional config: its Inputs declare their shapes, which the data must give as they
// are (no Flatten is slipped in front of a graph: its inputs are the user's to shape). A
// graph of several inputs takes each from the column group its Input's name selects.
Model graph_config_model(Model model, const std::string& path, const PreparedData& data, const Shape& input_shape) {
  check_output_labels(model, data, path);
  const std::vector<Shape> expected = model.input_shapes();
  const std::vector<std::string> names = model.input_names();
  std::vector<Shape> given{input_shape};
  std::vector<std::string> what{data.images ? "the images" : "the data's rows"};
  if (expected.size() > 1) {
    CITADEL_CHECK(!data.images, ValueError, path, ": the model has ", expected.size(), " inputs (",
                  join_names(names), "); image data feeds a model of one input");
    std::vector<FeatureGroup> groups;
    try {
      groups = feature_groups(data.schema, names);
    } catch (const ValueError& e) {
      throw ValueError(path + ": " + e.what());
    }
    given.clear(), what.clear();
    for (const FeatureGroup& group : groups) {
      given.push_back(Shape{int64_t(group.features.size())});
      std::string columns;
      for (const auto& column : group.columns) columns += (columns.empty() ? "" : ", ") + column;
      what.push_back("its columns (" + columns + ")");
    }
    if (const auto unused = unused_columns(data.schema, groups); !unused.empty())
      std::fprintf(stderr, "note: no Input of %s takes the columns %s; they are not used\n", path.c_str(),
                   join_names(unused).c_str());
  }
  for (size_t i = 0; i < expected.size(); ++i)
    CITADEL_CHECK(expected[i] == given[i], ValueError, path, ": the Input '", names[i], "' expects shape ",
                  expected[i].str(), " but ", what[i], " give shape ", given[i].str(),
                  "; declare that Input with shape ", given[i].str());
  model.build();  // after the checks: nothing is allocated for a model the data cannot feed
  return model;
}

// The architecture the flags ask for, built.
Model architecture(const ModelFlags& s, const PreparedData& data, const Shape& input_shape) {
  CITADEL_CHECK(!data.several_outputs() || !s.model_config.empty(), ValueError, "--label OUTPUT=COLUMN: --layers "
                "builds a model of one output; give a --model-config of several outputs");
  if (s.model_config.empty()) return layers_model(s, data, input_shape);
  CITADEL_CHECK(s.dropout == 0 && s.l1 == 0 && s.l2 == 0, ValueError,
                "--dropout, --l1 and --l2 apply to --layers; write them into the model config instead");
  Sequential flattened;  // drawn first, as before (see sequential_config_model)
  Model loaded = load_model_config(s.model_config);
  if (loaded.is_sequential()) {
    CITADEL_CHECK(!data.several_outputs(), ValueError, "--label OUTPUT=COLUMN: ", s.model_config, " is a Sequential "
                  "model of one output; give a Functional config of several outputs");
    return sequential_config_model(std::move(flattened), std::move(loaded), input_shape);
  }
  return graph_config_model(std::move(loaded), s.model_config, data, input_shape);
}

}  // namespace

Model build_model(const ModelFlags& s, const PreparedData& data, const Shape& input_shape) {
  Model model = architecture(s, data, input_shape);
  std::unique_ptr<Optimizer> optimizer = make_optimizer(s.optimizer);
  if (s.learning_rate) optimizer->set_learning_rate(static_cast<float>(*s.learning_rate));
  if (data.several_outputs()) {
    CompileOptions options = several_outputs_compile(model, data);
    options.optimizer = std::move(optimizer);
    options.precision = s.precision;
    model.compile(std::move(options));
    return model;
  }
  check_output(model.output_shape().numel(), data.schema.label_schema(0), data.loss, "");
  model.compile({.loss = data.loss, .optimizer = std::move(optimizer), .metrics = metrics_for(data.schema.label_type),
                 .precision = s.precision});
  return model;
}

int epochs_for(const TrainingFlags& s, const PreparedData& data) {
  return s.epochs.value_or(data.images ? 5 : data.audio ? 30 : 150);
}

int64_t batch_size_for(const TrainingFlags& s, const PreparedData& data) {
  return s.batch_size.value_or(data.images ? 128 : 32);
}

FitOptions fit_options(const TrainingFlags& s, const ModelFlags& model, const PreparedData& data,
                       bool private_data) {
  FitOptions options;
  options.epochs = epochs_for(s, data);
  options.batch_size = batch_size_for(s, data);
  options.validation_split = validation_split_for(s, data.images);
  options.verbose = s.verbose;
  options.seed = s.seed;
  if (options.validation_split != s.validation_split.value_or(data.images ? 0.1 : 0.0)) {
    if (s.verbose > 0) std::printf("Validating on the last 10%% of the training rows (--early-stopping/--reduce-lr "
                                   "watch val_loss; set --validation-split to choose)\n");
  }
  if (s.early_stopping)
    options.callbacks.push_back(EarlyStopping({.patience = *s.early_stopping, .restore_best_weights = true}));
  if (s.reduce_lr) options.callbacks.push_back(ReduceLROnPlateau({.patience = *s.reduce_lr}));
  if (!s.lr_schedule.empty()) {
    const float initial = model.learning_rate ? static_cast<float>(*model.learning_rate)
                                              : make_optimizer(model.optimizer)->learning_rate();
    std::vector<std::string> parts;
    for (size_t start = 0; start <= s.lr_schedule.size();) {
      const size_t colon = std::min(s.lr_schedule.find(':', start), s.lr_schedule.size());
      parts.push_back(s.lr_schedule.substr(start, colon - start));
      start = colon + 1;
    }
    auto number = [&](size_t i, double fallback) {
      if (i >= parts.size()) return fallback;
      const auto value = parse_number(parts[i]);
      CITADEL_CHECK(value.has_value(), ValueError, "--lr-schedule: '", parts[i], "' is not a number");
      return double(*value);
    };
    const std::string usage = "; use step:FACTOR:EVERY, exponential:RATE:EPOCHS or cosine[:ALPHA]";
    if (parts[0] == "step") {
      CITADEL_CHECK(parts.size() == 3, ValueError, "--lr-schedule '", s.lr_schedule, "'", usage);
      options.callbacks.push_back(LearningRateScheduler(step_decay(initial, number(1, 0), int(number(2, 1)))));
    } else if (parts[0] == "exponential") {
      CITADEL_CHECK(parts.size() == 3, ValueError, "--lr-schedule '", s.lr_schedule, "'", usage);
      options.callbacks.push_back(LearningRateScheduler(exponential_decay(initial, number(1, 0), number(2, 1))));
    } else if (parts[0] == "cosine") {
      CITADEL_CHECK(parts.size() <= 2, ValueError, "--lr-schedule '", s.lr_schedule, "'", usage);
      options.callbacks.push_back(LearningRateScheduler(cosine_decay(initial, options.epochs, number(1, 0))));
    } else {
      throw ValueError("--lr-schedule '" + s.lr_schedule + "'" + usage);
    }
  }
  if (s.loss_threshold) options.loss_threshold = *s.loss_threshold;
  if (!s.csv_log.empty())
    options.callbacks.push_back(CSVLogger(s.csv_log, {.mode = private_data ? 0600u : kDefaultMode}));
  return options;
}

void apply_precision(Model& model, const ModelFlags& flags) {
  model.set_precision(flags.precision);
  if (const std::string warning = model.precision_warning(); !warning.empty())
    std::fprintf(stderr, "%s\n", warning.c_str());
}

}  // namespace citadel::cli
