// DP-SGD's guarantee for the whole pipeline, CSV → preprocessing → training: trained on
// neighbouring data sets (one row replaced, one row removed) with the noise off, every
// step's sum of clipped per-example gradients (recorded with --dp-trace) differs by at most
// 2C (replaced) or C (removed), for every scaling, imputation, one-hot, adversarial and
// validation-split option. Anything learned from the rows that reached the other rows'
// inputs (scaling statistics, a stratified split, an observed attack range) breaks it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli_runner.hpp"

namespace citadel {
namespace dp_pipeline_test {
namespace {

using testkit::read_file;
using testkit::run_cli;
using testkit::scratch_directory;
using testkit::write_scratch_file;

// Small enough that every example's gradient is clipped to exactly C: two different rows' shares
// then differ by about C, and a second changed row shows.
constexpr double kClip = 0.01;

struct Row {
  std::string a, b, c, colour, label;
};

// `count` rows of a pseudo-random table (a fixed LCG: the same on every machine); with
// `missing`, some cells of a and b are '?'.
std::vector<Row> make_rows(bool missing, int count = 60) {
  std::vector<Row> rows;
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return double(state >> 11) / double(1ull << 53);
  };
  const char* colours[] = {"red", "green", "blue"};
  for (int i = 0; i < count; ++i) {
    Row row;
    const double a = next() * 4 - 2, b = next() * 4 - 2, c = next() * 4 - 2;
    row.a = missing && i % 7 == 3 ? "?" : std::to_string(a);
    row.b = missing && i % 5 == 1 ? "?" : std::to_string(b);
    row.c = std::to_string(c);
    row.colour = colours[int(next() * 3) % 3];
    row.label = a + 0.5 * b - c > 0 ? "1" : "0";
    rows.push_back(row);
  }
  return rows;
}

std::string to_csv(const std::vector<Row>& rows) {
  std::string text = "a,b,c,colour,label\n";
  for (const Row& row : rows) text += row.a + "," + row.b + "," + row.c + "," + row.colour + "," + row.label + "\n";
  return text;
}

// Each column's public range and statistics, stated without looking at the rows.
std::string schema_json() {
  const std::string numeric = R"({"min": -3, "max": 3, "mean": 0, "std": 1.2, "fill": 0})";
  return R"({"label": {"name": "label", "classes": ["0", "1"]}, "columns": {"a": )" + numeric + R"(, "b": )" +
         numeric + R"(, "c": )" + numeric + R"(, "colour": {"categories": ["red", "green", "blue"]}}})";
}

// Every step's noisy sum from a --dp-trace file.
std::vector<std::vector<float>> read_trace(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const size_t newline = bytes.find('\n');
  EXPECT_NE(newline, std::string::npos) << path;
  std::istringstream header(bytes.substr(0, newline));
  std::string magic;
  int version = 0;
  size_t width = 0;
  header >> magic >> version >> width;
  EXPECT_EQ(magic, "citadel-dp-trace");
  EXPECT_EQ(version, 1);
  const size_t body = bytes.size() - newline - 1;
  EXPECT_GT(width, 0u);
  EXPECT_EQ(body % (width * sizeof(float)), 0u);
  std::vector<std::vector<float>> steps(body / (width * sizeof(float)), std::vector<float>(width));
  for (size_t s = 0; s < steps.size(); ++s)
    std::memcpy(steps[s].data(), bytes.data() + newline + 1 + s * width * sizeof(float), width * sizeof(float));
  return steps;
}

std::vector<std::vector<float>> train_trace(const std::string& name, const std::vector<Row>& rows,
                                            const std::string& options) {
  const auto data = write_scratch_file(name + ".csv", to_csv(rows));
  const auto schema = write_scratch_file("schema.json", schema_json());
  const auto trace = scratch_directory() / (name + ".trace");
  // Noise 0, and a learning rate so small that the weights stay where they started: every
  // step is taken at the same weights, so the two runs' sums are comparable step by step.
  // Batches of every row (fixed batches larger than the data): the sum covers all of them.
  const auto result = run_cli("train --data " + data.string() + " --schema " + schema.string() +
                              " --dp --noise 0 --clip 0.01 --fixed-batches --batch-size 1000 --epochs 2 "
                              "--optimizer sgd --learning-rate 1e-30 --seed 7 --no-save --verbose 0 --dp-trace " +
                              trace.string() + " " + options);
  EXPECT_EQ(result.exit_code, 0) << options << "\n" << result.err;
  return read_trace(trace);
}

// The largest step-by-step distance between the sums of D and its neighbour, checked
// against the bound.
double check_neighbours(const std::string& options, const std::vector<Row>& d, const std::vector<Row>& neighbour,
                        double bound) {
  const auto first = train_trace("d", d, options), second = train_trace("neighbour", neighbour, options);
  EXPECT_EQ(first.size(), 2u) << options;
  EXPECT_EQ(first.size(), second.size()) << options;
  double largest = 0;
  for (size_t s = 0; s < std::min(first.size(), second.size()); ++s) {
    EXPECT_EQ(first[s].size(), second[s].size());
    double distance = 0, size = 0;
    for (size_t i = 0; i < std::min(first[s].size(), second[s].size()); ++i) {
      distance += std::pow(double(first[s][i]) - second[s][i], 2);
      size += std::pow(double(first[s][i]), 2);
    }
    distance = std::sqrt(distance);
    EXPECT_LE(distance, bound * (1 + 1e-3) + 1e-7) << options << ": step " << s + 1;
    EXPECT_GT(std::sqrt(size), 2 * kClip) << options << ": the sum should hold many clipped gradients";
    largest = std::max(largest, distance);
  }
  return largest;
}

// Row k replaced by one far outside the declared ranges, of an undeclared category (and
// with a missing cell where the data has them).
std::vector<Row> replaced(std::vector<Row> rows, size_t k, bool missing) {
  rows[k] = {missing ? "?" : "1e30", "-1e30", "2.5", "purple", rows[k].label == "1" ? "0" : "1"};
  return rows;
}

std::vector<Row> removed(std::vector<Row> rows, size_t k) {
  rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(k));
  return rows;
}

void check_option(const std::string& options, bool missing = false, int rows = 60) {
  const std::vector<Row> d = make_rows(missing, rows);
  double largest = 0;
  for (const size_t k : {3u, 8u, 21u}) {
    largest = std::max(largest, check_neighbours(options, d, replaced(d, k, missing), 2 * kClip));
    largest = std::max(largest, check_neighbours(options, d, removed(d, k), kClip));
  }
  // Some changed row reached the training rows (else the comparison would prove nothing).
  EXPECT_GT(largest, 0.1 * kClip) << options;
}

TEST(DpPipeline, StandardScalingWithOneHotKeepsTheBound) { check_option("--scale standard --categorical colour"); }
TEST(DpPipeline, MinMaxScalingKeepsTheBound) { check_option("--scale minmax"); }
TEST(DpPipeline, NoScalingKeepsTheBound) { check_option("--scale none"); }
TEST(DpPipeline, MeanImputationKeepsTheBound) { check_option("--scale standard --missing mean", true); }
TEST(DpPipeline, AdversarialTrainingKeepsTheBound) { check_option("--scale minmax --adversarial fgsm --eps 0.1"); }
// 61 rows, of which the held-out split (by row hash, seed 7) keeps 58 for training; Keras's
// cut at a position keeps floor(58 · 0.6) = floor(57 · 0.6) = 34 rows, so it would move a
// validation row into training when a training row is removed (checked by reverting to it).
TEST(DpPipeline, ValidationSplitKeepsTheBound) {
  check_option("--scale standard --test-split 0.05 --validation-split 0.4", false, 61);
}

// What would be learned from the private rows is refused under --dp, naming the fix.
TEST(DpPipeline, RefusesWhatWouldBeLearnedFromThePrivateRows) {
  const auto data = write_scratch_file("refuse.csv", to_csv(make_rows(false)));
  const auto schema = write_scratch_file("schema.json", schema_json());
  const auto classes_only = write_scratch_file("classes.json", R"({"label": {"classes": ["0", "1"]}})");
  const auto no_statistics = write_scratch_file(
      "no_statistics.json", R"({"label": {"classes": ["0", "1"]}, "columns": {"colour": {"categories": ["red"]}}})");
  const std::string base = "train --data " + data.string() + " --dp --epochs 1 --no-save --verbose 0 ";
  struct Case {
    std::string options, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"--scale none", "label's classes would be learned"},
           {"--schema " + no_statistics.string() + " --scale standard", "column 'a' declares no mean"},
           {"--schema " + no_statistics.string(), "column 'a' declares no min"},  // minmax: --dp's default
           {"--schema " + classes_only.string() + " --scale none --categorical colour", "categories of column 'colour'"},
           {"--scale standard --schema " + no_statistics.string() + " --missing mean", "declares no fill or mean"},
       }) {
    const auto result = run_cli(base + c.options);
    EXPECT_NE(result.exit_code, 0) << c.options;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << c.options << ": " << result.err;
  }
  // Without a schema the run is refused, and the message names --schema.
  const auto no_schema_scaling = run_cli(base + "--scale minmax --categorical colour");
  EXPECT_NE(no_schema_scaling.exit_code, 0);
  EXPECT_NE(no_schema_scaling.err.find("--schema"), std::string::npos) << no_schema_scaling.err;
  // An attack range observed on the private rows is refused too.
  const auto attack = run_cli(base + "--schema " + no_statistics.string() + " --scale none --adversarial fgsm --eps 0.1");
  EXPECT_NE(attack.exit_code, 0);
  EXPECT_NE(attack.err.find("declare column 'a''s min and max"), std::string::npos) << attack.err;
  // With the declared schema the same run is accepted.
  EXPECT_EQ(run_cli(base + "--schema " + schema.string() + " --scale minmax --categorical colour").exit_code, 0);
}

// One extreme label makes the loss infinite; under --dp the step's update stays bounded
// (the example's gradient is clipped or left out), so training still ends with a model.
TEST(DpPipeline, AnExtremeRegressionLabelDoesNotEndTraining) {
  std::string text = "x1,x2,y\n";
  for (int i = 0; i < 40; ++i) text += std::to_string(i % 5) + "," + std::to_string(i % 3) + "," + std::to_string(i % 4) + "\n";
  text += "1,1,3e38\n";
  const auto data = write_scratch_file("extreme.csv", text);
  const auto model = scratch_directory() / "extreme.safetensors";
  const auto result = run_cli("train --data " + data.string() + " --loss mse --dp --scale none --epochs 3 "
                              "--batch-size 8 --verbose 0 --save " + model.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::filesystem::exists(model));
}

// Under --dp the CSV log holds the same exact figures as the report: owner-only as well;
// the report states the neighbouring relation and that the row count is outside ε.
TEST(DpPipeline, LogIsOwnerOnlyAndTheReportSaysWhatIsOutsideEpsilon) {
  const auto data = write_scratch_file("log.csv", to_csv(make_rows(false)));
  const auto schema = write_scratch_file("schema.json", schema_json());
  const auto log = scratch_directory() / "history.csv", report = scratch_directory() / "report.json";
  std::filesystem::remove(log);
  const auto result = run_cli("train --data " + data.string() + " --schema " + schema.string() +
                              " --dp --scale minmax --epochs 2 --no-save --verbose 0 --csv-log " + log.string() +
                              " --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  struct stat info {};
  ASSERT_EQ(::stat(log.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const auto json = nlohmann::json::parse(read_file(report));
  const auto& dp = json.at("protection").at("differential_privacy");
  EXPECT_NE(dp.at("neighbouring_relation").get<std::string>().find("one row added or removed"), std::string::npos);
  bool count_listed = false;
  for (const auto& item : dp.at("not_covered_by_epsilon"))
    count_listed = count_listed || item.get<std::string>().find("number of training rows") != std::string::npos;
  EXPECT_TRUE(count_listed) << dp.dump();
  EXPECT_EQ(json.at("preprocessing").at("statistics_from"), "declared schema");
}

}  // namespace
}  // namespace dp_pipeline_test
}  // namespace citadel
