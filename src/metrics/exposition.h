// Exposition: writes metrics in the Prometheus text format, version 0.0.4
// (what `promtool check metrics` reads): per family one "# HELP" and one
// "# TYPE" line, then its samples; label values escaped (\\, \", \n).
//
// Threads: one scrape at a time per Exposition (it is a string builder).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace sentry::metrics {

using Label = std::pair<std::string_view, std::string_view>;

class Exposition {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts the family `name` (call once per family, before its samples).
  void Family(std::string_view name, Type type, std::string_view help);
  // A sample of the current family (counter or gauge).
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void Sample(std::string_view name, const std::vector<Label>& labels, double value);
  // A histogram's _bucket (cumulative, le in seconds), _sum (seconds) and _count.
  void Histogram(std::string_view name, const std::vector<Label>& labels,
                 const HistogramSnapshot& h);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

  // "le" values of the buckets, as written (exposed for tests).
  static std::string BoundLabel(size_t bucket);

 private:
  void WriteLabels(const Label* begin, const Label* end, const Label* extra);
  void WriteValue(double v);
  std::string out_;
};

}  // namespace sentry::metrics
