// A checker for the Prometheus text exposition format (version 0.0.4), written against the spec
// (https://prometheus.io/docs/instrumenting/exposition_formats/) because promtool is not
// available here. It is tested on hand-written good and bad inputs first, then run on Meter's
// output.
#include <catch2/catch.hpp>
#include <tenantai/core.h>
#include <tenantai/metering/meter.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_auth.h"

using namespace tenantai;
using namespace tenantai::metering;
using tenantai::test_support::context_for;

namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family → type
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
};

bool is_metric_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
                    (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

bool is_label_name(const std::string& s) {
  if (s.empty() || s.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                    (i > 0 && std::isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

double parse_value(const std::string& s) {
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  if (s == "NaN") return NAN;
  if (s.empty()) throw std::runtime_error("empty value");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) throw std::runtime_error("bad value: " + s);
  if (s.find_first_of("xXpP") != std::string::npos) throw std::runtime_error("hex float: " + s);
  return v;
}

// The family a sample belongs to (histogram/summary suffixes map to their base name).
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx = suffix;
    if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const std::string base = name.substr(0, name.size() - sfx.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

// Throws std::runtime_error describing the first violation.
Exposition parse_exposition(const std::string& text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') throw std::runtime_error("last line must end with a line feed");
  std::set<std::string> closed_families;  // families whose group has ended
  std::string current_family;
  std::set<std::string> seen_series;
  std::istringstream in(text);
  std::string line;
  auto enter_family = [&](const std::string& family) {
    if (family == current_family) return;
    if (closed_families.count(family)) throw std::runtime_error("family " + family + " is not one group");
    if (!current_family.empty()) closed_families.insert(current_family);
    current_family = family;
  };
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream ls(line.substr(1));
      std::string keyword, name;
      ls >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // plain comment
      if (!is_metric_name(name)) throw std::runtime_error("bad metric name in " + keyword + ": " + name);
      std::string rest;
      std::getline(ls, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      enter_family(name);
      if (keyword == "TYPE") {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (!kTypes.count(rest)) throw std::runtime_error("bad type: " + rest);
        if (out.types.count(name)) throw std::runtime_error("second TYPE for " + name);
        for (const auto& s : out.samples) {
          if (family_of(s.name, {{name, rest}}) == name) throw std::runtime_error("TYPE after samples of " + name);
        }
        out.types[name] = rest;
      } else {
        if (out.help.count(name)) throw std::runtime_error("second HELP for " + name);
        for (std::size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' && (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))) {
            throw std::runtime_error("bad escape in HELP");
          }
          if (rest[i] == '\\') ++i;
        }
        out.help[name] = rest;
      }
      continue;
    }
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!is_metric_name(s.name)) throw std::runtime_error("bad metric name: " + s.name);
    std::string series_id = s.name + "{";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) throw std::runtime_error("label without '='");
        const std::string lname = line.substr(i, eq - i);
        if (!is_label_name(lname)) throw std::runtime_error("bad label name: " + lname);
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') throw std::runtime_error("label value not quoted");
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) throw std::runtime_error("dangling escape");
            const char e = line[i++];
            if (e == '\\') value += '\\';
            else if (e == '"') value += '"';
            else if (e == 'n') value += '\n';
            else throw std::runtime_error(std::string("bad escape \\") + e);
          } else {
            value += c;
          }
        }
        if (!closed) throw std::runtime_error("unterminated label value");
        if (s.labels.count(lname)) throw std::runtime_error("duplicate label " + lname);
        s.labels[lname] = value;
        if (i < line.size() && line[i] == ',') ++i;
        else if (i >= line.size() || line[i] != '}') throw std::runtime_error("expected ',' or '}'");
      }
    }
    for (const auto& [k, v] : s.labels) series_id += k + "=" + v + "\x1f";
    if (i >= line.size() || line[i] != ' ') throw std::runtime_error("missing value");
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    s.value = parse_value(value);
    if (!timestamp.empty()) {
      char* end = nullptr;
      std::strtoll(timestamp.c_str(), &end, 10);
      if (*end != '\0') throw std::runtime_error("bad timestamp");
    }
    if (!extra.empty()) throw std::runtime_error("trailing text after sample");
    if (!seen_series.insert(series_id).second) throw std::runtime_error("duplicate series " + series_id);
    const std::string family = family_of(s.name, out.types);
    enter_family(family);
    const auto type = out.types.count(family) ? out.types[family] : "untyped";
    if (type == "counter" && (s.value < 0 || std::isnan(s.value))) throw std::runtime_error("negative counter");
    if (type == "histogram" && s.name == family) throw std::runtime_error("bare sample for histogram " + family);
    if (type == "histogram" && s.name == family + "_bucket" && !s.labels.count("le")) {
      throw std::runtime_error("bucket without le");
    }
    out.samples.push_back(std::move(s));
  }
  // Histogram invariants: per series, buckets cumulative by le, +Inf present and equal to _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    std::set<std::map<std::string, std::string>> sums;
    for (const auto& s : out.samples) {
      auto labels = s.labels;
      if (s.name == family + "_bucket") {
        const double le = parse_value(labels.at("le"));
        labels.erase("le");
        buckets[labels].emplace_back(le, s.value);
      } else if (s.name == family + "_count") {
        counts[labels] = s.value;
      } else if (s.name == family + "_sum") {
        sums.insert(labels);
      }
    }
    for (auto& [labels, bs] : buckets) {
      std::sort(bs.begin(), bs.end());
      for (std::size_t k = 1; k < bs.size(); ++k) {
        if (bs[k].second < bs[k - 1].second) throw std::runtime_error("histogram buckets not cumulative");
      }
      if (bs.empty() || !std::isinf(bs.back().first)) throw std::runtime_error("histogram without +Inf bucket");
      if (!counts.count(labels) || counts[labels] != bs.back().second) {
        throw std::runtime_error("histogram _count differs from the +Inf bucket");
      }
      if (!sums.count(labels)) throw std::runtime_error("histogram without _sum");
    }
  }
  return out;
}

void add_prices(PriceTable& t) {

  t.set("m1", ModelPrice{1'000'000, 2'000'000, "small"});
  t.set("m2", ModelPrice{3'000'000, 15'000'000, "large"});

}

}  // namespace

TEST_CASE("the exposition checker accepts valid text and rejects each kind of violation", "[metering][prometheus]") {
  const std::string good =
      "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3\na_total 4 1700000000\n"
      "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n";
  auto parsed = parse_exposition(good);
  CHECK(parsed.samples.size() == 6);
  CHECK(parsed.samples[0].labels.at("y") == "q\"\\\n");
  const std::vector<std::string> bad = {
      "a 1",                                        // no final line feed
      "1a 1\n",                                     // bad metric name
      "a{1x=\"v\"} 1\n",                            // bad label name
      "a{__x=\"v\"} 1\n",                           // reserved label name
      "a{x=v} 1\n",                                 // unquoted label value
      "a{x=\"\\t\"} 1\n",                           // invalid escape
      "a{x=\"v\"\n",                                // no value
      "a{x=\"v\",x=\"w\"} 1\n",                     // duplicate label
      "a one\n",                                    // bad value
      "a 1\na 2\n",                                 // duplicate series
      "a 1\nb 1\na{x=\"y\"} 1\n",                   // family split in two groups
      "a 1\n# TYPE a counter\n",                    // TYPE after samples
      "# TYPE a counter\n# TYPE a counter\na 1\n",  // two TYPE lines
      "# TYPE a wrong\na 1\n",                      // unknown type
      "# TYPE a counter\na -1\n",                   // negative counter
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",                         // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",                      // count mismatch
      "a 1 2 3\n",                                  // trailing text
  };
  for (const auto& text : bad) {
    INFO(text);
    CHECK_THROWS_AS(parse_exposition(text), std::runtime_error);
  }
}

TEST_CASE("Meter's Prometheus output passes the format check and round-trips hostile label values",
          "[metering][prometheus]") {
  PriceTable table;
  add_prices(table);
  Meter meter(table);
  const std::string hostile = "chat \"quoted\" back\\slash\nnewline";
  with_tenant(context_for("acme", "alice"), [&](auto scope) {
    REQUIRE(meter.record(scope, UsageEvent{"chat", "m1", 100, 50, 1, 2, 3, 0, std::chrono::milliseconds(120)}).ok());
    REQUIRE(meter.record(scope, UsageEvent{"chat", "m1", 10, 5, 0, 0, 0, 1, std::chrono::milliseconds(40)}).ok());
    REQUIRE(meter.record(scope, UsageEvent{hostile, "m2", 1000, 100, 0, 0, 0, 0, std::chrono::seconds(40)}).ok());
    const std::string text = scope.release(meter.prometheus(scope));
    Exposition e;
    REQUIRE_NOTHROW(e = parse_exposition(text));
    CHECK(e.types.at("tenantai_input_tokens_total") == "counter");
    CHECK(e.types.at("tenantai_time_to_first_token_seconds") == "histogram");
    bool found_hostile = false;
    double chat_input = 0, chat_cost = 0, chat_count = 0, chat_le_01 = 0;
    for (const auto& s : e.samples) {
      CHECK(s.labels.at("tenant") == "acme");
      if (s.labels.at("feature") == hostile) found_hostile = true;
      if (s.labels.at("feature") != "chat") continue;
      CHECK(s.labels.at("model_tier") == "small");
      if (s.name == "tenantai_input_tokens_total") chat_input = s.value;
      if (s.name == "tenantai_cost_micros_total") chat_cost = s.value;
      if (s.name == "tenantai_time_to_first_token_seconds_count") chat_count = s.value;
      if (s.name == "tenantai_time_to_first_token_seconds_bucket" && s.labels.at("le") == "0.05") chat_le_01 = s.value;
    }
    CHECK(found_hostile);
    CHECK(chat_input == 110);
    CHECK(chat_cost == 110 + 2 * 55);
    CHECK(chat_count == 2);
    CHECK(chat_le_01 == 1);  // only the 40 ms first token
    return 0;
  });
}
