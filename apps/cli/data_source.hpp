// Where the commands' rows come from: --data (a CSV file or Fashion-MNIST), split for a
// held-out report, and more rows read with a training file's schema.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "citadel/data/audio_preprocessing.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/model/model.hpp"
#include "flags.hpp"

namespace citadel::cli {

struct PreparedData {
  Tensor x_train, y_train;
  Tensor x_test, y_test;  // not defined when no rows were held out
  DataSchema schema;      // classes (and, for CSV files, the columns)
  bool images = false;
  std::string source;  // the CSV's path or "fashion-mnist"
  std::string loss;    // resolved: given, or chosen from the labels
  // --data FOLDER of WAV files: the front end, adapted on the rows fit trains on (the rows
  // are its features, (rows, frames, coefficients)); null otherwise.
  std::shared_ptr<const AudioPreprocessing> audio;
  std::optional<DeclaredSchema> declared;  // --schema: what is known of the data beyond its rows
  std::vector<int64_t> missing_cells;      // per input column, in all rows read (CSV data)
  int64_t clamped_labels = 0;              // regression labels clamped into the declared range
  // A model of several outputs (--label OUTPUT=COLUMN): per label of the schema
  // (schema.label_schema order) the output that learns it and its loss (losses[0] == loss);
  // the labels after the first in more_y_*, and each output's weight in the total loss.
  std::vector<std::string> outputs, losses;
  std::vector<Tensor> more_y_train, more_y_test;
  std::map<std::string, double> loss_weights;
  bool classification() const { return schema.label_type == LabelType::kClasses; }
  bool several_outputs() const { return !outputs.empty(); }
};

// The CSV options (--header, --delimiter, --max-data-bytes) and missing-value policy
// (--missing) the flags give.
CsvOptions csv_options(const DataFlags& flags);
MissingValues missing_policy(const DataFlags& flags);
// For rows read for a trained pipeline: --missing when given, else the policy its training
// rows had (a model trained with --missing mean imputes new rows' missing values too).
MissingValues missing_policy(const DataFlags& flags, const Preprocessor& trained);
// --missing (as for `trained`), --unseen-categories and --max-encoded-mb as encode options.
EncodeOptions encode_options(const DataFlags& flags, const Preprocessor& trained);
// Says on stderr how rows were read beyond their numbers: missing cells imputed, and
// categories the model never saw (once per column, with a count), `what` naming the rows.
void report_row_handling(const DataSchema& schema, const std::vector<int64_t>& missing_cells,
                         const std::vector<int64_t>& unseen_categories, bool imputed, const std::string& what);

// The fraction of the training rows fit validates on (the last ones): --validation-split,
// else 0.1 for images or when --early-stopping/--reduce-lr watch val_loss, else none.
double validation_split_for(const TrainingFlags& flags, bool images);

// Reads --data, with the loss --loss gives or the labels suggest; with `hold_out_test`
// also sets aside the test rows (--test-split for CSV files, the official test split for
// Fashion-MNIST), split with --seed. With --text, the text column alone is the input,
// as token ids of a vocabulary adapted on the rows fit trains on (never the held-out or
// validation rows). Under `private_training` nothing of the encoding is
// learned from the rows (the classes and categories come from --schema, or the run is
// refused) and each row's side of the split depends on that row alone.
PreparedData load_data(const DataFlags& flags, const ModelFlags& model, const TrainingFlags& training,
                       bool hold_out_test, bool private_training = false);
// Reads another CSV file with the training file's schema (the label may be absent), as
// `trained` reads rows, saying on stderr what was imputed or unseen.
Dataset load_more_rows(const DataFlags& flags, const std::string& path, const PreparedData& data,
                       const Preprocessor& trained);
// Targets in the form the loss wants (one-hot for categorical_crossentropy).
Tensor targets_for_loss(const Tensor& y, const PreparedData& data);
// Every output's targets in the model's output order: the training rows' (or with `test`,
// the held-out rows'), each in the form its loss wants.
std::vector<Tensor> output_targets(const Model& model, const PreparedData& data, bool test);
// ValueError when `data` has labels of several outputs: `what` (a command or flag) takes
// a model of one output.
void refuse_several_outputs(const PreparedData& data, const std::string& what);
// Whether `loss` regresses values (every loss but the cross-entropies), so labels are numbers.
bool is_regression_loss(const std::string& loss);
// A line saying what was loaded (printed when verbose).
void describe_data(int verbose, const PreparedData& data);

}  // namespace citadel::cli
