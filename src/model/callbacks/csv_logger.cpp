// CSVLogger: the history as a CSV file, rewritten atomically after every epoch.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/model/callbacks.hpp"

namespace citadel {

CSVLogger::CSVLogger(std::string path, const CSVLoggerOptions& options)
    : path_(std::move(path)), options_(options) {
  CITADEL_CHECK(!path_.empty(), ValueError, "CSVLogger: the file path is empty");
}

void CSVLogger::on_train_begin(Model&) {
  header_.clear();
  rows_.clear();
  earlier_rows_.clear();
  if (!options_.append) return;
  std::ifstream existing(path_);
  if (!existing) return;
  std::stringstream text;
  text << existing.rdbuf();
  earlier_rows_ = text.str();
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs, Model&) {
  const char separator = options_.separator;
  if (header_.empty()) {
    header_ = "epoch";
    for (const auto& [name, value] : logs) header_ += separator + name;
    header_ += "\n";
  }
  std::string row = std::to_string(epoch);
  for (const auto& [name, value] : logs) {
    char number[32];
    std::snprintf(number, sizeof number, "%.9g", value);
    row += separator;
    row += number;
  }
  rows_ += row + "\n";
  write_file_atomically(path_, (earlier_rows_.empty() ? header_ : earlier_rows_) + rows_, options_.mode);
}

}  // namespace citadel
