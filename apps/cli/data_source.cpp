// Where the commands' rows come from: --data (a CSV file, with the header, delimiter and
// missing-value options, or Fashion-MNIST), split for a held-out report, and more rows
// read with a training file's schema.
#include "data_source.hpp"

#include <cstdio>
#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"

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

std::string choose_loss(const std::string& given, const DataSchema& schema) {
  if (!given.empty()) return given;
  if (schema.label_type == LabelType::kValues) return "mean_squared_error";
  return schema.class_count() == 2 ? "binary_crossentropy" : "sparse_categorical_crossentropy";
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

}  // namespace

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

PreparedData load_data(const DataFlags& s, const ModelFlags& model, const TrainingFlags& training,
                       bool hold_out_test, bool private_training) {
  if (s.data == kFashionMnist) return load_images(model.loss, hold_out_test);
  PreparedData data;
  data.source = s.data.empty() ? default_data_path() : s.data;
  const CsvTable table = read_csv(data.source, csv_options(s));
  if (training.verbose > 0) std::printf("%s: %s\n", data.source.c_str(), table.header_decision.c_str());
  const LabelType label_type = is_regression_loss(model.loss) ? LabelType::kValues : LabelType::kClasses;
  DatasetOptions dataset_options{.label = s.label, .categorical = s.categorical, .missing = missing_policy(s),
                                 .label_type = label_type, .max_categories = s.max_categories};
  Dataset all = to_dataset(table, dataset_options);
  if (all.dropped_rows > 0 && training.verbose > 0)
    std::printf("Dropped %lld rows with missing values (--missing drop)\n", static_cast<long long>(all.dropped_rows));
  data.schema = all.schema;
  data.loss = choose_loss(model.loss, data.schema);
  if (!hold_out_test) {
    data.x_train = std::move(all.x);
    data.y_train = std::move(all.y);
    return data;
  }
  const SplitIndices split = train_test_split(all.y, s.test_split, training.seed, data.classification());
  if (private_training && !s.categorical.empty()) {
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

Dataset load_more_rows(const DataFlags& s, const std::string& path, const PreparedData& data) {
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

void describe_data(int verbose, const PreparedData& data) {
  if (verbose == 0) return;
  std::printf("Data: %s; %lld training rows%s", data.source.c_str(), static_cast<long long>(data.x_train.shape(0)),
              data.x_test.defined() ? "" : "\n");
  if (data.x_test.defined()) std::printf(", %lld held out for the report\n", static_cast<long long>(data.x_test.shape(0)));
  if (data.classification())
    std::printf("Label '%s': %lld classes; loss %s\n", data.schema.label.c_str(),
                static_cast<long long>(data.schema.class_count()), data.loss.c_str());
  else
    std::printf("Label '%s': a number to predict; loss %s\n", data.schema.label.c_str(), data.loss.c_str());
}

}  // namespace citadel::cli
