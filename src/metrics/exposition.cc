#include "metrics/exposition.h"

#include <fmt/format.h>

#include <cmath>

namespace sentry::metrics {

namespace {
const char* TypeName(Exposition::Type t) {
  switch (t) {
    case Exposition::Type::kCounter: return "counter";
    case Exposition::Type::kGauge: return "gauge";
    case Exposition::Type::kHistogram: return "histogram";
  }
  return "untyped";
}
// Backslash and newline escaped, and the double quote too in label values.
void AppendEscaped(std::string_view text, bool quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (quote && c == '"') {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

}  // namespace

void Exposition::Family(std::string_view name, Type type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(help, /*quote=*/false, &out_);  // HELP escapes \\ and newline only
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += TypeName(type);
  out_ += '\n';
}

void Exposition::WriteLabels(const Label* begin, const Label* end, const Label* extra) {
  if (begin == end && !extra) return;
  out_ += '{';
  bool first = true;
  auto one = [&](const Label& l) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.first;
    out_ += "=\"";
    AppendEscaped(l.second, /*quote=*/true, &out_);
    out_ += '"';
  };
  for (const Label* l = begin; l != end; ++l) one(*l);
  if (extra) one(*extra);
  out_ += '}';
}

void Exposition::WriteValue(double v) {
  if (std::isinf(v)) {
    out_ += v > 0 ? "+Inf" : "-Inf";
  } else if (std::isnan(v)) {
    out_ += "NaN";
  } else if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    fmt::format_to(std::back_inserter(out_), "{}", static_cast<int64_t>(v));
  } else {
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
}

void Exposition::Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  out_ += name;
  WriteLabels(labels.begin(), labels.end(), nullptr);
  out_ += ' ';
  WriteValue(value);
  out_ += '\n';
}

void Exposition::Sample(std::string_view name, const std::vector<Label>& labels, double value) {
  out_ += name;
  WriteLabels(labels.data(), labels.data() + labels.size(), nullptr);
  out_ += ' ';
  WriteValue(value);
  out_ += '\n';
}

std::string Exposition::BoundLabel(size_t bucket) {
  if (bucket >= kBoundsNanos.size()) return "+Inf";
  return fmt::format("{}", static_cast<double>(kBoundsNanos[bucket]) / 1e9);
}

void Exposition::Histogram(std::string_view name, const std::vector<Label>& labels,
                           const HistogramSnapshot& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets; i++) {
    cumulative += h.counts[i];
    const std::string le = BoundLabel(i);
    const Label extra{"le", le};
    out_ += name;
    out_ += "_bucket";
    WriteLabels(labels.data(), labels.data() + labels.size(), &extra);
    out_ += ' ';
    WriteValue(static_cast<double>(cumulative));
    out_ += '\n';
  }
  out_ += name;
  out_ += "_sum";
  WriteLabels(labels.data(), labels.data() + labels.size(), nullptr);
  out_ += ' ';
  WriteValue(static_cast<double>(h.sum_nanos) / 1e9);
  out_ += '\n';
  out_ += name;
  out_ += "_count";
  WriteLabels(labels.data(), labels.data() + labels.size(), nullptr);
  out_ += ' ';
  WriteValue(static_cast<double>(cumulative));
  out_ += '\n';
}

}  // namespace sentry::metrics
