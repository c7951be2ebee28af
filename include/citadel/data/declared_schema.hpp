// What is known about a data set from outside its rows: each column's range, the scaling
// statistics and missing-value fill a data owner states, the categories and the label's
// classes. Differentially private training takes its preprocessing from it rather than
// from the private rows, so that one row cannot change how every other row is encoded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

struct DeclaredColumn {
  std::optional<double> min, max;    // values outside are clamped into [min, max]
  std::optional<double> mean, std;   // standard scaling's statistics
  std::optional<double> fill;        // what a missing value becomes (default: mean)
  std::vector<std::string> categories;  // a categorical column's values, in one-hot order
  bool categorical() const { return !categories.empty(); }
};

struct DeclaredSchema {
  std::string source;  // the file it was read from, for messages
  std::map<std::string, DeclaredColumn> columns;  // by column name
  std::optional<std::string> label;               // the label column's name, when stated
  std::vector<std::string> classes;               // the label's classes, in index order
  std::optional<double> label_min, label_max;     // a regression label's range (clamped)

  // The column's declaration, or null when the file says nothing of it.
  const DeclaredColumn* column(const std::string& name) const;
};

// Parses the JSON form (docs/CLI.md, "Declared schemas"):
//   {"label": {"name": "target", "classes": ["0", "1"]},
//    "columns": {"age": {"min": 0, "max": 120, "mean": 40, "std": 15, "fill": 40},
//                "colour": {"categories": ["red", "green"]}}}
// IoError naming `source` and the field when it is malformed or inconsistent.
DeclaredSchema parse_declared_schema(std::string_view json, const std::string& source);
// Reads and parses a file of at most 16 MiB.
DeclaredSchema read_declared_schema(const std::string& path);

}  // namespace citadel
