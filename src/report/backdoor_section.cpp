// The backdoor-scan section: each label's reversed trigger (Neural Cleanse's mask, and the
// pattern seen through it) drawn as small pixel images, beside the table of mask norms and
// anomaly indices from `citadel scan-backdoor` reports.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "html_text.hpp"
#include "run_sections.hpp"

namespace citadel::report::detail {

using nlohmann::json;

namespace {

constexpr int64_t kMaxImagePixels = 4096;  // per mask drawn: larger images are listed, not drawn
constexpr size_t kMaxImages = 12;          // per run

bool is_backdoor_scan(const Run& run) {
  const json& r = run.report;
  return r.value("scan", json()) == "neural_cleanse" && r.contains("labels") && r["labels"].is_array() &&
         r.contains("image") && r["image"].is_object();
}

std::string rect(int64_t x, int64_t y, double scale, const std::string& fill, double opacity) {
  char text[160];
  std::snprintf(text, sizeof text, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s fill-opacity=\"%.2f\"/>",
                double(x) * scale, double(y) * scale, scale, scale, fill.c_str(), opacity);
  return text;
}

// The mask (opacity m, the page's cell colour) and, right of it, the pattern through the mask
// (its grey level or colour at opacity m); pixels with m below 0.02 are left out.
std::string trigger_image(const json& label, int64_t height, int64_t width, int64_t channels, double low, double high,
                          const std::string& title) {
  const std::vector<double> mask = numbers_of(label.value("mask", json())),
                            pattern = numbers_of(label.value("pattern", json()));
  if (int64_t(mask.size()) != height * width || int64_t(pattern.size()) != height * width * channels) return "";
  const double scale = std::clamp(160.0 / double(std::max(height, width)), 1.0, 24.0);
  const double image_width = double(width) * scale, gap = 12;
  char open[200];
  std::snprintf(open, sizeof open, "<svg class=\"chart\" viewBox=\"0 0 %.1f %.1f\" role=\"img\" aria-label=\"",
                2 * image_width + gap, double(height) * scale + 18);
  std::string svg = std::string(open) + escape(title) + "\">";
  auto frame = [&](double left) {
    char text[200];
    std::snprintf(text, sizeof text, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%.1f\" fill=\"#000\"/>", left,
                  image_width, double(height) * scale);
    return std::string(text);
  };
  svg += frame(0) + frame(image_width + gap);
  std::string right = "<g transform=\"translate(" + number(image_width + gap) + ",0)\">";
  for (int64_t r = 0; r < height; ++r)
    for (int64_t c = 0; c < width; ++c) {
      const double m = std::clamp(mask[size_t(r * width + c)], 0.0, 1.0);
      if (!(m >= 0.02)) continue;
      svg += rect(c, r, scale, "fill=\"#fff\"", m);
      int rgb[3];
      for (int k = 0; k < 3; ++k) {
        const double v = pattern[size_t((r * width + c) * channels + std::min<int64_t>(k, channels - 1))];
        const double unit = high > low ? (v - low) / (high - low) : 0.5;
        rgb[k] = int(std::lround(255 * std::clamp(std::isfinite(unit) ? unit : 0.0, 0.0, 1.0)));
      }
      char fill[40];
      std::snprintf(fill, sizeof fill, "fill=\"rgb(%d,%d,%d)\"", rgb[0], rgb[1], rgb[2]);
      right += rect(c, r, scale, fill, m);
    }
  svg += right + "</g>";
  char caption[120];
  std::snprintf(caption, sizeof caption, "<text class=\"tick\" x=\"0\" y=\"%.1f\">mask</text>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">pattern through mask</text>",
                double(height) * scale + 14, image_width + gap, double(height) * scale + 14);
  return svg + caption + "</svg>";
}

}  // namespace

void add_backdoor_section(Page& page, const std::vector<Run>& runs) {
  bool opened = false;
  for (const Run& run : runs) {
    if (!is_backdoor_scan(run)) continue;
    if (!opened) page.section("Backdoor scan (Neural Cleanse)"), opened = true;
    const json& r = run.report;
    const json& image = r["image"];
    const int64_t height = image.value("height", int64_t(0)), width = image.value("width", int64_t(0)),
                  channels = image.value("channels", int64_t(0));
    const std::vector<double> range = numbers_of(r.value("pattern_range", json()));
    const double low = range.size() == 2 ? range[0] : 0, high = range.size() == 2 ? range[1] : 1;
    const json& flagged = r.value("flagged", json::array());
    page.paragraph(series_name(runs, run, "") + (flagged.empty() ? "No label's trigger is anomalously small." :
                   "Backdoor suspected: the trigger of " + string_at(r, "flagged") + " is anomalously small.") +
                   " Median mask L1 " + figure(number_at(r, "median_l1")) + ", MAD " +
                   figure(number_at(r, "median_absolute_deviation")) + "; a label is flagged when its mask is below "
                   "the median and its anomaly index above " + number(number_at(r, "flag_threshold")) + ".");
    std::vector<std::vector<std::string>> rows;
    std::vector<const json*> drawn;
    for (const json& label : r["labels"]) {
      if (!label.is_object()) continue;
      const bool is_flagged = label.value("flagged", false);
      rows.push_back({string_at(label, "label"), figure(number_at(label, "l1_norm")),
                      figure(number_at(label, "attack_success")), figure(number_at(label, "anomaly_index")),
                      is_flagged ? "FLAGGED" : (label.value("reached_threshold", true) ? "" : "threshold not reached")});
      drawn.push_back(&label);
    }
    page.table({"label", "mask L1", "attack success", "anomaly index", "verdict"}, rows);
    // Flagged labels first, then by mask size: the smallest triggers are the ones to look at.
    std::stable_sort(drawn.begin(), drawn.end(), [](const json* a, const json* b) {
      const bool fa = a->value("flagged", false), fb = b->value("flagged", false);
      if (fa != fb) return fa;
      return number_at(*a, "l1_norm") < number_at(*b, "l1_norm");
    });
    if (height <= 0 || width <= 0 || channels <= 0 || height * width > kMaxImagePixels) {
      page.note("The reversed triggers are not drawn: the input is not an image of at most " +
                count_text(kMaxImagePixels) + " pixels.");
      continue;
    }
    for (size_t i = 0; i < drawn.size() && i < kMaxImages; ++i) {
      const json& label = *drawn[i];
      const std::string name = string_at(label, "label");
      const std::string svg = trigger_image(label, height, width, channels, low, high, "reversed trigger of " + name);
      if (!svg.empty())
        page.figure(svg, series_name(runs, run, name + (label.value("flagged", false) ? " (FLAGGED)" : "")) +
                             ": mask L1 " + figure(number_at(label, "l1_norm")));
    }
    if (drawn.size() > kMaxImages)
      page.note(count_text(int64_t(drawn.size() - kMaxImages)) + " more labels' triggers are in the JSON report.");
  }
}

}  // namespace citadel::report::detail
