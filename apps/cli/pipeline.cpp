// The commands' shared pipeline. Preprocessing is always fitted on training rows only,
// so no information from held-out rows leaks into training.
#include "pipeline.hpp"

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/split.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/model/model_config.hpp"
#include "layer_spec.hpp"

namespace citadel::cli {
namespace {

constexpr const char* kFashionMnist = "fashion-mnist";

bool is_regression_loss(const std::string& loss) {
  return !loss.empty() && loss.find("crossentropy") == std::string::npos;
}

// The bundled Pima data: in the working directory's data/, beside an installed binary
// (PREFIX/bin/citadel → PREFIX/share/citadel), or in the source tree it was built from.
std::string default_data_path() {
  const std::string local = "data/pima-indians-diabetes.csv";
  if (std::filesystem::exists(local)) return local;
  std::error_code error;
  const auto binary = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const auto installed = binary.parent_path().parent_path() / CITADEL_INSTALLED_DATA;
    if (std::filesystem::exists(installed)) return installed.string();
  }
  return CITADEL_DEFAULT_DATA;
}

std::string choose_loss(const Settings& s, const DataSchema& schema) {
  if (!s.loss.empty()) return s.loss;
  if (schema.label_type == LabelType::kValues) return "mean_squared_error";
  return schema.class_count() == 2 ? "binary_crossentropy" : "sparse_categorical_crossentropy";
}

CsvOptions csv_options(const Settings& s) {
  CsvOptions options;
  options.max_file_bytes = s.max_data_bytes;
  if (s.header) options.header = true;
  if (s.no_header) options.header = false;
  if (!s.delimiter.empty()) options.delimiter = s.delimiter == "tab" ? '\t' : s.delimiter[0];
  return options;
}

MissingValues missing_policy(const Settings& s) {
  if (s.missing == "drop") return MissingValues::kDrop;
  if (s.missing == "mean") return MissingValues::kMean;
  return MissingValues::kError;
}

PreparedData load_images(const Settings& s, bool hold_out_test) {
  const ImageDataset images = load_fashion_mnist();
  PreparedData data;
  data.images = true;
  data.source = kFashionMnist;
  data.schema.label = "class";
  data.schema.classes = images.classes;
  data.x_train = images.x_train;
  data.y_train = images.y_train;
  scale_pixels(data.x_train.view());
  if (hold_out_test) {
    data.x_test = images.x_test;
    data.y_test = images.y_test;
    scale_pixels(data.x_test.view());
  }
  data.loss = choose_loss(s, data.schema);
  CITADEL_CHECK(!is_regression_loss(data.loss), ValueError, "--loss ", data.loss,
                ": Fashion-MNIST labels are classes; use a cross-entropy loss");
  return data;
}

// The output layer a network needs for these labels, as UNITS:ACTIVATION.
std::string output_layer_for(const PreparedData& data) {
  if (!data.classification()) return "1:linear";
  if (data.loss == "binary_crossentropy") return "1:sigmoid";
  return std::to_string(data.schema.class_count()) + ":softmax";
}

// Checks the model's output against the labels and the loss; says what to use instead.
void check_output(const Sequential& model, const PreparedData& data) {
  const int64_t outputs = model.output_shape().numel();
  const int64_t classes = data.schema.class_count();
  const std::string fix = " (the defaults choose both when --layers/--model-config and --loss are not given)";
  if (!data.classification()) {
    CITADEL_CHECK(outputs == 1, ValueError, "the model has ", outputs, " outputs but '", data.schema.label,
                  "' is one number to predict; end the network with 1:linear", fix);
    return;
  }
  std::string names;
  for (int64_t c = 0; c < std::min<int64_t>(classes, 5); ++c)
    names += (c ? ", '" : "'") + data.schema.classes[c] + "'";
  if (classes > 5) names += ", ...";
  if (data.loss == "binary_crossentropy") {
    CITADEL_CHECK(classes == 2, ValueError, "the label '", data.schema.label, "' has ", classes, " classes (", names,
                  "); binary_crossentropy is for two. Use --loss sparse_categorical_crossentropy and end the "
                  "network with ", classes, ":softmax", fix);
    CITADEL_CHECK(outputs == 1, ValueError, "binary_crossentropy needs one sigmoid output, but the model has ",
                  outputs, "; end the network with 1:sigmoid, or use --loss sparse_categorical_crossentropy with ",
                  outputs, ":softmax", fix);
    return;
  }
  CITADEL_CHECK(outputs == classes, ValueError, "the label '", data.schema.label, "' has ", classes, " classes (",
                names, ") but the model has ", outputs, " outputs; end the network with ", classes, ":softmax", fix);
}

}  // namespace

PreparedData load_data(const Settings& s, bool hold_out_test) {
  if (s.data == kFashionMnist) return load_images(s, hold_out_test);
  PreparedData data;
  data.source = s.data.empty() ? default_data_path() : s.data;
  const CsvTable table = read_csv(data.source, csv_options(s));
  if (s.verbose > 0) std::printf("%s: %s\n", data.source.c_str(), table.header_decision.c_str());
  const LabelType label_type = is_regression_loss(s.loss) ? LabelType::kValues : LabelType::kClasses;
  DatasetOptions dataset_options{.label = s.label, .categorical = s.categorical, .missing = missing_policy(s),
                                 .label_type = label_type, .max_categories = s.max_categories};
  Dataset all = to_dataset(table, dataset_options);
  if (all.dropped_rows > 0 && s.verbose > 0)
    std::printf("Dropped %lld rows with missing values (--missing drop)\n", static_cast<long long>(all.dropped_rows));
  data.schema = all.schema;
  data.loss = choose_loss(s, data.schema);
  if (!hold_out_test) {
    data.x_train = std::move(all.x);
    data.y_train = std::move(all.y);
    return data;
  }
  const SplitIndices split = train_test_split(all.y, s.test_split, s.seed, data.classification());
  if (s.dp && !s.categorical.empty()) {
    // Under --dp the category vocabulary is learned from the training rows alone: a
    // category seen only in held-out rows must not reach the released model file.
    std::vector<int64_t> training_rows;
    for (int64_t i : split.train) training_rows.push_back(all.table_rows[static_cast<size_t>(i)]);
    dataset_options.vocabulary_rows = std::move(training_rows);
    all = to_dataset(table, dataset_options);  // the same rows, in the same order
    data.schema = all.schema;
  }
  data.x_train = take_rows(all.x, split.train);
  data.y_train = take_rows(all.y, split.train);
  data.x_test = take_rows(all.x, split.test);
  data.y_test = take_rows(all.y, split.test);
  return data;
}

Dataset load_more_rows(const Settings& s, const std::string& path, const PreparedData& data) {
  CITADEL_CHECK(!data.images, ValueError, path, ": with --data fashion-mnist, other files cannot be read as rows");
  return encode(read_csv(path, csv_options(s)), data.schema, missing_policy(s));
}

Tensor targets_for_loss(const Tensor& y, const PreparedData& data) {
  if (data.loss != "categorical_crossentropy") return y;
  const int64_t rows = y.shape(0), classes = data.schema.class_count();
  Tensor one_hot(Shape{rows, classes});
  for (int64_t r = 0; r < rows; ++r) one_hot.at(r, static_cast<int64_t>(y[r])) = 1.0f;
  return one_hot;
}

Preprocessor make_preprocessor(const Settings& s, const PreparedData& data) {
  return Preprocessor({.impute_missing = s.missing == "mean", .scaling = s.scale, .images = data.images});
}

Preprocessor preprocess(const Settings& s, PreparedData& data, std::initializer_list<Tensor*> others) {
  Preprocessor preprocessor = make_preprocessor(s, data);
  preprocessor.fit(data.x_train);
  preprocessor.apply(data.x_train);
  for (Tensor* x : others) preprocessor.apply(*x);
  return preprocessor;
}

Sequential build_model(const Settings& s, const PreparedData& data, const Shape& input_shape) {
  Sequential model;
  if (!s.model_config.empty()) {
    CITADEL_CHECK(s.dropout == 0 && s.l1 == 0 && s.l2 == 0, ValueError,
                  "--dropout, --l1 and --l2 apply to --layers; write them into the model config instead");
    Sequential loaded = load_model_config(s.model_config);
    if (input_shape.rank() > 1 && loaded.layer(0).type() == "Dense") {  // images into a Dense network
      model.add(Flatten({input_shape.dims()}));
      for (size_t i = 0; i < loaded.size(); ++i) model.add(loaded.layer(i).clone());
    } else {
      model = std::move(loaded);
    }
  } else {
    std::string spec = s.layers;
    if (spec.empty()) spec = std::string(data.images ? "256:relu,128:relu," : "10:relu,10:relu,") + output_layer_for(data);
    const std::vector<DenseSpec> layers = parse_layer_spec(spec);
    if (input_shape.rank() > 1) model.add(Flatten({input_shape.dims()}));  // images into a Dense network
    const Regularizer penalty = L1L2(static_cast<float>(s.l1), static_cast<float>(s.l2));
    for (size_t i = 0; i < layers.size(); ++i) {
      const bool first = i == 0 && input_shape.rank() == 1;
      model.add(Dense(layers[i].units, {.input_dim = first ? input_shape[0] : 0,
                                        .activation = layers[i].activation,
                                        .kernel_regularizer = penalty}));
      if (s.dropout > 0 && i + 1 < layers.size()) model.add(Dropout(static_cast<float>(s.dropout)));
    }
  }
  model.build(input_shape);
  check_output(model, data);
  std::unique_ptr<Optimizer> optimizer = make_optimizer(s.optimizer);
  if (s.learning_rate > 0) optimizer->set_learning_rate(static_cast<float>(s.learning_rate));
  std::vector<std::string> metrics{"mse", "mae"};
  if (data.classification()) metrics = {"accuracy", "precision", "recall", "f1", "auc"};
  model.compile({.loss = data.loss, .optimizer = std::move(optimizer), .metrics = metrics});
  return model;
}

int epochs_for(const Settings& s, const PreparedData& data) {
  return s.epochs > 0 ? s.epochs : (data.images ? 5 : 150);
}

FitOptions fit_options(const Settings& s, const PreparedData& data) {
  FitOptions options;
  options.epochs = epochs_for(s, data);
  options.batch_size = s.batch_size > 0 ? s.batch_size : (data.images ? 128 : 32);
  options.validation_split = s.validation_split >= 0 ? s.validation_split : (data.images ? 0.1 : 0.0);
  options.verbose = s.verbose;
  options.seed = s.seed;
  const bool monitors_validation = s.early_stopping >= 0 || s.reduce_lr >= 0;
  if (monitors_validation && options.validation_split == 0) {
    options.validation_split = 0.1;
    if (s.verbose > 0) std::printf("Validating on the last 10%% of the training rows (--early-stopping/--reduce-lr "
                                   "watch val_loss; set --validation-split to choose)\n");
  }
  if (s.early_stopping >= 0)
    options.callbacks.push_back(EarlyStopping({.patience = s.early_stopping, .restore_best_weights = true}));
  if (s.reduce_lr >= 0) options.callbacks.push_back(ReduceLROnPlateau({.patience = s.reduce_lr}));
  if (!s.lr_schedule.empty()) {
    const float initial = s.learning_rate > 0 ? static_cast<float>(s.learning_rate)
                                              : make_optimizer(s.optimizer)->learning_rate();
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
  if (s.loss_threshold >= 0) options.loss_threshold = s.loss_threshold;
  if (!s.csv_log.empty()) options.callbacks.push_back(CSVLogger(s.csv_log));
  return options;
}

void describe_data(const Settings& s, const PreparedData& data) {
  if (s.verbose == 0) return;
  std::printf("Data: %s; %lld training rows%s", data.source.c_str(), static_cast<long long>(data.x_train.shape(0)),
              data.x_test.defined() ? "" : "\n");
  if (data.x_test.defined()) std::printf(", %lld held out for the report\n", static_cast<long long>(data.x_test.shape(0)));
  if (data.classification())
    std::printf("Label '%s': %lld classes; loss %s\n", data.schema.label.c_str(),
                static_cast<long long>(data.schema.class_count()), data.loss.c_str());
  else
    std::printf("Label '%s': a number to predict; loss %s\n", data.schema.label.c_str(), data.loss.c_str());
}

void print_figures(const char* title, const Logs& logs, int64_t rows) {
  std::printf("\n%s (%lld rows):\n", title, static_cast<long long>(rows));
  for (const char* name : {"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"})
    if (auto found = logs.find(name); found != logs.end()) std::printf("  %-10s %.4f\n", name, found->second);
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json logs_json(const Logs& logs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : logs) out[name] = number_or_null(value);
  return out;
}

nlohmann::json history_json(const History& history) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, values] : history.history) {
    nlohmann::json series = nlohmann::json::array();
    for (double v : values) series.push_back(number_or_null(v));
    out[name] = series;
  }
  return out;
}

nlohmann::json report_json(const ClassificationReport& report) {
  nlohmann::json classes = nlohmann::json::object();
  auto scores = [](const ClassScores& s) {
    return nlohmann::json{{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  };
  for (const auto& c : report.classes) classes[c.name] = scores(c);
  return {{"classes", classes},
          {"macro_avg", scores(report.macro_average)},
          {"weighted_avg", scores(report.weighted_average)},
          {"accuracy", report.accuracy},
          {"roc_auc", number_or_null(report.auc)},
          {"confusion_matrix", report.confusion}};
}

void add_classification_report(Sequential& model, const PreparedData& data, bool print, nlohmann::json& report) {
  if (!data.classification()) return;
  const ClassificationReport details = classification_report(model.predict(data.x_test), data.y_test, data.schema.classes);
  if (print) std::printf("\n%s", details.text().c_str());
  report["classification_report"] = report_json(details);
  report["classes"] = data.schema.classes;
}

void save_pipeline(Sequential& model, const PreparedData& data, const FeaturePreprocessor& preprocessor,
                   const std::string& path, const ModelProtection& protection, const Metadata& extra) {
  save_saved_model(model, saved_model_records(data.schema, data.images, data.loss, preprocessor, data.source, extra),
                   path, protection);
}

ModelAccess model_access(const Settings& s) {
  ModelAccess access;
  access.public_key = s.public_key;
  if (!s.key_file.empty() || !s.passphrase_env.empty()) access.key = encryption_key(s);
  return access;
}

ModelProtection model_protection(const Settings& s, bool private_data) {
  ModelProtection protection;
  protection.secret_key = s.sign_key;
  if (!s.key_file.empty() || !s.passphrase_env.empty()) protection.key = encryption_key(s);
  if (private_data) protection.mode = 0600;
  return protection;
}

EncryptionKey encryption_key(const Settings& s) {
  EncryptionKey key;
  if (!s.key_file.empty()) {
    key.key_file = s.key_file;
    return key;
  }
  CITADEL_CHECK(!s.passphrase_env.empty(), ValueError, "give --key-file KEY or --passphrase-env VAR");
  const char* passphrase = std::getenv(s.passphrase_env.c_str());
  CITADEL_CHECK(passphrase != nullptr && *passphrase != '\0', ValueError, "--passphrase-env: the variable ",
                s.passphrase_env, " is not set or empty");
  key.passphrase = passphrase;
  return key;
}

std::string read_model_bytes(const Settings& s, const std::string& path, bool* was_encrypted) {
  return read_protected_file(path, model_access(s), kPurposeModel, was_encrypted);
}

SavedPipeline as_pipeline(SavedModel saved, const std::string& path) {
  SavedPipeline pipeline{std::move(saved.model), {}, std::move(saved.preprocessor)};
  pipeline.data.schema = std::move(saved.schema);
  pipeline.data.images = saved.images;
  pipeline.data.loss = std::move(saved.loss);
  pipeline.data.source = path;
  return pipeline;
}

LabelledRows labelled_rows(const Settings& s, const SavedPipeline& saved, const std::string& path) {
  LabelledRows rows;
  if (saved.data.images) {
    ImageDataset images = load_fashion_mnist();
    rows.x = std::move(images.x_test);
    rows.y = std::move(images.y_test);
    scale_pixels(rows.x.view());
    rows.source = "the Fashion-MNIST test split";
    return rows;
  }
  Dataset data = encode_for_model(read_csv(path, csv_options(s)), saved.data.schema, saved.preprocessor,
                                  missing_policy(s), true);
  rows.x = std::move(data.x);
  rows.y = std::move(data.y);
  rows.source = path;
  return rows;
}

SavedPipeline load_pipeline(const Settings& s, const std::string& path) {
  return as_pipeline(load_saved_model(path, {.access = model_access(s)}), path);
}

SavedPipeline load_pipeline_from_bytes(std::string_view bytes, const std::string& path) {
  return as_pipeline(saved_model_from_bytes(bytes, path), path);
}

void write_report(const Settings& s, const nlohmann::json& report, bool private_data) {
  if (!s.report.empty()) write_file_atomically(s.report, report.dump(2) + "\n", private_data ? 0600 : kDefaultMode);
}

}  // namespace citadel::cli
