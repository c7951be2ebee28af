// The records of a run's JSON report (what `citadel ... --report` writes and the HTML page
// reads), as JSON text: the history, the classification report with its curves, the model's
// layers. Non-finite numbers are written as null.
#pragma once

#include <string>

#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/history.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel::report {

// {"loss": [...], "val_loss": [...], ...}: one value per epoch.
std::string history_record(const History& history);
// {"loss": 0.49, "accuracy": 0.76, ...}
std::string logs_record(const Logs& logs);
// {"classes": {name: {precision, recall, f1, support}}, "macro_avg", "weighted_avg",
//  "accuracy", "roc_auc", "confusion_matrix", "curves": [{"class", "roc": {"fpr", "tpr",
//  "auc"}, "precision_recall": {"recall", "precision", "average_precision"}}]}
std::string classification_record(const ClassificationReport& report);
// [{"name", "type", "output_shape", "parameters"}] of a built model.
std::string model_record(const Model& model);

}  // namespace citadel::report
