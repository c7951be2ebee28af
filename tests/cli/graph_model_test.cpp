// Functional (graph) configs through the command line: a residual block trains, saves,
// evaluates and predicts as a Sequential network does (predictions checked against a
// forward pass written out here), trains under --dp, and bad configs are refused naming
// the Input or layer at fault.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/data/csv.hpp"
#include "citadel/io/saved_model.hpp"
#include "cli_runner.hpp"

namespace graph_model_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

// features → Dense(8, relu) → Add(features, ·) → Dense(1, sigmoid): a residual block over
// Pima's 8 columns, in Keras 2's inbound_nodes form. `width` sets the Input's shape.
std::string residual_config(int width = 8, const std::string& output = R"("units": 1, "activation": "sigmoid")") {
  const std::string w = std::to_string(width);
  return R"({"class_name": "Functional", "config": {"name": "residual", "layers": [
    {"class_name": "InputLayer", "name": "features", "config": {"batch_input_shape": [null, )" + w +
         R"(], "name": "features"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "h", "config": {"name": "h", "units": )" + w +
         R"(, "activation": "relu"}, "inbound_nodes": [[["features", 0, 0, {}]]]},
    {"class_name": "Add", "name": "skip", "config": {"name": "skip"},
     "inbound_nodes": [[["features", 0, 0, {}], ["h", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", )" + output +
         R"(}, "inbound_nodes": [[["skip", 0, 0, {}]]]}],
    "input_layers": [["features", 0, 0]], "output_layers": [["out", 0, 0]]}})";
}

// The header and the first `rows` rows of Pima's CSV.
std::string pima_head(int rows) {
  const std::string all = read_file(CITADEL_SOURCE_DATA);
  size_t end = 0;
  for (int i = 0; i <= rows; ++i) end = all.find('\n', end) + 1;
  return all.substr(0, end);
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

// The last probability column (class 1's) of a predictions CSV.
std::vector<double> p1_column(const std::string& csv, const std::string& header = "line,predicted,p_0,p_1") {
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, header);
  std::vector<double> p;
  while (std::getline(lines, line)) p.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  return p;
}

}  // namespace

TEST(CliGraph, ResidualConfigTrainsAndItsFilePredictsItsOwnForwardPass) {
  const fs::path config = write_scratch_file("residual.json", residual_config());
  const fs::path model = scratch_directory() / "residual.safetensors", report = scratch_directory() / "residual.json.report";
  const CliResult trained = run_cli("train --verbose 0 --epochs 30 --data " + std::string(CITADEL_SOURCE_DATA) +
                                    " --model-config " + config.string() + " --save " + model.string() + " --report " +
                                    report.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const nlohmann::json figures = read_json(report);
  const auto& loss = figures["history"]["loss"];
  ASSERT_EQ(loss.size(), 30u);
  EXPECT_LT(loss.back().get<double>(), 0.8 * loss.front().get<double>()) << loss;
  // The report lists the graph's layers with each one's output shape.
  ASSERT_EQ(figures["model"].size(), 3u) << figures["model"];
  EXPECT_EQ(figures["model"][1]["type"], "Add");
  EXPECT_EQ(figures["model"][1]["output_shape"], nlohmann::json::array({8}));

  // predict --model against out = sigmoid(W2·(x + relu(W1·x + b1)) + b2) on the rows as the
  // saved preprocessing reads them, with the file's weights.
  const fs::path rows = write_scratch_file("pima_head.csv", pima_head(40));
  const fs::path predictions = scratch_directory() / "residual_predictions.csv";
  const CliResult predicted = run_cli("predict --verbose 0 --model " + model.string() + " --input " + rows.string() +
                                      " --output " + predictions.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const std::vector<double> p = p1_column(read_file(predictions));
  const citadel::SavedModel saved = citadel::load_saved_model(model.string());
  const citadel::Dataset x = saved.encode(citadel::read_csv(rows.string()));
  const std::vector<citadel::Tensor> w = saved.model.get_weights();
  ASSERT_EQ(w.size(), 4u);
  ASSERT_EQ(w[0].shape(), citadel::Shape({8, 8}));  // (inputs, units), as Keras
  ASSERT_EQ(x.x.shape(0), static_cast<int64_t>(p.size()));
  ASSERT_GT(p.size(), 10u);
  for (int64_t n = 0; n < x.x.shape(0); ++n) {
    double z = w[3][0];
    for (int64_t j = 0; j < 8; ++j) {
      double h = w[1][j];
      for (int64_t i = 0; i < 8; ++i) h += double(x.x[n * 8 + i]) * w[0][i * 8 + j];
      z += (double(x.x[n * 8 + j]) + std::max(h, 0.0)) * w[2][j];
    }
    EXPECT_NEAR(p[n], 1 / (1 + std::exp(-z)), 2e-6) << "row " << n;
  }

  // evaluate --model reads the same file and scores it on every row.
  const fs::path evaluation = scratch_directory() / "residual_evaluation.json";
  const CliResult evaluated = run_cli("evaluate --model " + model.string() + " --test " + CITADEL_SOURCE_DATA +
                                      " --report " + evaluation.string());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_EQ(read_json(evaluation)["test_rows"], 768);
}

TEST(CliGraph, SavedGraphPredictsWhatTheTrainedModelPredicted) {
  const fs::path config = write_scratch_file("residual_same.json", residual_config());
  const fs::path model = scratch_directory() / "same.safetensors", rows = write_scratch_file(
      "pima_rows.csv", pima_head(60));
  const fs::path direct = scratch_directory() / "graph_direct.csv", from_file = scratch_directory() / "graph_file.csv";
  const CliResult trained = run_cli("predict --verbose 0 --epochs 5 --data " + std::string(CITADEL_SOURCE_DATA) +
                                    " --model-config " + config.string() + " --input " + rows.string() + " --output " +
                                    direct.string() + " --save " + model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const CliResult loaded = run_cli("predict --verbose 0 --model " + model.string() + " --input " + rows.string() +
                                   " --output " + from_file.string());
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_GT(p1_column(read_file(direct)).size(), 20u);
  EXPECT_EQ(read_file(from_file), read_file(direct));
}

TEST(CliGraph, ResidualConfigTrainsUnderDifferentialPrivacy) {
  const fs::path config = write_scratch_file("residual_dp.json", residual_config());
  const fs::path report = scratch_directory() / "residual_dp_report.json";
  const CliResult result = run_cli("train --verbose 0 --epochs 3 --dp --dp-reproducible --data " +
                                   std::string(CITADEL_SOURCE_DATA) + " --schema " + CITADEL_SOURCE_SCHEMA +
                                   " --model-config " + config.string() + " --no-save --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json figures = read_json(report);
  EXPECT_GT(figures["epsilon"].get<double>(), 0);
  EXPECT_TRUE(std::isfinite(figures["loss"].get<double>()));
}

TEST(CliGraph, BadGraphConfigsNameTheInputOrLayer) {
  const std::string data = " --epochs 1 --verbose 0 --no-save --data " + std::string(CITADEL_SOURCE_DATA);
  // An Input of the wrong width: the CLI slips no Flatten or projection in front of a graph.
  const CliResult narrow = run_cli("train --model-config " + write_scratch_file("narrow.json", residual_config(5)).string() + data);
  EXPECT_NE(narrow.exit_code, 0);
  EXPECT_NE(narrow.err.find("the Input 'features' expects shape (5,) but the data's rows give shape (8,)"),
            std::string::npos) << narrow.err;
  // A layer the config gets wrong, named with its type.
  const CliResult zero = run_cli("train --model-config " +
                                 write_scratch_file("zero.json", residual_config(8, R"("units": 0)")).string() + data);
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.err.find("layers[3] (Dense): 'units'"), std::string::npos) << zero.err;
  // A merge of two shapes names the merge layer.
  std::string mismatched = residual_config();
  const std::string hidden = R"("name": "h", "units": 8)";
  mismatched.replace(mismatched.find(hidden), hidden.size(), R"("name": "h", "units": 3)");
  const CliResult merge = run_cli("train --model-config " + write_scratch_file("merge.json", mismatched).string() + data);
  EXPECT_NE(merge.exit_code, 0);
  EXPECT_NE(merge.err.find("skip (Add): its inputs must have one shape"), std::string::npos) << merge.err;
  // An output too wide for a binary label names the label and what to end with.
  const CliResult wide = run_cli("train --model-config " +
                                 write_scratch_file("wide.json", residual_config(8, R"("units": 3, "activation": "softmax")")).string() + data);
  EXPECT_NE(wide.exit_code, 0);
  EXPECT_NE(wide.err.find("1:sigmoid"), std::string::npos) << wide.err;
}

namespace {

// Two numeric columns around a categorical one; the label needs both kinds.
std::string two_kinds_csv() {
  std::string csv = "x1,shade,x2,label\n";
  for (int i = 0; i < 80; ++i) {
    const int x1 = i % 10 - 5, x2 = (i * 7) % 11 - 5;
    const bool dark = i % 3 == 0;
    csv += std::to_string(x1) + "," + (dark ? "dark" : "light") + "," + std::to_string(x2) + "," +
           (x1 + x2 + (dark ? 4 : -2) > 0 ? "yes" : "no") + "\n";
  }
  return csv;
}

// Input 'numeric' (x1, x2) → Dense(4, relu); Input 'shade' (its 2 one-hot features) →
// Dense(3); both concatenated → Dense(1, sigmoid).
std::string two_inputs_config(const std::string& shade_name = "shade", int shade_width = 2) {
  return R"({"class_name": "Functional", "config": {"name": "two_inputs", "layers": [
    {"class_name": "InputLayer", "name": "numeric", "config": {"batch_input_shape": [null, 2], "name": "numeric"}, "inbound_nodes": []},
    {"class_name": "InputLayer", "name": ")" + shade_name + R"(", "config": {"batch_input_shape": [null, )" +
         std::to_string(shade_width) + R"(], "name": ")" + shade_name + R"("}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "n", "config": {"name": "n", "units": 4, "activation": "relu"}, "inbound_nodes": [[["numeric", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "c", "config": {"name": "c", "units": 3}, "inbound_nodes": [[[")" + shade_name + R"(", 0, 0, {}]]]},
    {"class_name": "Concatenate", "name": "both", "config": {"name": "both", "axis": -1}, "inbound_nodes": [[["n", 0, 0, {}], ["c", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1, "activation": "sigmoid"}, "inbound_nodes": [[["both", 0, 0, {}]]]}],
    "input_layers": [["numeric", 0, 0], [")" + shade_name + R"(", 0, 0]], "output_layers": [["out", 0, 0]]}})";
}

}  // namespace

TEST(CliGraph, TwoInputsTakeTheirColumnGroups) {
  const fs::path data = write_scratch_file("two_kinds.csv", two_kinds_csv());
  const fs::path config = write_scratch_file("two_inputs.json", two_inputs_config());
  const fs::path model = scratch_directory() / "two_inputs.safetensors", report = scratch_directory() / "two_inputs_report.json";
  const fs::path direct = scratch_directory() / "two_direct.csv", from_file = scratch_directory() / "two_file.csv";
  const std::string common = " --verbose 0 --epochs 60 --data " + data.string() + " --categorical shade --model-config " +
                             config.string();
  const CliResult trained = run_cli("train" + common + " --save " + model.string() + " --report " + report.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const nlohmann::json loss = read_json(report)["history"]["loss"];
  ASSERT_EQ(loss.size(), 60u);
  EXPECT_LT(loss.back().get<double>(), 0.7 * loss.front().get<double>()) << loss;

  // The model trained in-process (predict trains on every row) predicts what its file does.
  const fs::path saved_by_predict = scratch_directory() / "two_inputs_predict.safetensors";
  const CliResult in_process = run_cli("predict" + common + " --input " + data.string() + " --output " +
                                       direct.string() + " --save " + saved_by_predict.string());
  ASSERT_EQ(in_process.exit_code, 0) << in_process.err;
  const CliResult predicted = run_cli("predict --verbose 0 --model " + saved_by_predict.string() + " --input " +
                                      data.string() + " --output " + from_file.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_EQ(read_file(from_file), read_file(direct));
  // The file's predictions against the graph written out here, each Input fed the columns
  // docs/CLI.md promises: encoded rows are x1 | shade=dark shade=light | x2.
  const std::vector<double> p = p1_column(read_file(from_file), "line,predicted,p_no,p_yes");
  const citadel::SavedModel saved = citadel::load_saved_model(saved_by_predict.string());
  const citadel::Dataset x = saved.encode(citadel::read_csv(data.string()));
  ASSERT_EQ(x.x.shape(1), 4);
  std::vector<citadel::Tensor> w = saved.model.get_weights();
  ASSERT_EQ(w.size(), 6u);
  if (w[0].shape() != citadel::Shape({2, 4})) std::swap(w[0], w[2]), std::swap(w[1], w[3]);  // n before c
  ASSERT_EQ(w[0].shape(), citadel::Shape({2, 4}));
  ASSERT_EQ(w[2].shape(), citadel::Shape({2, 3}));
  ASSERT_EQ(w[4].shape(), citadel::Shape({7, 1}));
  ASSERT_EQ(static_cast<int64_t>(p.size()), 80);
  for (int64_t r = 0; r < 80; ++r) {
    const float* row = x.x.data() + r * 4;
    const double numeric[2] = {row[0], row[3]}, shade[2] = {row[1], row[2]};
    double z = w[5][0];
    for (int j = 0; j < 4; ++j) {
      double h = w[1][j];
      for (int i = 0; i < 2; ++i) h += numeric[i] * w[0][i * 4 + j];
      z += std::max(h, 0.0) * w[4][j];
    }
    for (int j = 0; j < 3; ++j) {
      double c = w[3][j];
      for (int i = 0; i < 2; ++i) c += shade[i] * w[2][i * 3 + j];
      z += c * w[4][4 + j];
    }
    EXPECT_NEAR(p[r], 1 / (1 + std::exp(-z)), 2e-6) << "row " << r;
  }
  // info says which columns feed which Input.
  const fs::path info = scratch_directory() / "two_inputs_info.json";
  ASSERT_EQ(run_cli("info " + model.string() + " --report " + info.string()).exit_code, 0);
  EXPECT_EQ(read_json(info)["input_columns"],
            nlohmann::json::parse(R"({"numeric": ["x1", "x2"], "shade": ["shade"]})"));
  // evaluate and audit read it with both inputs.
  EXPECT_EQ(run_cli("evaluate --model " + model.string() + " --test " + data.string()).exit_code, 0);
  const CliResult audit = run_cli("audit --reference-epochs 2 --model " + model.string() + " --train " + data.string() +
                                  " --holdout " + data.string());
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
}

TEST(CliGraph, AnInputOfNoColumnGroupIsNamedWithTheGroups) {
  const fs::path data = write_scratch_file("two_kinds_bad.csv", two_kinds_csv());
  const std::string common = " --verbose 0 --epochs 1 --no-save --categorical shade --data " + data.string();
  const CliResult unknown = run_cli("train --model-config " +
                                    write_scratch_file("colour.json", two_inputs_config("colour")).string() + common);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("the Input 'colour' names no column group of the data"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("'numeric' (the numeric columns), 'x1', 'shade', 'x2'"), std::string::npos) << unknown.err;
  const CliResult wide = run_cli("train --model-config " +
                                 write_scratch_file("wide_shade.json", two_inputs_config("shade", 3)).string() + common);
  EXPECT_NE(wide.exit_code, 0);
  EXPECT_NE(wide.err.find("the Input 'shade' expects shape (3,) but its columns (shade) give shape (2,)"),
            std::string::npos) << wide.err;
  // A column no Input takes is said, not silently dropped (here: 'numeric' and 'x1').
  const CliResult partial = run_cli("train --model-config " +
                                    write_scratch_file("x1_too.json", two_inputs_config("x1", 1)).string() + common);
  EXPECT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_NE(partial.err.find("takes the columns 'shade'; they are not used"), std::string::npos) << partial.err;
}

// A model of several inputs under the CLI's protections: each CSV row is one example
// whichever inputs it feeds (--dp), and an attack perturbs the Input --attack-input names.
TEST(CliGraph, ProtectionsTakeAModelOfSeveralInputs) {
  const fs::path data = write_scratch_file("two_kinds_protected.csv", two_kinds_csv());
  const fs::path config = write_scratch_file("two_inputs_protected.json", two_inputs_config());
  const fs::path schema = write_scratch_file("two_kinds.schema.json", R"({"label": {"name": "label", "classes": ["no", "yes"]},
    "columns": {"x1": {"min": -5, "max": 5}, "x2": {"min": -5, "max": 5}, "shade": {"categories": ["dark", "light"]}}})");
  const fs::path model = scratch_directory() / "two_inputs_protected.safetensors";
  const fs::path dp_report = scratch_directory() / "two_inputs_dp.json";
  const std::string common = " --verbose 0 --data " + data.string() + " --categorical shade --model-config " +
                             config.string();

  // DP-SGD, with a validation split made by a hash of each row's parts in both inputs.
  const CliResult dp = run_cli("train" + common + " --epochs 3 --no-save --dp --dp-reproducible --validation-split 0.25 "
                               "--schema " + schema.string() + " --report " + dp_report.string());
  ASSERT_EQ(dp.exit_code, 0) << dp.err;
  const nlohmann::json private_run = read_json(dp_report);
  ASSERT_EQ(private_run["history"]["epsilon"].size(), 3u);
  ASSERT_EQ(private_run["history"]["val_loss"].size(), 3u);
  EXPECT_GT(private_run["epsilon"].get<double>(), 0);
  EXPECT_EQ(private_run["epsilon"], private_run["history"]["epsilon"].back());

  // Adversarial training needs to know which input to attack; a wrong name lists the inputs.
  const CliResult unnamed = run_cli("train" + common + " --epochs 2 --no-save --adversarial fgsm --eps 0.1");
  EXPECT_NE(unnamed.exit_code, 0);
  EXPECT_NE(unnamed.err.find("the model has 2 inputs ('numeric', 'shade'); say which one the attack perturbs with "
                             "--attack-input NAME"), std::string::npos) << unnamed.err;
  const CliResult unknown = run_cli("train" + common + " --epochs 2 --no-save --adversarial fgsm --eps 0.1 "
                                    "--attack-input colour");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("--attack-input 'colour' is not an input of the model; its inputs are 'numeric', 'shade'"),
            std::string::npos) << unknown.err;
  const CliResult alone = run_cli("train" + common + " --epochs 2 --no-save --attack-input numeric");
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--attack-input chooses the input --adversarial attacks"), std::string::npos) << alone.err;
  const fs::path adversarial_report = scratch_directory() / "two_inputs_adversarial.json";
  const CliResult adversarial = run_cli("train" + common + " --epochs 40 --adversarial pgd --eps 0.1 --attack-input "
                                        "numeric --save " + model.string() + " --report " + adversarial_report.string());
  ASSERT_EQ(adversarial.exit_code, 0) << adversarial.err;
  EXPECT_EQ(read_json(adversarial_report)["protection"]["adversarial_training"]["attacked_input"], "numeric");

  // attack: the numeric input is moved within ε, the shade input is left alone.
  const fs::path robustness = scratch_directory() / "two_inputs_attack.json";
  const fs::path examples = scratch_directory() / "two_inputs_examples.csv";
  const std::string attack = "attack --model " + model.string() + " --data " + data.string() + " --method fgsm ";
  const CliResult refused = run_cli(attack + "--eps 0.5");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--attack-input NAME"), std::string::npos) << refused.err;
  const CliResult attacked = run_cli(attack + "--eps 0,0.5 --attack-input numeric --save-examples " + examples.string() +
                                     " --report " + robustness.string());
  ASSERT_EQ(attacked.exit_code, 0) << attacked.err;
  const nlohmann::json curve = read_json(robustness);
  EXPECT_EQ(curve["attacked_input"], "numeric");
  ASSERT_EQ(curve["results"].size(), 2u);
  EXPECT_EQ(curve["results"][0]["mean_linf"].get<double>(), 0.0);
  EXPECT_NEAR(curve["results"][1]["mean_linf"].get<double>(), 0.5, 0.25);  // FGSM's step, cut by the valid range
  EXPECT_LE(curve["results"][1]["accuracy"].get<double>(), curve["results"][0]["accuracy"].get<double>());
  // ε = 0's accuracy is the model's own on these rows, counted here from its file.
  citadel::SavedModel saved = citadel::load_saved_model(model.string());
  const citadel::Dataset rows = saved.encode(citadel::read_csv(data.string()));
  const citadel::ModelInputs inputs = citadel::model_inputs(saved.model, saved.schema, rows.x);
  const citadel::Tensor p = saved.model.predict(inputs.views).front();
  int correct = 0;
  for (int64_t r = 0; r < 80; ++r) correct += (p[r] >= 0.5f) == (rows.y[r] >= 0.5f);
  EXPECT_DOUBLE_EQ(curve["results"][0]["accuracy"].get<double>(), correct / 80.0);
  // The examples are the numeric input's columns (x1, x2: encoded columns 0 and 3), each
  // within ε of its row.
  std::istringstream lines(read_file(examples));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "label,x1,x2");
  int64_t r = 0, moved = 0;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string label, a, b;
    std::getline(cells, label, ',');
    std::getline(cells, a, ',');
    std::getline(cells, b, ',');
    ASSERT_LT(r, 80);
    const double d1 = std::stod(a) - rows.x.at(r, 0), d2 = std::stod(b) - rows.x.at(r, 3);
    EXPECT_LE(std::max(std::fabs(d1), std::fabs(d2)), 0.5 + 1e-5) << "row " << r;
    moved += std::fabs(d1) > 1e-6 || std::fabs(d2) > 1e-6;
    ++r;
  }
  EXPECT_EQ(r, 80);
  EXPECT_GT(moved, 40);

  // cv: every fold trains the graph on its column groups.
  const fs::path folds = scratch_directory() / "two_inputs_cv.json";
  const CliResult cv = run_cli("cv --folds 2 --epochs 60 --batch-size 8 --verbose 0 --data " + data.string() +
                               " --categorical shade --model-config " + config.string() + " --report " + folds.string());
  ASSERT_EQ(cv.exit_code, 0) << cv.err;
  const nlohmann::json report = read_json(folds);
  ASSERT_EQ(report["folds"].size(), 2u);
  EXPECT_EQ(report["folds"][0]["test_rows"].get<int>() + report["folds"][1]["test_rows"].get<int>(), 80);
  EXPECT_GT(report["mean"]["accuracy"].get<double>(), 50.0 / 80 + 0.05);  // above always answering "no"
}

// README's example graph (examples/pima_residual.json) trains on the bundled data.
TEST(CliGraph, TheExampleResidualConfigTrains) {
  const fs::path example = fs::path(CITADEL_SOURCE_DATA).parent_path().parent_path() / "examples" / "pima_residual.json";
  const fs::path report = scratch_directory() / "example_residual.json";
  const CliResult result = run_cli("train --verbose 1 --epochs 20 --no-save --model-config " + example.string() +
                                   " --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("skip (Add)"), std::string::npos) << result.out;  // the summary's graph
  const nlohmann::json loss = read_json(report)["history"]["loss"];
  ASSERT_EQ(loss.size(), 20u);
  EXPECT_LT(loss.back().get<double>(), loss.front().get<double>());
}

// A graph run checkpointed after 4 epochs and resumed to 6 is the 6-epoch run, figure for
// figure; its HTML page is written.
TEST(CliGraph, AResumedGraphRunIsTheUninterruptedOne) {
  const fs::path config = write_scratch_file("residual_resume.json", residual_config());
  const fs::path checkpoint = scratch_directory() / "residual.ckpt", page = scratch_directory() / "residual.html";
  const fs::path straight = scratch_directory() / "straight.json", resumed = scratch_directory() / "resumed.json";
  fs::remove(checkpoint);
  const std::string common = " --verbose 0 --no-save --data " + std::string(CITADEL_SOURCE_DATA) + " --model-config " +
                             config.string();
  ASSERT_EQ(run_cli("train --epochs 4 --checkpoint " + checkpoint.string() + common).exit_code, 0);
  const CliResult second = run_cli("train --epochs 6 --resume " + checkpoint.string() + " --report " +
                                   resumed.string() + " --html " + page.string() + common);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  ASSERT_EQ(run_cli("train --epochs 6 --report " + straight.string() + common).exit_code, 0);
  const nlohmann::json a = read_json(straight)["history"]["loss"], b = read_json(resumed)["history"]["loss"];
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  EXPECT_NE(read_file(page).find("<svg"), std::string::npos);
}

// cv, attack and adversarial training take a one-input graph as they take a chain.
TEST(CliGraph, CrossValidationAndAttacksRunOnAOneInputGraph) {
  const fs::path config = write_scratch_file("residual_protect.json", residual_config());
  const fs::path model = scratch_directory() / "residual_protect.safetensors";
  const fs::path folds = scratch_directory() / "residual_cv.json", robustness = scratch_directory() / "residual_attack.json";
  const std::string data = " --data " + std::string(CITADEL_SOURCE_DATA) + " --model-config " + config.string();
  const CliResult cv = run_cli("cv --folds 3 --epochs 3 --verbose 0 --report " + folds.string() + data);
  ASSERT_EQ(cv.exit_code, 0) << cv.err;
  const nlohmann::json report = read_json(folds);
  ASSERT_EQ(report["folds"].size(), 3u);
  int tested = 0;
  for (const auto& fold : report["folds"]) tested += fold["test_rows"].get<int>();
  EXPECT_EQ(tested, 768);
  const CliResult adversarial = run_cli("train --epochs 5 --verbose 0 --adversarial fgsm --eps 0.1 --save " +
                                        model.string() + data);
  ASSERT_EQ(adversarial.exit_code, 0) << adversarial.err;
  const CliResult attack = run_cli("attack --model " + model.string() + " --data " + CITADEL_SOURCE_DATA +
                                   " --method fgsm --eps 0,0.5 --report " + robustness.string());
  ASSERT_EQ(attack.exit_code, 0) << attack.err;
  const nlohmann::json results = read_json(robustness)["results"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_LT(results[1]["accuracy"].get<double>(), results[0]["accuracy"].get<double>());  // a real attack
}

}  // namespace graph_model_test
