// A model of several outputs saved by `citadel train`/`predict --save` and used through the
// saved file: predict (one column group per output, equal to the in-memory model's and to
// the library's Predictor on the loaded file), evaluate (figures by Keras's per-output
// names), info, attack and audit on a chosen output, serve, and a signed, encrypted file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "citadel/data/csv.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/model/predictor.hpp"
#include "cli_runner.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "several_outputs_data.hpp"

namespace several_outputs_saved_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const std::string kLabels = " --label kind_out=kind --label amount_out=amount --loss amount_out=mse "
                            "--loss-weights amount_out=0.5";

struct Trained {
  fs::path data, other_rows, model, in_memory_csv;
};

// One model for the tests: trained by `predict` (so that the in-memory model's predictions
// are written in the same run that saves it).
const Trained& trained() {
  static const Trained t = [] {
    Trained made;
    made.data = write_scratch_file("saved_two_labels.csv", two_labels_csv());
    made.other_rows = write_scratch_file("saved_two_labels_other.csv", two_labels_csv(60, 500));
    const fs::path config = write_scratch_file("saved_two_outputs.json", two_outputs_config());
    made.model = scratch_directory() / "two_outputs.safetensors";
    made.in_memory_csv = scratch_directory() / "two_outputs_in_memory.csv";
    const CliResult run = run_cli("predict --verbose 0 --epochs 60 --batch-size 8 --data " + made.data.string() +
                                  " --model-config " + config.string() + kLabels + " --input " + made.data.string() +
                                  " --output " + made.in_memory_csv.string() + " --save " + made.model.string());
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return made;
  }();
  return t;
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    rows.push_back(fields);
  }
  return rows;
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

// The true labels of the rows two_labels_csv wrote (kind, amount), by reading it back.
struct Truth {
  std::vector<std::string> kind;
  std::vector<double> amount;
};
Truth truth_of(const fs::path& data) {
  Truth truth;
  const auto rows = csv_rows(read_file(data));
  for (size_t r = 1; r < rows.size(); ++r) {
    truth.kind.push_back(rows[r][2]);
    truth.amount.push_back(std::stod(rows[r][4]));
  }
  return truth;
}

}  // namespace

TEST(CliSeveralOutputsSaved, PredictionsFromTheSavedFileEqualTheModelThatSavedIt) {
  const Trained& t = trained();
  const fs::path out = scratch_directory() / "two_outputs_from_file.csv";
  const CliResult predicted = run_cli("predict --verbose 0 --batch-size 8 --model " + t.model.string() + " --input " +
                                      t.data.string() + " --output " + out.string());  // the batches of the run
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const std::string from_file = read_file(out);
  EXPECT_EQ(from_file, read_file(t.in_memory_csv));  // the in-memory model's answers, byte for byte

  // One column group per output, named after it.
  const auto rows = csv_rows(from_file);
  ASSERT_EQ(rows.size(), 121u);
  const std::vector<std::string>& header = rows[0];
  ASSERT_EQ(header.size(), 5u) << from_file.substr(0, 200);
  EXPECT_EQ(header[0], "line");
  EXPECT_EQ(header[1], "kind_out_predicted");
  EXPECT_EQ(header[4], "amount_out_predicted");

  // The library's own path on the loaded file: encode, then Predictor, output by output.
  const citadel::SavedModel saved = citadel::load_saved_model(t.model.string());
  ASSERT_TRUE(saved.several_outputs());
  const std::vector<std::string>& classes = saved.outputs[0].label.classes;
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(header[2], "kind_out_p_" + classes[0]);
  EXPECT_EQ(header[3], "kind_out_p_" + classes[1]);
  const citadel::Dataset rows_in = saved.encode(citadel::read_csv(t.data.string()));
  const citadel::ModelInputs inputs = citadel::model_inputs(saved.model, saved.schema, rows_in.x);
  const std::vector<citadel::Tensor> outputs = citadel::Predictor(saved.model).predict(inputs.views);
  ASSERT_EQ(saved.model.output_names(), (std::vector<std::string>{"kind_out", "amount_out"}));
  for (int64_t r = 0; r < 120; ++r) {
    const auto& fields = rows[size_t(r) + 1];
    const float p = outputs[0][r];  // P(classes[1]) from the sigmoid
    EXPECT_NEAR(std::stod(fields[3]), p, 1e-6) << "row " << r;
    EXPECT_NEAR(std::stod(fields[2]), 1 - p, 1e-6) << "row " << r;
    EXPECT_EQ(fields[1], classes[p > 0.5f ? 1 : 0]) << "row " << r;
    EXPECT_NEAR(std::stod(fields[4]), outputs[1][r], 1e-6 * (1 + std::fabs(outputs[1][r]))) << "row " << r;
  }
}

TEST(CliSeveralOutputsSaved, EvaluateGivesEachOutputsFiguresByKerasNames) {
  const Trained& t = trained();
  const fs::path report = scratch_directory() / "two_outputs_evaluate.json", out = scratch_directory() / "ev.csv";
  const CliResult evaluated = run_cli("evaluate --verbose 0 --model " + t.model.string() + " --test " +
                                      t.data.string() + " --report " + report.string());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_NE(evaluated.out.find("amount_out_mae"), std::string::npos) << evaluated.out;
  const nlohmann::json r = read_json(report);
  for (const char* key : {"loss", "kind_out_loss", "amount_out_loss", "kind_out_accuracy", "amount_out_mae"})
    ASSERT_TRUE(r.contains(key)) << key << " in " << r.dump();
  // The weights the file recorded: loss = kind_out_loss + 0.5 · amount_out_loss.
  EXPECT_NEAR(r["loss"].get<double>(), r["kind_out_loss"].get<double>() + 0.5 * r["amount_out_loss"].get<double>(),
              1e-4);
  // Against the predictions and the labels of the file, computed here.
  ASSERT_EQ(run_cli("predict --verbose 0 --model " + t.model.string() + " --input " + t.data.string() + " --output " +
                    out.string()).exit_code, 0);
  const auto rows = csv_rows(read_file(out));
  const Truth truth = truth_of(t.data);
  double absolute = 0, correct = 0;
  for (size_t i = 0; i < truth.amount.size(); ++i) {
    absolute += std::fabs(std::stod(rows[i + 1][4]) - truth.amount[i]);
    correct += rows[i + 1][1] == truth.kind[i];
  }
  EXPECT_NEAR(r["amount_out_mae"].get<double>(), absolute / 120, 1e-4);
  EXPECT_NEAR(r["kind_out_accuracy"].get<double>(), correct / 120, 1e-6);
  EXPECT_GT(correct / 120, 0.7);  // it learned: 63 of 120 rows are "small"
  // A table without one output's label is refused naming the column and the output.
  const fs::path no_amount = write_scratch_file("no_amount.csv", "x1,x2,kind,x3\n0.1,0.2,big,0.3\n");
  const CliResult refused = run_cli("evaluate --verbose 0 --model " + t.model.string() + " --test " + no_amount.string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("has no label column 'amount' (of the output 'amount_out')"), std::string::npos)
      << refused.err;
}

TEST(CliSeveralOutputsSaved, InfoListsEachOutputWithItsLabelAndLoss) {
  const Trained& t = trained();
  const fs::path report = scratch_directory() / "two_outputs_info.json";
  const CliResult info = run_cli("info " + t.model.string() + " --report " + report.string());
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("kind_out"), std::string::npos);
  EXPECT_NE(info.out.find("label amount (a number), loss mse, weight 0.5"), std::string::npos) << info.out;
  const nlohmann::json r = read_json(report);
  EXPECT_EQ(r["outputs"]["kind_out"]["label"], "kind");
  EXPECT_EQ(r["outputs"]["kind_out"]["loss"], "binary_crossentropy");
  EXPECT_EQ(r["outputs"]["kind_out"]["loss_weight"], 1.0);
  EXPECT_EQ(r["outputs"]["amount_out"]["label"], "amount");
  EXPECT_EQ(r["outputs"]["amount_out"]["label_type"], "values");
  EXPECT_EQ(r["outputs"]["amount_out"]["loss_weight"], 0.5);
  EXPECT_EQ(r["metadata"]["format_version"], "3");
}

TEST(CliSeveralOutputsSaved, AttackAndAuditWorkOnTheOutputTheyAreGiven) {
  const Trained& t = trained();
  const std::string attack = "attack --model " + t.model.string() + " --data " + t.data.string() + " --eps 0,0.3 ";
  const CliResult unchosen = run_cli(attack);
  EXPECT_NE(unchosen.exit_code, 0);
  EXPECT_NE(unchosen.err.find("has 2 outputs ('kind_out', 'amount_out'); choose the one to attack with --output NAME"),
            std::string::npos) << unchosen.err;
  const CliResult numbers = run_cli(attack + "--output amount_out");
  EXPECT_NE(numbers.exit_code, 0);
  EXPECT_NE(numbers.err.find("predicts numbers"), std::string::npos) << numbers.err;
  const CliResult unknown = run_cli(attack + "--output nope");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("attack --output nope: the model has no output of that name"), std::string::npos)
      << unknown.err;

  // The clean accuracy the attack reports is the kind output's, as predict answers it.
  const fs::path report = scratch_directory() / "two_outputs_attack.json", out = scratch_directory() / "at.csv";
  const CliResult attacked = run_cli(attack + "--output kind_out --method fgsm --report " + report.string());
  ASSERT_EQ(attacked.exit_code, 0) << attacked.err;
  ASSERT_EQ(run_cli("predict --verbose 0 --model " + t.model.string() + " --input " + t.data.string() + " --output " +
                    out.string()).exit_code, 0);
  const auto rows = csv_rows(read_file(out));
  const Truth truth = truth_of(t.data);
  double correct = 0;
  for (size_t i = 0; i < truth.kind.size(); ++i) correct += rows[i + 1][1] == truth.kind[i];
  const nlohmann::json r = read_json(report);
  EXPECT_EQ(r["output"], "kind_out");
  EXPECT_NEAR(r["results"][0]["accuracy"].get<double>(), correct / 120, 1e-6);
  EXPECT_LT(r["results"][1]["accuracy"].get<double>(), r["results"][0]["accuracy"].get<double>());  // ε 0.3 hurts

  const std::string audit = "audit --model " + t.model.string() + " --train " + t.data.string() + " --holdout " +
                            t.other_rows.string() + " --reference-epochs 2 ";
  const CliResult audit_unchosen = run_cli(audit);
  EXPECT_NE(audit_unchosen.exit_code, 0);
  EXPECT_NE(audit_unchosen.err.find("choose the one to audit with --output NAME"), std::string::npos)
      << audit_unchosen.err;
  const fs::path audit_report = scratch_directory() / "two_outputs_audit.json";
  const CliResult audited = run_cli(audit + "--output amount_out --report " + audit_report.string());
  ASSERT_EQ(audited.exit_code, 0) << audited.err;
  const nlohmann::json a = read_json(audit_report);
  EXPECT_EQ(a["output"], "amount_out");
  ASSERT_FALSE(a["attacks"].empty());
  for (const auto& result : a["attacks"]) {
    EXPECT_GE(result["auc"].get<double>(), 0.0);
    EXPECT_LE(result["auc"].get<double>(), 1.0);
  }
}

// Signed and encrypted as a model of one output is: the same writer, the same checks.
TEST(CliSeveralOutputsSaved, SavesSignedAndEncrypted) {
  const Trained& t = trained();
  const fs::path config = write_scratch_file("protected_two_outputs.json", two_outputs_config());
  const fs::path pub = scratch_directory() / "two.pub", secret = scratch_directory() / "two.key",
                 key = scratch_directory() / "two.enckey", model = scratch_directory() / "two_protected.safetensors";
  ASSERT_EQ(run_cli("keygen --force --public " + pub.string() + " --secret " + secret.string()).exit_code, 0);
  ASSERT_EQ(run_cli("keygen --encryption-key " + key.string()).exit_code, 0);
  const CliResult saved = run_cli("train --verbose 0 --epochs 3 --data " + t.data.string() + " --model-config " +
                                  config.string() + kLabels + " --save " + model.string() + " --sign-key " +
                                  secret.string() + " --key-file " + key.string());
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_EQ(read_file(model).rfind("CTDLENC1", 0), 0u);  // encrypted on disk
  const fs::path out = scratch_directory() / "protected.csv";
  const std::string predict = "predict --verbose 0 --model " + model.string() + " --input " + t.data.string() +
                              " --output " + out.string();
  const CliResult without_key = run_cli(predict + " --pubkey " + pub.string());
  EXPECT_NE(without_key.exit_code, 0);
  const CliResult predicted = run_cli(predict + " --pubkey " + pub.string() + " --key-file " + key.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  // The library, given the same keys, reads the same model: its Predictor agrees.
  citadel::LoadOptions options;
  options.access.public_key = pub.string();
  options.access.key.key_file = key.string();
  const citadel::SavedModel loaded = citadel::load_saved_model(model.string(), options);
  const citadel::Dataset rows_in = loaded.encode(citadel::read_csv(t.data.string()));
  const citadel::ModelInputs inputs = citadel::model_inputs(loaded.model, loaded.schema, rows_in.x);
  const std::vector<citadel::Tensor> outputs = citadel::Predictor(loaded.model).predict(inputs.views);
  const auto rows = csv_rows(read_file(out));
  ASSERT_EQ(rows.size(), 121u);
  for (int64_t r = 0; r < 120; ++r)
    EXPECT_NEAR(std::stod(rows[size_t(r) + 1][4]), outputs[1][r], 1e-6 * (1 + std::fabs(outputs[1][r])));
}

TEST(CliSeveralOutputsSaved, ServesEachOutputByName) {
  const Trained& t = trained();
  const CliResult policy = run_cli("serve --model two=" + t.model.string() + " --no-auth --allow-unsigned --port 0 "
                                   "--output-policy label");
  EXPECT_NE(policy.exit_code, 0);
  EXPECT_NE(policy.err.find("the output 'amount_out' of model 'two' predicts numbers; use full or round:D"),
            std::string::npos) << policy.err;

  ServerProcess server(CITADEL_BINARY, "--model two=" + t.model.string() + " --no-auth --allow-unsigned", scratch_directory() / "two.log");
  ASSERT_GT(server.port(), 0) << server.log();
  const HttpAnswer metadata = http_exchange(server.port(), http_request("GET", "/v2/models/two"));
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  const nlohmann::json m = nlohmann::json::parse(metadata.body);
  std::vector<std::string> names;
  for (const auto& output : m["outputs"]) names.push_back(output["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"kind_out_probabilities", "kind_out_label", "amount_out_value"}));
  EXPECT_EQ(m["parameters"]["outputs"]["amount_out"]["label"], "amount");

  // The first three rows of the data, as the server reads them and as predict answered them.
  const auto data = csv_rows(read_file(t.data));
  std::string rows;
  for (size_t r = 1; r <= 3; ++r)
    rows += std::string(r > 1 ? "," : "") + "[" + data[r][0] + "," + data[r][1] + "," + data[r][3] + "]";
  const HttpAnswer answer = http_exchange(
      server.port(), http_request("POST", "/v2/models/two/infer",
                                  R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [3, 3], "data": [)" +
                                      rows + "]}]}"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const nlohmann::json r = nlohmann::json::parse(answer.body);
  const auto expected = csv_rows(read_file(t.in_memory_csv));
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& output : r["outputs"]) by_name[output["name"]] = output;
  ASSERT_EQ(by_name.size(), 3u) << answer.body;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(by_name["kind_out_label"]["data"][i], expected[i + 1][1]);
    EXPECT_NEAR(by_name["kind_out_probabilities"]["data"][2 * i + 1].get<double>(), std::stod(expected[i + 1][3]), 2e-6);
    EXPECT_NEAR(by_name["amount_out_value"]["data"][i].get<double>(), std::stod(expected[i + 1][4]),
                2e-6 * (1 + std::fabs(std::stod(expected[i + 1][4]))));
  }
  // One output asked for by name; the unknown one-output names are refused.
  const HttpAnswer one = http_exchange(
      server.port(), http_request("POST", "/v2/models/two/infer",
                                  R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 3], "data": [[0, 0, 0]]}],)"
                                  R"( "outputs": [{"name": "amount_out_value"}]})"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(nlohmann::json::parse(one.body)["outputs"].size(), 1u);
  EXPECT_EQ(http_exchange(server.port(), http_request("POST", "/v2/models/two/infer",
                                                      R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 3], "data": [[0, 0, 0]]}],)"
                                                      R"( "outputs": [{"name": "value"}]})")).status, 400);
}

// Requests batched together (dynamic batching) each get their own rows of every output.
TEST(CliSeveralOutputsSaved, BatchedRequestsEachGetTheirOwnRowsOfEveryOutput) {
  const Trained& t = trained();
  ServerProcess server(CITADEL_BINARY, "--model two=" + t.model.string() + " --no-auth --allow-unsigned --threads 1 --batch-delay-us 50000",
                scratch_directory() / "two_batched.log");
  ASSERT_GT(server.port(), 0) << server.log();
  const auto data = csv_rows(read_file(t.data));
  const auto expected = csv_rows(read_file(t.in_memory_csv));
  constexpr int kClients = 8;
  std::vector<HttpAnswer> answers(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      const auto& row = data[size_t(c) + 1];
      answers[size_t(c)] = http_exchange(
          server.port(), http_request("POST", "/v2/models/two/infer",
                                      R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 3], "data": [)" +
                                          row[0] + "," + row[1] + "," + row[3] + "]}]}"));
    });
  for (auto& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(answers[size_t(c)].status, 200) << answers[size_t(c)].body;
    SCOPED_TRACE(answers[size_t(c)].body);
    const nlohmann::json answer = nlohmann::json::parse(answers[size_t(c)].body);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& output : answer["outputs"]) by_name[output["name"]] = output;
    const auto& want = expected[size_t(c) + 1];
    EXPECT_EQ(by_name["kind_out_label"]["data"], nlohmann::json::array({want[1]})) << c;
    EXPECT_EQ(by_name["kind_out_probabilities"]["shape"], nlohmann::json::array({1, 2})) << c;
    EXPECT_NEAR(by_name["amount_out_value"]["data"][0].get<double>(), std::stod(want[4]),
                2e-6 * (1 + std::fabs(std::stod(want[4])))) << c;
  }
  const std::string page = http_exchange(server.port(), http_request("GET", "/metrics")).body;
  const size_t at = page.find("citadel_prediction_batches_total{model=\"two\"} ");
  ASSERT_NE(at, std::string::npos) << page;
  EXPECT_LT(std::stoi(page.substr(at + std::string("citadel_prediction_batches_total{model=\"two\"} ").size())),
            kClients) << "the requests were not batched";
}

}  // namespace several_outputs_saved_test
