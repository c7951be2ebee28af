// Declared schemas: JSON read with nlohmann, every field checked with its path in the message.
#include "citadel/data/declared_schema.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/data/csv.hpp"

namespace citadel {
namespace {

constexpr int64_t kMaxSchemaBytes = 16 << 20;

using Json = nlohmann::json;

// A finite number at `key` of `object`, if present; `where` names the object.
std::optional<double> number_field(const Json& object, const char* key, const std::string& where) {
  const auto found = object.find(key);
  if (found == object.end()) return std::nullopt;
  CITADEL_CHECK(found->is_number() && std::isfinite(found->get<double>()), IoError, where, ".", key,
                " must be a finite number, got ", printable(found->dump()));
  return found->get<double>();
}

// A list of distinct strings (numbers are taken as their text: "classes": [0, 1]).
std::vector<std::string> name_list(const Json& value, const std::string& where) {
  CITADEL_CHECK(value.is_array() && !value.empty(), IoError, where, " must be a non-empty list");
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const Json& item : value) {
    std::string name;
    if (item.is_string()) name = item.get<std::string>();
    else if (item.is_number_integer()) name = std::to_string(item.get<int64_t>());
    else CITADEL_CHECK(false, IoError, where, " holds ", printable(item.dump()), "; give names as strings");
    CITADEL_CHECK(seen.insert(name).second, IoError, where, " lists '", printable(name), "' twice");
    names.push_back(std::move(name));
  }
  return names;
}

void check_keys(const Json& object, const std::set<std::string>& known, const std::string& where) {
  CITADEL_CHECK(object.is_object(), IoError, where, " must be a JSON object");
  for (const auto& [key, value] : object.items())
    CITADEL_CHECK(known.count(key), IoError, where, " has an unknown field '", printable(key), "'");
}

DeclaredColumn parse_column(const Json& object, const std::string& where) {
  check_keys(object, {"min", "max", "mean", "std", "fill", "categories"}, where);
  DeclaredColumn column;
  column.min = number_field(object, "min", where);
  column.max = number_field(object, "max", where);
  column.mean = number_field(object, "mean", where);
  column.std = number_field(object, "std", where);
  column.fill = number_field(object, "fill", where);
  if (object.contains("categories")) {
    column.categories = name_list(object["categories"], where + ".categories");
    CITADEL_CHECK(!column.min && !column.max && !column.mean && !column.std && !column.fill, IoError, where,
                  " declares categories and numeric fields; a column is one or the other");
  }
  CITADEL_CHECK(column.min.has_value() == column.max.has_value(), IoError, where,
                " gives only one of min and max; give both");
  if (column.min) CITADEL_CHECK(*column.min < *column.max, IoError, where, ": min ", *column.min,
                                " must be below max ", *column.max);
  if (column.std) CITADEL_CHECK(*column.std > 0, IoError, where, ".std must be positive, got ", *column.std);
  if (column.min) {
    for (const auto& [name, value] : {std::pair{"mean", column.mean}, std::pair{"fill", column.fill}})
      CITADEL_CHECK(!value || (*value >= *column.min && *value <= *column.max), IoError, where, ".", name, " ",
                    *value, " lies outside [min, max] = [", *column.min, ", ", *column.max, "]");
  }
  return column;
}

}  // namespace

const DeclaredColumn* DeclaredSchema::column(const std::string& name) const {
  const auto found = columns.find(name);
  return found == columns.end() ? nullptr : &found->second;
}

DeclaredSchema parse_declared_schema(std::string_view text, const std::string& source) {
  CITADEL_CHECK(int64_t(text.size()) <= kMaxSchemaBytes, IoError, source, ": larger than ", kMaxSchemaBytes,
                " bytes; a declared schema is a small JSON file");
  CITADEL_CHECK(json_nesting_depth(text) <= 8, IoError, source, ": nested too deep for a declared schema");
  Json document;
  try {
    document = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw IoError(detail::concat(source, ": not valid JSON (", e.what(), ")"));
  }
  check_keys(document, {"label", "columns"}, source);
  DeclaredSchema schema;
  schema.source = source;
  if (document.contains("label")) {
    const Json& label = document["label"];
    const std::string where = source + ": label";
    check_keys(label, {"name", "classes", "min", "max"}, where);
    if (label.contains("name")) {
      CITADEL_CHECK(label["name"].is_string(), IoError, where, ".name must be a string");
      schema.label = label["name"].get<std::string>();
    }
    if (label.contains("classes")) schema.classes = name_list(label["classes"], where + ".classes");
    schema.label_min = number_field(label, "min", where);
    schema.label_max = number_field(label, "max", where);
    CITADEL_CHECK(schema.label_min.has_value() == schema.label_max.has_value(), IoError, where,
                  " gives only one of min and max; give both");
    CITADEL_CHECK(!schema.label_min || *schema.label_min < *schema.label_max, IoError, where,
                  ": min must be below max");
    CITADEL_CHECK(schema.classes.empty() || !schema.label_min, IoError, where,
                  " gives classes and a range; a label is classes (classification) or a number (regression)");
    CITADEL_CHECK(schema.classes.empty() || schema.classes.size() >= 2, IoError, where,
                  ".classes needs at least two classes");
  }
  if (document.contains("columns")) {
    const Json& columns = document["columns"];
    CITADEL_CHECK(columns.is_object(), IoError, source, ": columns must be an object keyed by column name");
    for (const auto& [name, value] : columns.items())
      schema.columns.emplace(name, parse_column(value, source + ": columns." + printable(name)));
  }
  return schema;
}

DeclaredSchema read_declared_schema(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the declared schema (does it exist?)");
  std::string contents;
  char buffer[1 << 16];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    contents.append(buffer, static_cast<size_t>(file.gcount()));
    CITADEL_CHECK(int64_t(contents.size()) <= kMaxSchemaBytes, IoError, path, ": larger than ", kMaxSchemaBytes,
                  " bytes; a declared schema is a small JSON file");
  }
  return parse_declared_schema(contents, path);
}

}  // namespace citadel
