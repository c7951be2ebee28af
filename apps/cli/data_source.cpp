// Where the commands' rows come from: --data (a CSV file, with the header, delimiter and
// missing-value options, or Fashion-MNIST), split for a held-out report, and more rows
// read with a training file's schema.
#include "data_source.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/declared_schema.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "audio_data.hpp"
#include "output_labels.hpp"
#include "terminal_text.hpp"

namespace citadel::cli {
namespace {

constexpr const char* kFashionMnist = "fashion-mnist";

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

std::string choose_loss(const std::string& given, const LabelSchema& label) {
  if (!given.empty()) return given;
  if (label.type == LabelType::kValues) return "mean_squared_error";
  return label.class_count() == 2 ? "binary_crossentropy" : "sparse_categorical_crossentropy";
}
std::string choose_loss(const std::string& given, const DataSchema& schema) {
  return choose_loss(given, schema.label_schema(0));
}

Tensor one_hot_targets(const Tensor& y, const std::string& loss, int64_t classes) {
  if (loss != "categorical_crossentropy") return y;
  const int64_t rows = y.shape(0);
  Tensor one_hot(Shape{rows, classes});
  for (int64_t r = 0; r < rows; ++r) one_hot.at(r, static_cast<int64_t>(y[r])) = 1.0f;
  return one_hot;
}

PreparedData load_images(const std::string& loss, bool hold_out_test) {
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
  data.loss = choose_loss(loss, data.schema);
  CITADEL_CHECK(!is_regression_loss(data.loss), ValueError, "--loss ", data.loss,
                ": Fashion-MNIST labels are classes; use a cross-entropy loss");
  return data;
}

// Under --dp, what would be learned from the private rows — the label's classes, a
// column's categories — must be declared instead (imputation and scaling are checked
// where they are fitted, in model_builder's preprocess).
void check_nothing_learned(const DataFlags& s, const PreparedData& data, LabelType label_type) {
  const std::string fix = "; declare it with --schema FILE (docs/CLI.md, \"Declared schemas\")";
  CITADEL_CHECK(label_type == LabelType::kValues || (data.declared && !data.declared->classes.empty()), ValueError,
                "--dp: the label's classes would be learned from the private rows (a class seen in one row changes "
                "the model's outputs, outside what ε covers)", fix);
  for (const std::string& column : s.categorical) {
    const DeclaredColumn* declared = data.declared ? data.declared->column(column) : nullptr;
    CITADEL_CHECK(declared && declared->categorical(), ValueError, "--dp: the categories of column '", column,
                  "' would be learned from the private rows (one row's new category changes every row's encoding)",
                  fix);
  }
}

// Each row's CSV cells, length-prefixed, hashed with the seed.
std::vector<uint64_t> table_row_hashes(const CsvTable& table, const Dataset& rows, uint64_t seed) {
  std::vector<uint64_t> hashes;
  std::string bytes;
  for (const int64_t r : rows.table_rows) {
    bytes.clear();
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const std::string_view cell = table.cell(r, static_cast<int64_t>(c));
      bytes += std::to_string(cell.size()) + ':';
      bytes += cell;
    }
    hashes.push_back(row_hash(bytes, seed));
  }
  return hashes;
}

// The table's label columns and its text column (--text), the others left out: a text
// model's one input is the text.
CsvTable text_and_labels(const CsvTable& table, const DataFlags& s, const LabelPlan& plan) {
  std::vector<int64_t> kept{table.column_index(s.text)};
  if (plan.several())
    for (const OutputLabel& output : plan.outputs) kept.push_back(table.column_index(output.column));
  else
    kept.push_back(plan.column.empty() ? int64_t(table.columns.size()) - 1 : table.column_index(plan.column));
  CITADEL_CHECK(std::find(kept.begin() + 1, kept.end(), kept[0]) == kept.end(), ValueError, "--text ", s.text,
                ": that column is the label; the text column is the model's input");
  std::string unused;
  for (size_t c = 0; c < table.columns.size(); ++c)
    if (std::find(kept.begin(), kept.end(), int64_t(c)) == kept.end())
      unused += (unused.empty() ? "'" : ", '") + terminal_safe(table.columns[c]) + "'";
  if (!unused.empty())
    std::fprintf(stderr, "note: --text %s is the model's input; the columns %s are not used\n",
                 terminal_safe(s.text).c_str(), unused.c_str());
  CsvTable projected;
  projected.source = table.source;
  projected.had_header = table.had_header;
  projected.delimiter = table.delimiter;
  projected.header_decision = table.header_decision;
  projected.rows = table.rows;
  projected.lines = table.lines;
  for (const int64_t c : kept) {
    projected.column_by_name.emplace(table.columns[size_t(c)], int64_t(projected.columns.size()));
    projected.columns.push_back(table.columns[size_t(c)]);
  }
  for (int64_t r = 0; r < table.rows; ++r)
    for (const int64_t c : kept) projected.cells.push_back(table.cell(r, c));
  return projected;
}

// The table rows fit trains on: the training split's (`train`, rows of the data set; empty:
// all of them) less the last ones it validates on (as fit splits: Model::fit).
std::vector<int64_t> fit_rows(const std::vector<int64_t>& table_rows, const std::vector<int64_t>& train,
                              const TrainingFlags& training) {
  std::vector<int64_t> rows;
  if (train.empty()) rows = table_rows;
  for (const int64_t i : train) rows.push_back(table_rows[size_t(i)]);
  const double validation = validation_split_for(training, false);
  if (validation > 0) rows.resize(size_t(std::max<double>(1.0, double(rows.size()) * (1.0 - validation))));
  return rows;
}

// The vectorizer of --text: the --vocabulary file's, or adapted on `train` (table rows) with
// --max-tokens; --sequence-length or the longest of those rows (Keras pads to the longest
// row; a saved model reads a fixed length).
std::shared_ptr<const TextVectorization> adapt_text(const DataFlags& s, const CsvTable& table,
                                                    const std::vector<int64_t>& train) {
  const int64_t column = table.column_index(s.text);
  std::vector<std::string> rows;
  for (const int64_t r : train) rows.emplace_back(table.cell(r, column));
  TextVectorization text({.max_tokens = s.max_tokens, .output_sequence_length = s.sequence_length});
  std::vector<std::string> given;
  try {
    given = s.vocabulary.empty() ? given : read_vocabulary_file(s.vocabulary);  // its errors name file and line
  } catch (const ValueError& e) {
    throw ValueError(std::string("--vocabulary: ") + e.what());
  }
  try {
    if (given.empty()) {
      text.adapt(rows);
    } else {
      text.set_vocabulary(given);
    }
  } catch (const ValueError& e) {
    throw ValueError((given.empty() ? "--text " + s.text : "--vocabulary " + s.vocabulary) + ": " + e.what());
  }
  TextVectorizationOptions options = text.options();
  if (!options.output_sequence_length) {
    int64_t longest = 1;
    for (const std::string& row : rows) longest = std::max<int64_t>(longest, int64_t(text.tokens(row).size()));
    options.output_sequence_length = std::min(longest, TextVectorizationLimits::kMaxSequenceLength);
  }
  auto fixed = std::make_shared<TextVectorization>(options);
  fixed->set_vocabulary(text.vocabulary());
  return fixed;
}

}  // namespace

bool is_regression_loss(const std::string& loss) {
  return !loss.empty() && loss.find("crossentropy") == std::string::npos;
}

double validation_split_for(const TrainingFlags& s, bool images) {
  const double given = s.validation_split.value_or(images ? 0.1 : 0.0);
  return given == 0 && (s.early_stopping || s.reduce_lr) ? 0.1 : given;
}

CsvOptions csv_options(const DataFlags& s) {
  CsvOptions options;
  options.max_file_bytes = s.max_data_bytes;
  if (s.header) options.header = true;
  if (s.no_header) options.header = false;
  if (!s.delimiter.empty()) options.delimiter = s.delimiter == "tab" ? '\t' : s.delimiter[0];
  return options;
}

MissingValues missing_policy(const DataFlags& s) {
  if (s.missing == "drop") return MissingValues::kDrop;
  if (s.missing == "mean") return MissingValues::kMean;
  return MissingValues::kError;
}

MissingValues missing_policy(const DataFlags& s, const Preprocessor& trained) {
  if (s.missing.empty()) return trained.missing_values();
  const MissingValues given = missing_policy(s);
  CITADEL_CHECK(given != MissingValues::kMean || trained.imputes_missing(), ValueError,
                "--missing mean: this model was trained without imputation, so it has no means to fill with; "
                "use --missing drop or error");
  return given;
}

EncodeOptions encode_options(const DataFlags& s, const Preprocessor& trained) {
  return {.missing = missing_policy(s, trained), .unseen_categories_are_errors = s.unseen_categories == "error",
          .max_encoded_bytes = s.max_encoded_mb << 20};
}

void report_row_handling(const DataSchema& schema, const std::vector<int64_t>& missing_cells,
                         const std::vector<int64_t>& unseen_categories, bool imputed, const std::string& what) {
  std::string filled, unseen;
  for (size_t c = 0; c < schema.input_columns.size(); ++c) {
    const std::string column = terminal_safe(schema.input_columns[c]);
    if (c < missing_cells.size() && missing_cells[c] > 0)
      filled += (filled.empty() ? "" : ", ") + column + " " + std::to_string(missing_cells[c]);
    if (c < unseen_categories.size() && unseen_categories[c] > 0)
      std::fprintf(stderr, "warning: %s: column '%s' has %lld cell(s) of a category the model was not trained on, "
                           "encoded as all zeros (--unseen-categories error refuses them)\n",
                   terminal_safe(what).c_str(), column.c_str(), static_cast<long long>(unseen_categories[c]));
  }
  if (!filled.empty())
    std::fprintf(stderr, "%s: %s missing cells per column: %s\n", terminal_safe(what).c_str(),
                 imputed ? "filled" : "kept", filled.c_str());
}

PreparedData load_data(const DataFlags& s, const ModelFlags& model, const TrainingFlags& training,
                       bool hold_out_test, bool private_training) {
  if (is_audio_folder(s.data)) {
    CITADEL_CHECK(!private_training, ValueError, "--dp: --data ", s.data,
                  " is a folder of WAV files, whose front end is standardized with statistics of the private rows; "
                  "--dp takes CSV data");
    return load_audio_data(s, model, training, hold_out_test);
  }
  const LabelPlan plan = label_plan(s, model);
  if (s.data == kFashionMnist) {
    CITADEL_CHECK(!plan.several(), ValueError, "--label OUTPUT=COLUMN: Fashion-MNIST has one label, its class");
    return load_images(plan.loss, hold_out_test);
  }
  PreparedData data;
  data.source = s.data.empty() ? default_data_path() : s.data;
  if (!s.schema.empty()) data.declared = read_declared_schema(s.schema);
  // The bundled data ships its declared schema (its columns' physiological ranges), which
  // private training needs unless another is given.
  if (s.schema.empty() && s.data.empty() && private_training) {
    const std::string bundled = data.source.substr(0, data.source.size() - 4) + ".schema.json";
    if (std::filesystem::exists(bundled)) data.declared = read_declared_schema(bundled);
  }
  CsvTable table = read_csv(data.source, csv_options(s));
  if (training.verbose > 0)
    std::printf("%s: %s\n", terminal_safe(data.source).c_str(), terminal_safe(table.header_decision).c_str());
  CITADEL_CHECK(!s.text.empty() || (s.vocabulary.empty() && !s.max_tokens && !s.sequence_length), ValueError,
                s.vocabulary.empty() ? (s.max_tokens ? "--max-tokens" : "--sequence-length") : "--vocabulary",
                " applies to --text COLUMN, which is not given");
  if (!s.text.empty()) {
    // A vocabulary learned from the private rows (one row's new word changes it), or a row
    // length taken from the longest private row, would be released outside what ε covers.
    CITADEL_CHECK(!private_training || !s.vocabulary.empty(), ValueError, "--dp: the vocabulary of --text ", s.text,
                  " would be learned from the private rows, outside what ε covers; give a public one with "
                  "--vocabulary FILE");
    CITADEL_CHECK(!private_training || s.sequence_length, ValueError, "--dp: --text ", s.text,
                  " would pad to the longest private row, whose length ε does not cover; give --sequence-length");
    table = text_and_labels(table, s, plan);
  }
  // Each output's loss says whether its label is classes or a number (as --loss does for one).
  auto loss_of = [&](const OutputLabel& output) { return output.loss.empty() ? plan.loss : output.loss; };
  const std::string first_loss = plan.several() ? loss_of(plan.outputs[0]) : plan.loss;
  const LabelType label_type = is_regression_loss(first_loss) ? LabelType::kValues : LabelType::kClasses;
  DatasetOptions dataset_options{.label = plan.several() ? plan.outputs[0].column : plan.column,
                                 .categorical = s.categorical, .missing = missing_policy(s),
                                 .label_type = label_type, .max_categories = s.max_categories,
                                 .declared = data.declared ? &*data.declared : nullptr,
                                 .max_encoded_bytes = s.max_encoded_mb << 20, .text_column = s.text};
  for (size_t i = 1; i < plan.outputs.size(); ++i) {
    const bool values = is_regression_loss(loss_of(plan.outputs[i]));
    dataset_options.more_labels.emplace_back(plan.outputs[i].column, values ? LabelType::kValues : LabelType::kClasses);
    // A declared schema holds one label's classes: the others' would be learned from the rows.
    CITADEL_CHECK(!private_training || values, ValueError, "--dp: the classes of the label '", plan.outputs[i].column,
                  "' (output '", plan.outputs[i].output, "') would be learned from the private rows; a declared "
                  "schema gives the first label's classes only, so put a classification output first or give it a "
                  "regression loss");
  }
  if (private_training) check_nothing_learned(s, data, label_type);
  Dataset all = to_dataset(table, dataset_options);
  if (all.dropped_rows > 0 && training.verbose > 0)
    std::printf("Dropped %lld rows with missing values (--missing drop)\n", static_cast<long long>(all.dropped_rows));
  data.missing_cells = all.missing_cells;
  data.clamped_labels = all.clamped_labels;
  if (training.verbose > 0) {
    std::string filled;
    for (size_t c = 0; c < all.schema.input_columns.size(); ++c)
      if (all.missing_cells[c] > 0)
        filled += (filled.empty() ? "" : ", ") + terminal_safe(all.schema.input_columns[c]) + " " +
                  std::to_string(all.missing_cells[c]);
    if (!filled.empty()) std::printf("Missing cells to impute per column (--missing mean): %s\n", filled.c_str());
    if (all.clamped_labels > 0)
      std::printf("Clamped %lld labels into the range %s declares\n", static_cast<long long>(all.clamped_labels),
                  terminal_safe(s.schema).c_str());
  }
  data.schema = all.schema;
  data.loss = choose_loss(first_loss, data.schema);
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    data.outputs.push_back(plan.outputs[i].output);
    data.losses.push_back(choose_loss(loss_of(plan.outputs[i]), data.schema.label_schema(i)));
  }
  data.loss_weights = plan.loss_weights;
  if (!s.text.empty() && !hold_out_test) {
    all = with_text_ids(table, std::move(all), adapt_text(s, table, fit_rows(all.table_rows, {}, training)));
    data.schema = all.schema;
  }
  if (!hold_out_test) {
    data.x_train = std::move(all.x);
    data.y_train = std::move(all.y);
    data.more_y_train = std::move(all.more_y);
    return data;
  }
  // Under --dp each row's side depends on that row alone: the stratified split moves rows
  // of a class whenever one label changes, so neighbouring data sets would train on rows
  // that differ by more than the one (docs/SECURITY.md).
  const SplitIndices split = private_training ? split_by_row_hash(table_row_hashes(table, all, training.seed), s.test_split)
                                              : train_test_split(all.y, s.test_split, training.seed, data.classification());
  CITADEL_CHECK(!split.train.empty() && !split.test.empty(), ValueError, data.source, ": --test-split ", s.test_split,
                " of ", all.x.shape(0), " rows leaves an empty split");
  if (!s.text.empty()) {
    all = with_text_ids(table, std::move(all), adapt_text(s, table, fit_rows(all.table_rows, split.train, training)));
    data.schema = all.schema;
  }
  data.x_train = take_rows(all.x, split.train);
  data.y_train = take_rows(all.y, split.train);
  data.x_test = take_rows(all.x, split.test);
  data.y_test = take_rows(all.y, split.test);
  for (const Tensor& more : all.more_y) {
    data.more_y_train.push_back(take_rows(more, split.train));
    data.more_y_test.push_back(take_rows(more, split.test));
  }
  return data;
}

Dataset load_more_rows(const DataFlags& s, const std::string& path, const PreparedData& data,
                       const Preprocessor& trained) {
  CITADEL_CHECK(!data.images, ValueError, path, ": with --data fashion-mnist, other files cannot be read as rows");
  CITADEL_CHECK(!data.audio, ValueError, path, ": with --data ", data.source,
                " (a folder of WAV files), other files cannot be read as CSV rows; train, save, then evaluate --model");
  const EncodeOptions options = encode_options(s, trained);
  Dataset rows = encode(read_csv(path, csv_options(s)), data.schema, options);
  report_row_handling(data.schema, rows.missing_cells, rows.unseen_categories, options.missing == MissingValues::kMean,
                      path);
  return rows;
}

Tensor targets_for_loss(const Tensor& y, const PreparedData& data) {
  return one_hot_targets(y, data.loss, data.schema.class_count());
}

std::vector<Tensor> output_targets(const Model& model, const PreparedData& data, bool test) {
  const Tensor& first = test ? data.y_test : data.y_train;
  if (!data.several_outputs()) return {targets_for_loss(first, data)};
  std::vector<Tensor> targets;
  for (const std::string& output : model.output_names()) {
    const auto found = std::find(data.outputs.begin(), data.outputs.end(), output);
    CITADEL_CHECK(found != data.outputs.end(), ValueError, "--label: the model's output '", output,
                  "' has no label column; give --label ", output, "=COLUMN");
    const auto i = static_cast<size_t>(found - data.outputs.begin());
    const Tensor& y = i == 0 ? first : (test ? data.more_y_test : data.more_y_train)[i - 1];
    targets.push_back(one_hot_targets(y, data.losses[i], data.schema.label_schema(i).class_count()));
  }
  return targets;
}

void refuse_several_outputs(const PreparedData& data, const std::string& what) {
  std::string outputs;
  for (const auto& output : data.outputs) outputs += (outputs.empty() ? "'" : ", '") + output + "'";
  CITADEL_CHECK(!data.several_outputs(), ValueError, what, " takes a model of one output; --label gives labels to ",
                data.outputs.size(), " (", outputs, "): train it with `citadel train` (docs/CLI.md, \"Models of "
                "several outputs\")");
}

void describe_data(int verbose, const PreparedData& data) {
  if (verbose == 0) return;
  std::printf("Data: %s; %lld training rows%s", terminal_safe(data.source).c_str(), static_cast<long long>(data.x_train.shape(0)),
              data.x_test.defined() ? "" : "\n");
  if (data.x_test.defined()) std::printf(", %lld held out for the report\n", static_cast<long long>(data.x_test.shape(0)));
  for (size_t i = 0; i < data.schema.label_count(); ++i) {
    const LabelSchema label = data.schema.label_schema(i);
    const std::string output = data.several_outputs() ? "Output '" + terminal_safe(data.outputs[i]) + "': l" : "L";
    const std::string& loss = data.several_outputs() ? data.losses[i] : data.loss;
    if (label.type == LabelType::kClasses)
      std::printf("%sabel '%s': %lld classes; loss %s\n", output.c_str(), terminal_safe(label.name).c_str(),
                  static_cast<long long>(label.class_count()), loss.c_str());
    else
      std::printf("%sabel '%s': a number to predict; loss %s\n", output.c_str(), terminal_safe(label.name).c_str(),
                  loss.c_str());
  }
}

}  // namespace citadel::cli
