// The HTML page: round axis ticks, escaping, pages drawn from reports (checked by Python's
// parser, not by the code that wrote them), hostile names, bad reports, the C++ entry point.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../src/report/axis.hpp"
#include "../../src/report/html_text.hpp"
#include "../../src/report/svg_chart.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/report/html_report.hpp"
#include "html_checker.hpp"

namespace html_page_test {

using namespace citadel;
using nlohmann::json;

namespace {

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("citadel_html_" + std::to_string(::getpid()) + "_" + name)).string();
}

testkit::CheckedPage write_and_check(const std::string& html, const std::string& name) {
  const std::string path = scratch(name);
  std::ofstream(path, std::ios::binary) << html;
  testkit::CheckedPage page = testkit::check_html_page(path);
  std::filesystem::remove(path);
  return page;
}

}  // namespace

TEST(HtmlAxis, TicksAreRoundNumbersCoveringTheData) {
  EXPECT_DOUBLE_EQ(report::detail::nice_step(0.73), 0.1);
  EXPECT_DOUBLE_EQ(report::detail::nice_step(7.3), 1);   // 1.46 → 1
  EXPECT_DOUBLE_EQ(report::detail::nice_step(13), 2);    // 2.6 → 2
  EXPECT_DOUBLE_EQ(report::detail::nice_step(0.021), 0.005);  // 0.0042 → 5e-3
  const report::detail::Axis axis({0.437, 0.781}, 0, 100);
  const auto& ticks = axis.ticks();
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.front(), 0.437);
  EXPECT_GE(ticks.back(), 0.781);
  for (double tick : ticks) EXPECT_NEAR(std::round(tick / 0.05) * 0.05, tick, 1e-12) << tick;
  EXPECT_DOUBLE_EQ(axis.pixel(ticks.front()), 0);
  EXPECT_DOUBLE_EQ(axis.pixel(ticks.back()), 100);
  // A flat series still gets an axis around it; a log axis ticks at decades.
  EXPECT_GE(report::detail::Axis({0.5, 0.5}, 0, 1).ticks().size(), 2u);
  // A spread lost in rounding (a learning rate of 1e-3 stored as two nearby floats): found by
  // report_fuzz, it once counted ticks forever.
  const report::detail::Axis narrow({0.0010000000474974513, 0.0010000000474974516}, 0, 1);
  EXPECT_GE(narrow.ticks().size(), 2u);
  EXPECT_LE(narrow.ticks().size(), 64u);
  const report::detail::Axis log_axis({0.01, 1}, 0, 1, true);
  EXPECT_DOUBLE_EQ(log_axis.ticks().front(), 0.01);
  EXPECT_DOUBLE_EQ(log_axis.ticks().back(), 1);
  EXPECT_NEAR(log_axis.pixel(0.1), 0.5, 1e-12);
}

TEST(HtmlText, EscapesMarkupAndShortensByCharacters) {
  EXPECT_EQ(report::detail::escape("<b a=\"1\">'&'</b>"), "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
  EXPECT_EQ(report::detail::shortened("\xCE\xB5\xCE\xB5\xCE\xB5", 2), "\xCE\xB5\xCE\xB5\xE2\x80\xA6");
  EXPECT_EQ(report::detail::number(0.7532467), "0.7532");
  EXPECT_EQ(report::detail::number(-0.0), "0");
}

TEST(HtmlPage, DrawsTheChartsTheReportHasDataFor) {
  const json run{{"history", {{"loss", {0.7, 0.6, 0.55}}, {"val_loss", {0.72, 0.65, 0.66}}, {"accuracy", {0.6, 0.7, 0.72}}}},
                 {"accuracy", 0.7125},
                 {"classes", {"cat", "dog"}},
                 {"classification_report",
                  {{"classes", {{"cat", {{"precision", 0.8}, {"recall", 0.6}, {"f1", 0.6857}, {"support", 10}}},
                                {"dog", {{"precision", 0.5}, {"recall", 0.75}, {"f1", 0.6}, {"support", 4}}}}},
                   {"accuracy", 0.6429},
                   {"roc_auc", 0.8},
                   {"confusion_matrix", {{6, 4}, {1, 3}}},
                   {"curves", {{{"class", "dog"}, {"roc", {{"fpr", {0, 0.5, 1}}, {"tpr", {0, 0.75, 1}}, {"auc", 0.8}}}}}}}}};
  const auto page = write_and_check(report::html_page({{"first", run.dump()}}, {.title = "a test"}), "charts.html");
  ASSERT_TRUE(page.ok) << page.problems;
  for (const char* title : {"loss", "accuracy", "confusion matrix", "ROC curve", "precision-recall curve"})
    EXPECT_TRUE(page.has_title(title)) << title << " in " << page.content["titles"].dump();
  EXPECT_FALSE(page.has_title("attack success"));  // no attack in this report
  EXPECT_EQ(page.chart("loss")["legends"], json({"training", "validation"}));  // named once, in the title
  EXPECT_EQ(page.chart("loss")["axis_labels"], json({"epoch"}));
  EXPECT_TRUE(page.has_legend("dog (AUC 0.8000)"));
  EXPECT_TRUE(page.has_cell("0.7125"));  // the held-out accuracy, as the report has it
  EXPECT_TRUE(page.has_cell("0.6857"));  // cat's F1 in the classification table
  // Figures with four decimals everywhere, as the terminal prints them: 0.8 as 0.8000.
  EXPECT_TRUE(page.has_cell("0.8000")) << page.content["cells"].dump();
  EXPECT_TRUE(page.has_cell("0.6429"));
  EXPECT_FALSE(page.has_cell("0.8"));
  EXPECT_TRUE(page.has_cell("10"));  // counts stay whole numbers
}

TEST(HtmlText, FiguresHaveFourDecimals) {
  EXPECT_EQ(report::detail::figure(0.406803), "0.4068");
  EXPECT_EQ(report::detail::figure(0.8), "0.8000");
  EXPECT_EQ(report::detail::figure(0.84375), "0.8438");
  EXPECT_EQ(report::detail::figure(12.5), "12.5000");
  EXPECT_EQ(report::detail::figure(0), "0.0000");
  EXPECT_EQ(report::detail::figure(2.5e-5), "2.5e-05");  // too small for four decimals
}

// The charts of a section lie on a grid of equal columns: the precision-recall chart, alone on
// its row after the confusion matrix and the ROC curve, keeps their scale (it used to grow).
TEST(HtmlPage, ChartsShareOneScale) {
  const std::string html = report::html_page({{"run", json{{"history", {{"loss", {0.7, 0.5}}}}}.dump()}});
  EXPECT_NE(html.find(".figures{display:grid;grid-template-columns:repeat(auto-fill,minmax("), std::string::npos);
  EXPECT_EQ(html.find("flex:1 1"), std::string::npos);  // no figure grows to fill a row of its own
}

TEST(HtmlPage, SeveralRunsAreOverlaidUnderTheirNames) {
  const json plain{{"history", {{"loss", {0.7, 0.5}}}}}, dp{{"history", {{"loss", {0.8, 0.7}}}}};
  const auto page = write_and_check(report::html_page({{"plain", plain.dump()}, {"dp", dp.dump()}}), "overlay.html");
  ASSERT_TRUE(page.ok) << page.problems;
  EXPECT_TRUE(page.has_legend("plain"));
  EXPECT_TRUE(page.has_legend("dp"));
}

TEST(HtmlPage, NamesFromDataNeverBecomeMarkup) {
  const std::string hostile = "<script>alert(1)</script>", quote = "\"><img src=x onerror=alert(1)>";
  const json run{{"data", hostile},
                 {"history", {{hostile, {1.0, 0.5}}}},
                 {"classes", {hostile, quote}},
                 {"classification_report",
                  {{"classes", {{hostile, {{"precision", 1}, {"recall", 1}, {"f1", 1}, {"support", 1}}},
                                {quote, {{"precision", 1}, {"recall", 1}, {"f1", 1}, {"support", 1}}}}},
                   {"confusion_matrix", {{1, 0}, {0, 1}}}}}};
  const std::string html = report::html_page({{quote, run.dump()}}, {.title = hostile});
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  const auto page = write_and_check(html, "hostile.html");
  ASSERT_TRUE(page.ok) << page.problems;  // no script, no image, no handler: the checker says so
  EXPECT_TRUE(page.has_cell(hostile));    // shown as text
  EXPECT_NE(page.content["text"].get<std::string>().find(quote), std::string::npos);
}

TEST(HtmlPage, BadReportsAreRefusedNamingTheirSource) {
  auto refused = [](const std::string& text) {
    try {
      report::html_page({{"run", text, "runs/r1.json"}});
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused("{\"history\": ").find("runs/r1.json: not valid JSON"), std::string::npos);
  EXPECT_NE(refused("[1, 2]").find("runs/r1.json: a report is a JSON object"), std::string::npos);
  EXPECT_NE(refused(std::string(100, '[') + std::string(100, ']')).find("nested deeper"), std::string::npos);
  // Wrongly typed fields are drawn around, not trusted.
  EXPECT_EQ(refused(R"({"history": {"loss": "high"}, "classes": 3, "folds": [{}], "results": 7})"), "accepted");
  EXPECT_THROW(report::html_page({}), ValueError);
}

// What report_fuzz found in CI: sections whose arrays are present but empty (or hold no
// points) once read the ends of an empty range. Every section must draw around them.
TEST(HtmlPage, EmptyArraysInEverySectionAreDrawnAround) {
  const std::vector<std::string> reports{
      R"({"method": "fgsm", "norm": "linf", "results": []})",
      R"({"method": "fgsm", "norm": "linf", "results": [1, "x", {}]})",
      R"({"folds": [], "mean": {}, "std": {}})",
      R"({"folds": [{"accuracy": 0.5}, 3], "mean": {"accuracy": 0.5}})",
      R"({"history": {"loss": [], "learning_rate": []}})",
      R"({"history": {"loss": [1, 2], "val_loss": [], "learning_rate": [0.1, 0.2]}})",
      R"({"protection": {"differential_privacy": {"epsilon_history": []}}})",
      R"({"classes": [], "classification_report": {"classes": {}, "confusion_matrix": []}})",
      R"({"classes": ["a"], "classification_report": {"confusion_matrix": [[], [1]]}})",
      R"({"roc": {"fpr": [], "tpr": []}, "precision_recall": {"precision": [], "recall": []}})",
      R"({"attacks": [{"attack": "a", "roc": {"fpr": [], "tpr": []}, "within_dp_bound": 3}],
          "differential_privacy": {"roc_bound": {"fpr": [], "tpr": []}}})",
      R"({"attacks": [{"attack": "a"}], "differential_privacy": 7})",
      R"({"claimed_epsilon": 1, "epsilon_lower_bound": 0.5, "contradicts_accountant": "maybe"})"};
  for (const std::string& text : reports) {
    std::string html;
    try {
      html = report::html_page({{"run", text, "r.json"}});
    } catch (const ValueError&) {
      continue;  // a clear refusal is fine too
    }
    EXPECT_EQ(html.find("<script"), std::string::npos) << text;
    EXPECT_NE(html.find("</html>"), std::string::npos) << text;
  }
}

// An audit of a DP model draws the model's ROC region (dashed, on both ROC charts) and says
// per attack whether it stays within it; an audit of another model draws no region.
TEST(HtmlPage, AuditOfADpModelDrawsTheRegionItsAttacksStayUnder) {
  json attack{{"attack", "loss_threshold"}, {"auc", 0.52}, {"balanced_accuracy", 0.53},
              {"tpr_at_1_percent_fpr", 0.02}, {"epsilon_lower_bound", 0}, {"members", 300}, {"non_members", 200},
              {"roc", {{"fpr", {0, 0.01, 0.5, 1}}, {"tpr", {0, 0.02, 0.55, 1}}}}};
  const json plain{{"attacks", {attack}}};
  attack["within_dp_bound"] = true;
  json leaky = attack;
  leaky["attack"] = "calibrated_loss", leaky["epsilon_lower_bound"] = 3.5, leaky["within_dp_bound"] = false;
  const json dp{{"attacks", {attack, leaky}},
                {"differential_privacy",
                 {{"epsilon", 2}, {"delta", 1e-5}, {"roc_bound", {{"fpr", {0, 0.1, 1}}, {"tpr", {1e-5, 0.74, 1}}}}}}};
  const auto with_bound = write_and_check(report::html_page({{"dp", dp.dump()}}), "dp_bound.html");
  ASSERT_TRUE(with_bound.ok) << with_bound.problems;
  for (const char* title : {"membership attack ROC", "membership attack ROC at low false positive rates"})
    EXPECT_EQ(with_bound.chart(title)["legends"].back(), "DP bound, \xCE\xB5 = 2")
        << with_bound.chart(title).dump();
  EXPECT_TRUE(with_bound.has_cell("within the DP bound"));
  EXPECT_TRUE(with_bound.has_cell("yes"));
  EXPECT_TRUE(with_bound.has_cell("NO: leaks more than \xCE\xB5 allows"));
  const auto without = write_and_check(report::html_page({{"plain", plain.dump()}}), "no_bound.html");
  ASSERT_TRUE(without.ok) << without.problems;
  EXPECT_EQ(without.chart("membership attack ROC")["legends"].size(), 1u);  // the attack's curve only
  EXPECT_FALSE(without.has_cell("within the DP bound"));
}

// dp-audit reports: one point each on the claimed-against-audited chart, in order of claimed
// ε, with the diagonal; a point above it is called out in the table.
TEST(HtmlPage, DpSelfAuditsArePointsBesideTheDiagonal) {
  auto audit = [](double claimed, double audited, bool contradicts) {
    return json{{"claimed_epsilon", claimed}, {"epsilon_lower_bound", audited}, {"confidence", 0.95},
                {"strongest_evidence", "measured_noise"}, {"contradicts_accountant", contradicts},
                {"noise_multiplier", 1.1}, {"runs", 1}}.dump();
  };
  const auto page = write_and_check(
      report::html_page({{"eps4", audit(4, 3.1, false)}, {"eps1", audit(1, 0.8, false)}, {"broken", audit(2, 5.5, true)},
                         {"train", json{{"history", {{"loss", {0.7, 0.5}}}}}.dump()}}),
      "dp_audits.html");
  ASSERT_TRUE(page.ok) << page.problems;
  const json chart = page.chart("audited \xCE\xB5 against the accountant's \xCE\xB5");
  ASSERT_FALSE(chart.is_null()) << page.content["titles"].dump();
  EXPECT_EQ(chart["dots"], 3);
  EXPECT_EQ(chart["legends"], json({"audited lower bound", "y = x"}));
  EXPECT_TRUE(page.has_cell("CONTRADICTS THE ACCOUNTANT"));
  EXPECT_TRUE(page.has_cell("5.5000"));
  EXPECT_TRUE(page.has_cell("eps1"));
  const auto none = write_and_check(report::html_page({{"train", json{{"history", {{"loss", {0.7, 0.5}}}}}.dump()}}),
                                    "no_dp_audit.html");
  ASSERT_TRUE(none.ok) << none.problems;
  EXPECT_TRUE(none.chart("audited \xCE\xB5 against the accountant's \xCE\xB5").is_null());
}

TEST(HtmlPage, WriteHtmlFromAModelTrainedInCpp) {
  random::set_seed(4);
  const Tensor x = random::uniform({64, 3}, -1.0f, 1.0f);
  Tensor y(Shape{64, 1});
  for (int64_t i = 0; i < 64; ++i) y[i] = x[i * 3] + x[i * 3 + 1] > 0 ? 1.0f : 0.0f;
  Sequential model;
  model.add(Dense(4, {.input_dim = 3, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  const History history = model.fit(x, y, {.epochs = 4, .batch_size = 16, .validation_split = 0.25, .verbose = 0});
  const ClassificationReport test = classification_report(model.predict(x), y, {"no", "yes"});
  const std::string path = scratch("cpp.html");
  report::write_html(history, test, path, {.title = "from C++"});
  const auto page = testkit::check_html_page(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(page.ok) << page.problems;
  for (const char* title : {"loss", "accuracy", "confusion matrix", "ROC curve"}) EXPECT_TRUE(page.has_title(title)) << title;
  EXPECT_EQ(page.chart("accuracy")["legends"], json({"training", "validation"}));
  EXPECT_TRUE(page.has_legend("yes (AUC " + report::detail::figure(test.curves.at(0).roc.auc) + ")"));
}

// A long curve keeps its shape when downsampled: every bucket's lowest and highest point,
// so a one-epoch spike and the last dip are drawn, and never more than the cap.
TEST(HtmlChart, LongCurvesKeepEachBucketsExtremes) {
  std::vector<double> y(100'000, 0.5);
  y[31'337] = 9.0;   // a spike
  y[99'998] = -3.0;  // a dip near the end
  const std::vector<size_t> kept = report::detail::downsampled_points(y, y.size(), 1000);
  EXPECT_LE(kept.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end()));
  EXPECT_NE(std::find(kept.begin(), kept.end(), 31'337u), kept.end());
  EXPECT_NE(std::find(kept.begin(), kept.end(), 99'998u), kept.end());
  EXPECT_EQ(report::detail::downsampled_points(y, 10, 1000).size(), 10u);  // short curves are drawn whole
  EXPECT_EQ(report::detail::count_text(1234567), "1,234,567");
}

// Each cap of PageLimits, lowered, cuts with a note on the page, and the page's own cap is an
// error naming the report.
TEST(HtmlPage, EveryCutIsSaidOnThePage) {
  json history = json::object(), layers = json::array(), classes = json::array(), matrix = json::array();
  for (int k = 0; k < 5; ++k) history["figure" + std::to_string(k)] = json::array({0.5, 0.4, 0.3, 0.2, 0.1, 0.6});
  for (int l = 0; l < 9; ++l) layers.push_back({{"name", "dense_" + std::to_string(l)}, {"type", "Dense"}});
  for (int c = 0; c < 6; ++c) {
    classes.push_back("class" + std::to_string(c) + std::string(40, 'y'));
    matrix.push_back(json::array({1, 2, 3, 4, 5, 6}));
  }
  const json run{{"history", history}, {"model", layers}, {"classes", classes},
                 {"classification_report", {{"confusion_matrix", matrix}}}};
  report::PageLimits limits;
  limits.max_points = 4, limits.max_charts = 2, limits.max_table_rows = 3, limits.max_classes = 4,
  limits.max_text_chars = 20;
  const std::string html = report::html_page({{"run", run.dump()}}, {.limits = limits});
  EXPECT_NE(html.find("4 points drawn of 6"), std::string::npos);
  EXPECT_NE(html.find("(3 more charts not shown: figure2, figure3, figure4"), std::string::npos);
  EXPECT_NE(html.find("(7 more rows not shown)"), std::string::npos);  // 9 layers + the total, 3 shown
  EXPECT_NE(html.find("(2 more classes not shown"), std::string::npos);
  EXPECT_EQ(html.find(std::string(30, 'y')), std::string::npos);  // names cut to 20 characters
  const auto page = write_and_check(html, "cuts.html");
  ASSERT_TRUE(page.ok) << page.problems;

  limits.max_page_bytes = 4096;
  try {
    report::html_page({{"run", run.dump(), "runs/big.json"}}, {.limits = limits});
    ADD_FAILURE() << "a page over its cap was written";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("runs/big.json: the page would be larger than 4096 bytes"), std::string::npos)
        << e.what();
  }
  limits = {};
  limits.max_runs = 1;
  EXPECT_THROW(report::html_page({{"a", run.dump()}, {"b", run.dump()}}, {.limits = limits}), ValueError);
  limits = {};
  limits.max_parsed_bytes = 2000;  // the values of this report weigh more
  try {
    report::html_page({{"run", run.dump(), "runs/heavy.json"}}, {.limits = limits});
    ADD_FAILURE() << "a report over its parsed-size budget was parsed";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("runs/heavy.json: its JSON values would take more than"), std::string::npos)
        << e.what();
  }
}

}  // namespace html_page_test
