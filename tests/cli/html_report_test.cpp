// --html and `citadel report`: every command's page is well formed and self-contained
// (checked by Python's html.parser), holds the charts its data calls for and the numbers of
// its JSON report, and shows hostile class names as text.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli_runner.hpp"
#include "html_checker.hpp"

namespace html_report_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const std::string kPima = CITADEL_SOURCE_DATA;

std::string four_decimals(double value) {  // how the page's tables print a report's figures
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

// Every decimal number in the page's tables has four decimals, so that figures read alike.
void expect_figures_rounded_alike(const CheckedPage& html) {
  for (const auto& cell : html.content["cells"]) {
    static const std::regex decimal(R"(-?\d+\.\d+( ± -?\d+\.\d+)?)"), four(R"(-?\d+\.\d{4}( ± -?\d+\.\d{4})?)");
    const std::string text = cell.get<std::string>();
    if (std::regex_match(text, decimal)) {
      EXPECT_TRUE(std::regex_match(text, four)) << "cell " << text << " in " << html.content["cells"].dump();
    }
  }
}

CheckedPage checked(const fs::path& page) {
  CheckedPage result = check_html_page(page.string());
  EXPECT_TRUE(result.ok) << page << ": " << result.problems;
  return result;
}

// The Pima rows from `first` to `last` (1-based, after the header) as a CSV file.
fs::path pima_rows(const std::string& name, int first, int last) {
  std::istringstream lines(read_file(kPima));
  std::string line, text;
  for (int i = 0; std::getline(lines, line); ++i)
    if (i == 0 || (i >= first && i <= last)) text += line + "\n";
  return write_scratch_file(name, text);
}

}  // namespace

TEST(HtmlReport, TrainDrawsItsCurvesAndShowsItsFigures) {
  const fs::path report = scratch_directory() / "train.json", page = scratch_directory() / "train.html";
  const CliResult result = run_cli("train --verbose 0 --epochs 12 --validation-split 0.2 --reduce-lr 2 --no-save "
                                   "--report " + report.string() + " --html " + page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const CheckedPage html = checked(page);
  for (const char* title : {"loss", "accuracy", "auc", "confusion matrix", "ROC curve", "precision-recall curve"})
    EXPECT_TRUE(html.has_title(title)) << title << " in " << html.content["titles"].dump();
  // Each training chart names its figure once, in its title: the legend says which rows.
  for (const char* figure : {"loss", "accuracy", "auc"}) {
    const auto chart = html.chart(figure);
    ASSERT_FALSE(chart.is_null()) << figure;
    EXPECT_EQ(chart["legends"], nlohmann::json({"training", "validation"})) << chart.dump();
    for (const auto& label : chart["axis_labels"]) EXPECT_NE(label, figure) << chart.dump();
  }
  const auto json = nlohmann::json::parse(read_file(report));
  expect_figures_rounded_alike(html);
  EXPECT_TRUE(html.has_cell(four_decimals(json["accuracy"].get<double>()))) << html.content["cells"].dump();
  EXPECT_TRUE(html.has_cell(four_decimals(json["auc"].get<double>())));
  EXPECT_TRUE(html.has_cell("dense_2 (Dense)"));  // the model table
  EXPECT_TRUE(html.has_cell(std::to_string(json["test_rows"].get<int>())));
  // The run record: the command line (the page's own name in it), the version, the date.
  EXPECT_NE(json["run"]["command"].get<std::string>().find("--html " + page.string()), std::string::npos);
  EXPECT_TRUE(html.has_cell(json["run"]["command"].get<std::string>()));
  EXPECT_TRUE(html.has_cell(json["run"]["date"].get<std::string>()));
  // The ROC curve in the report ends where every curve must.
  const auto& roc = json["classification_report"]["curves"][0]["roc"];
  EXPECT_EQ(roc["fpr"].front(), 0.0);
  EXPECT_EQ(roc["tpr"].back(), 1.0);
}

TEST(HtmlReport, HostileClassNamesAreShownAsText) {
  const std::string hostile = "<script>alert(1)</script>";
  std::string csv = "a,b,label\n";
  for (int i = 0; i < 40; ++i)
    csv += std::to_string(i % 7) + "," + std::to_string(i % 5) + "," + (i % 2 ? hostile : "\"x\"\"><img src=y>\"") + "\n";
  const fs::path data = write_scratch_file("hostile.csv", csv), page = scratch_directory() / "hostile.html";
  const CliResult result = run_cli("train --verbose 0 --epochs 3 --no-save --data " + data.string() + " --html " +
                                   page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const CheckedPage html = checked(page);  // no script, image or handler made it into markup
  EXPECT_TRUE(html.has_cell(hostile)) << html.content["cells"].dump();
  EXPECT_EQ(read_file(page).find("<script"), std::string::npos);
}

TEST(HtmlReport, AttackPrivacyAuditCrossValidationAndBudgetPages) {
  const fs::path model = scratch_directory() / "html_model.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 20 --save " + model.string()).exit_code, 0);

  const fs::path attack = scratch_directory() / "attack.html";
  ASSERT_EQ(run_cli("attack --model " + model.string() + " --data " + kPima + " --method fgsm --eps 0,0.1,0.3 "
                    "--rows 120 --html " + attack.string()).exit_code, 0);
  const CheckedPage attacked = checked(attack);
  EXPECT_TRUE(attacked.has_title("accuracy under attack"));
  EXPECT_TRUE(attacked.has_title("attack success"));
  EXPECT_TRUE(attacked.has_legend("fgsm linf"));

  const fs::path dp = scratch_directory() / "dp.html", dp_report = scratch_directory() / "dp.json";
  ASSERT_EQ(run_cli("train --verbose 0 --dp --epochs 3 --target-epsilon 4 --no-save --report " + dp_report.string() +
                    " --html " + dp.string()).exit_code, 0);
  const CheckedPage private_run = checked(dp);
  EXPECT_TRUE(private_run.has_title("privacy budget spent"));
  EXPECT_TRUE(private_run.has_legend("\xCE\xB5 spent"));
  const auto dp_json = nlohmann::json::parse(read_file(dp_report));
  EXPECT_TRUE(private_run.has_cell(four_decimals(dp_json["epsilon"].get<double>()))) << private_run.content["cells"].dump();
  struct stat info {};
  ASSERT_EQ(::stat(dp.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);  // the page holds what the report holds: the owner's only

  const fs::path audit = scratch_directory() / "audit.html";
  ASSERT_EQ(run_cli("audit --model " + model.string() + " --train " + pima_rows("members.csv", 1, 300).string() +
                    " --holdout " + pima_rows("others.csv", 600, 768).string() + " --reference-epochs 2 "
                    "--attribute Age --html " + audit.string()).exit_code, 0);
  const CheckedPage audited = checked(audit);
  EXPECT_TRUE(audited.has_title("membership attack ROC"));
  EXPECT_TRUE(audited.has_cell("loss_threshold"));
  EXPECT_TRUE(audited.has_cell("baseline accuracy"));  // --attribute's table
  EXPECT_TRUE(audited.has_cell("members \xE2\x88\x92 non-members"));
  EXPECT_TRUE(audited.has_cell("Age"));
  expect_figures_rounded_alike(audited);
  // A model trained without DP has no bound to draw.
  for (const auto& legend : audited.content["legends"])
    EXPECT_EQ(legend.get<std::string>().find("DP bound"), std::string::npos) << legend;
  EXPECT_FALSE(audited.has_cell("within the DP bound"));

  // A model trained with DP: its (ε, δ) region drawn on both ROC charts, the verdict in the table.
  const fs::path dp_model = scratch_directory() / "html_dp_model.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --dp --epochs 2 --target-epsilon 2 --dp-reproducible --save " +
                    dp_model.string()).exit_code, 0);
  const fs::path dp_audit = scratch_directory() / "dp_audit.html", dp_audit_json = scratch_directory() / "dp_audit.json";
  ASSERT_EQ(run_cli("audit --model " + dp_model.string() + " --train " + pima_rows("members.csv", 1, 300).string() +
                    " --holdout " + pima_rows("others.csv", 600, 768).string() + " --reference-epochs 2 --report " +
                    dp_audit_json.string() + " --html " + dp_audit.string()).exit_code, 0);
  const CheckedPage bounded = checked(dp_audit);
  const double dp_epsilon = nlohmann::json::parse(read_file(dp_audit_json))["differential_privacy"]["epsilon"];
  char bound_legend[96];
  std::snprintf(bound_legend, sizeof bound_legend, "DP bound, \xCE\xB5 = %.4g", dp_epsilon);
  for (const char* chart : {"membership attack ROC", "membership attack ROC at low false positive rates"})
    EXPECT_NE(bounded.chart(chart)["legends"].dump().find(bound_legend), std::string::npos)
        << bound_legend << " in " << bounded.chart(chart).dump();
  EXPECT_TRUE(bounded.has_cell("within the DP bound")) << bounded.content["cells"].dump();
  EXPECT_TRUE(bounded.has_cell("yes")) << bounded.content["cells"].dump();

  const fs::path cv = scratch_directory() / "cv.html";
  ASSERT_EQ(run_cli("cv --verbose 0 --folds 3 --epochs 3 --html " + cv.string()).exit_code, 0);
  const CheckedPage folds = checked(cv);
  EXPECT_TRUE(folds.has_title("figures per fold"));
  EXPECT_TRUE(folds.has_cell("mean \xC2\xB1 std"));
  expect_figures_rounded_alike(folds);

  const fs::path budget = scratch_directory() / "budget.html";
  ASSERT_EQ(run_cli("dp-budget --samples 60000 --batch-size 256 --noise 1.1 --epochs 60 --html " + budget.string())
                .exit_code, 0);
  EXPECT_TRUE(checked(budget).has_title("privacy budget spent"));
}

TEST(HtmlReport, ReportOverlaysRunsAndRefusesBadInput) {
  const fs::path a = scratch_directory() / "plain.json", b = scratch_directory() / "small.json";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 4 --no-save --report " + a.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 4 --layers 4:relu,1:sigmoid --no-save --report " + b.string()).exit_code, 0);
  const fs::path page = scratch_directory() / "overlay.html";
  const CliResult result = run_cli("report " + a.string() + " " + b.string() + " --name plain --name small --output " +
                                   page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const CheckedPage html = checked(page);
  EXPECT_FALSE(html.has_title("audited \xCE\xB5 against the accountant's \xCE\xB5"));  // no dp-audit report
  EXPECT_EQ(html.content["text"].get<std::string>().find("DP self-audit"), std::string::npos);
  EXPECT_TRUE(html.has_legend("plain"));  // each run's line, under the chart's title ("loss")
  EXPECT_TRUE(html.has_legend("small"));
  EXPECT_TRUE(html.has_cell("plain"));
  // The default names are the files' stems.
  ASSERT_EQ(run_cli("report " + a.string() + " " + b.string() + " --output " + page.string()).exit_code, 0);
  EXPECT_TRUE(checked(page).has_legend("small"));

  const CliResult missing = run_cli("report " + (scratch_directory() / "none.json").string() + " --output " + page.string());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("none.json"), std::string::npos) << missing.err;
  const fs::path broken = write_scratch_file("broken.json", "{\"history\": [");
  const CliResult bad = run_cli("report " + broken.string() + " --output " + page.string());
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("broken.json: not valid JSON"), std::string::npos) << bad.err;
  EXPECT_TRUE(checked(page).has_legend("small"));  // the page from before is left whole
  const CliResult names = run_cli("report " + a.string() + " --name x --name y --output " + page.string());
  EXPECT_NE(names.err.find("--name: 2 names for 1 reports"), std::string::npos) << names.err;
}

// Four dp-audit runs at ε 1, 2, 4 and 8 make the claimed-against-audited curve: one point
// each, the diagonal, and a table row each with both figures as the reports have them.
TEST(HtmlReport, DpSelfAuditsMakeTheClaimedAgainstAuditedChart) {
  std::string reports;
  std::vector<nlohmann::json> audits;
  for (const char* epsilon : {"1", "2", "4", "8"}) {
    const fs::path report = scratch_directory() / (std::string("dp_audit_eps") + epsilon + ".json");
    const CliResult run = run_cli("dp-audit --data " + kPima + " --schema " CITADEL_SOURCE_SCHEMA " --epochs 3 "
                                  "--input-canaries 16 --audit-seed 7 --target-epsilon " + std::string(epsilon) +
                                  " --report " + report.string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    audits.push_back(nlohmann::json::parse(read_file(report)));
    reports += " " + report.string();
  }
  const fs::path train = scratch_directory() / "dp_audit_beside.json";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --no-save --report " + train.string()).exit_code, 0);
  const fs::path page = scratch_directory() / "dp_audits.html";
  const CliResult result = run_cli("report" + reports + " " + train.string() + " --output " + page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const CheckedPage html = checked(page);
  const auto chart = html.chart("audited \xCE\xB5 against the accountant's \xCE\xB5");
  ASSERT_FALSE(chart.is_null()) << html.content["titles"].dump();
  EXPECT_EQ(chart["dots"], 4) << chart.dump();
  EXPECT_EQ(chart["legends"], nlohmann::json({"audited lower bound", "y = x"}));
  EXPECT_NE(html.content["text"].get<std::string>().find("DP self-audit"), std::string::npos);
  for (const auto& audit : audits) {
    EXPECT_TRUE(html.has_cell(four_decimals(audit["claimed_epsilon"].get<double>()))) << html.content["cells"].dump();
    const double audited = audit["epsilon_lower_bound"].get<double>();
    if (audited == 0 || audited >= 1e-3) {  // smaller ones are written with significant digits
      EXPECT_TRUE(html.has_cell(four_decimals(audited)));
    }
    EXPECT_LE(audit["epsilon_lower_bound"].get<double>(), audit["claimed_epsilon"].get<double>());
  }
  EXPECT_TRUE(html.has_cell("consistent (which does not prove it right)"));
  EXPECT_TRUE(html.has_title("loss"));  // the training run beside them is drawn as before
  expect_figures_rounded_alike(html);
}

namespace {

// A report of the kind issue 29 item 11 describes (18.8 MB that made `citadel report` take
// 2.4 GB and 18 s and write a 760 MB page): long training curves under 40 names, 300
// classes with 2,000-character names (each named in every cell of a 300 × 300 confusion
// matrix), a curve per class, 20,000 layers, long strings and long tables.
std::string hostile_report() {
  nlohmann::json history = nlohmann::json::object();
  for (int k = 0; k < 40; ++k) {
    nlohmann::json train = nlohmann::json::array(), validation = nlohmann::json::array();
    for (int e = 0; e < 15000; ++e) train.push_back(0.5 + 0.001 * ((e * 7 + k) % 97)), validation.push_back(0.25);
    history["figure" + std::to_string(k)] = std::move(train);
    history["val_figure" + std::to_string(k)] = std::move(validation);
  }
  nlohmann::json classes = nlohmann::json::array(), scores = nlohmann::json::object(),
                 matrix = nlohmann::json::array(), curves = nlohmann::json::array();
  nlohmann::json ramp = nlohmann::json::array();
  for (int i = 0; i <= 300; ++i) ramp.push_back(i / 300.0);
  for (int c = 0; c < 300; ++c) {
    const std::string name = "class" + std::to_string(c) + "-" + std::string(2000, 'x');
    classes.push_back(name);
    scores[name] = {{"precision", 0.5}, {"recall", 0.5}, {"f1", 0.5}, {"support", 3}};
    nlohmann::json row = nlohmann::json::array();
    for (int p = 0; p < 300; ++p) row.push_back((c * 31 + p) % 10);
    matrix.push_back(std::move(row));
    curves.push_back({{"class", name},
                      {"roc", {{"fpr", ramp}, {"tpr", ramp}, {"auc", 0.5}}},
                      {"precision_recall", {{"recall", ramp}, {"precision", ramp}, {"average_precision", 0.5}}}});
  }
  nlohmann::json layers = nlohmann::json::array(), folds = nlohmann::json::array();
  for (int l = 0; l < 20000; ++l)
    layers.push_back({{"name", "dense_" + std::to_string(l)}, {"type", "Dense"}, {"output_shape", {10}},
                      {"parameters", 110}});
  for (int f = 0; f < 5000; ++f) folds.push_back({{"fold", f + 1}, {"train_rows", 9}, {"test_rows", 1}, {"accuracy", 0.5}});
  const nlohmann::json report{{"history", history},
                              {"classes", classes},
                              {"classification_report",
                               {{"classes", scores}, {"accuracy", 0.5}, {"confusion_matrix", matrix}, {"curves", curves}}},
                              {"model", layers},
                              {"folds", folds},
                              {"mean", {{"accuracy", 0.5}}},
                              {"std", {{"accuracy", 0.1}}},
                              {"data", std::string(2'700'000, 'd')}};
  return report.dump();
}

}  // namespace

// Issue 29 item 11: what one report can make is bounded — the points drawn per curve, the
// charts, the rows of a table, the classes of a confusion matrix, the length of any text and
// the page — each cut with a note on the page, never silently; and the memory it takes.
TEST(HtmlReport, AHostileReportMakesABoundedPageInBoundedMemory) {
  const std::string text = hostile_report();
  ASSERT_GT(text.size(), size_t{18'000'000});
  ASSERT_LT(text.size(), size_t{22'000'000});
  const fs::path report = write_scratch_file("hostile_report.json", text), page = scratch_directory() / "hostile.html";
  const MeasuredResult run = run_cli_measured("report " + report.string() + " --output " + page.string());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  const auto page_bytes = fs::file_size(page);
  EXPECT_LE(page_bytes, uintmax_t{16} << 20) << "the page's cap is 16 MiB";
  // CITADEL_TEST_PEAK_MB - 100: what a sanitized build adds (ASan's shadow memory and its
  // 256 MiB quarantine of freed blocks); the Release build is held to the bounds themselves.
  EXPECT_LT(run.peak_mb, 400 + (CITADEL_TEST_PEAK_MB - 100))
      << "peak memory of citadel report (it took 1.27 GB before, and the page was 392 MB)";
  const std::string html = read_file(page);
  // Every cut is said on the page.
  for (const char* note : {"points drawn of 15,000", "more charts not shown", "more rows not shown",
                           "more classes not shown", "more curves not shown"})
    EXPECT_NE(html.find(note), std::string::npos) << note;
  EXPECT_EQ(html.find(std::string(300, 'x')), std::string::npos) << "a 2,000-character name drawn whole";
  EXPECT_TRUE(checked(page).has_title("figure0"));
}

// A report of 18 MB of empty objects would take over half a gigabyte once parsed: its values
// are counted before it is parsed, and too many is an error naming the file and the cap.
TEST(HtmlReport, AReportOfTooManyJsonValuesIsRefusedBeforeItIsParsed) {
  std::string text = "{\"history\": {\"loss\": [0.5]}, \"junk\": [{}";
  for (int i = 0; i < 6'000'000; ++i) text += ",{}";
  text += "]}";
  const fs::path report = write_scratch_file("many_values.json", text), page = scratch_directory() / "values.html";
  const MeasuredResult run = run_cli_measured("report " + report.string() + " --output " + page.string());
  EXPECT_NE(run.result.exit_code, 0);
  EXPECT_NE(run.result.err.find("many_values.json"), std::string::npos) << run.result.err;
  EXPECT_NE(run.result.err.find("JSON values"), std::string::npos) << run.result.err;
  EXPECT_LT(run.peak_mb, 150 + (CITADEL_TEST_PEAK_MB - 100)) << "it took 556 MB before";
  EXPECT_FALSE(fs::exists(page));
}

TEST(HtmlReport, MoreRunsThanAPageShowsAreRefused) {
  const fs::path small = write_scratch_file("one_run.json", R"({"history": {"loss": [0.7, 0.6]}})");
  std::string arguments = "report";
  for (int i = 0; i < 17; ++i) arguments += " " + small.string();
  const CliResult result = run_cli(arguments + " --output " + (scratch_directory() / "runs.html").string());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("17 runs"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("at most 16"), std::string::npos) << result.err;
}

}  // namespace html_report_test
