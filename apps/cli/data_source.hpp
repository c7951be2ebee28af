// Where the commands' rows come from: --data (a CSV file or Fashion-MNIST), split for a
// held-out report, and more rows read with a training file's schema.
#pragma once

#include <string>

#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "flags.hpp"

namespace citadel::cli {

struct PreparedData {
  Tensor x_train, y_train;
  Tensor x_test, y_test;  // not defined when no rows were held out
  DataSchema schema;      // classes (and, for CSV files, the columns)
  bool images = false;
  std::string source;  // the CSV's path or "fashion-mnist"
  std::string loss;    // resolved: given, or chosen from the labels
  bool classification() const { return schema.label_type == LabelType::kClasses; }
};

// The CSV options (--header, --delimiter, --max-data-bytes) and missing-value policy
// (--missing) the flags give.
CsvOptions csv_options(const DataFlags& flags);
MissingValues missing_policy(const DataFlags& flags);

// Reads --data, with the loss --loss gives or the labels suggest; with `hold_out_test`
// also sets aside the test rows (--test-split for CSV files, the official test split for
// Fashion-MNIST), split with --seed. Under `private_training` the categories are learned
// from the training rows alone.
PreparedData load_data(const DataFlags& flags, const ModelFlags& model, const TrainingFlags& training,
                       bool hold_out_test, bool private_training = false);
// Reads another CSV file with the training file's schema (the label may be absent).
Dataset load_more_rows(const DataFlags& flags, const std::string& path, const PreparedData& data);
// Targets in the form the loss wants (one-hot for categorical_crossentropy).
Tensor targets_for_loss(const Tensor& y, const PreparedData& data);
// A line saying what was loaded (printed when verbose).
void describe_data(int verbose, const PreparedData& data);

}  // namespace citadel::cli
