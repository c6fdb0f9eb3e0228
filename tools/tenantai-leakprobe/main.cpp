// tenantai-leakprobe: run the black-box leak probe against a running tenantai server.
//
//   tenantai-leakprobe --config probe.json --url http://127.0.0.1:8088 [--threads 8] [--rounds 2]
//
// Exit status: 0 no crossing and no error, 1 a crossing or an error (both are findings),
// 2 bad usage or an unreadable config.
#include <tenantai/testing/http_leak_probe.h>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using tenantai::testing::HttpLeakProbeOptions;

constexpr int kClean = 0;
constexpr int kFindings = 1;
constexpr int kBadUsage = 2;

constexpr const char* kUsage =
    "usage: tenantai-leakprobe --config FILE --url http://HOST:PORT [--threads N] [--rounds N]\n"
    "       tenantai-leakprobe help\n"
    "\n"
    "Plants random canaries through every API key of FILE into a running tenantai server, then\n"
    "probes documents (/v1/query), chat and its caches (/v1/chat: identical and paraphrased\n"
    "prompts, most- and least-privileged key first) and audit views (/v1/audit) through every\n"
    "other key, and reports each canary seen by a key that may not see it.\n"
    "\n"
    "  --config FILE   {\"keys\":[{\"label\",\"tenant\",\"actor\",\"groups\":[...],\"secret\",\"audit\"}, ...]}\n"
    "                  (two or more keys; \"audit\": true for keys with admin:export or audit:read)\n"
    "  --url URL       the server, plain HTTP only (no TLS)\n"
    "  --threads N     concurrent workers (default 8)\n"
    "  --rounds N      passes over the whole matrix (default 2)\n"
    "\n"
    "exit status: 0 clean, 1 a crossing or an error, 2 bad usage or config\n";

struct Args {
  std::string config;
  std::string url;
  std::size_t threads = 8;
  std::size_t rounds = 2;
};

struct UsageError {
  std::string message;
};

std::size_t count_value(const std::string& flag, const std::string& text, std::size_t max) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError{flag + " needs a whole number, not \"" + text + "\""};
  }
  const auto value = std::stoul(text);
  if (value == 0 || value > max) throw UsageError{flag + " must be 1.." + std::to_string(max)};
  return value;
}

Args parse_args(const std::vector<std::string>& argv) {
  Args args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& flag = argv[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= argv.size()) throw UsageError{flag + " needs a value"};
      return argv[++i];
    };
    if (flag == "--config") args.config = value();
    else if (flag == "--url") args.url = value();
    else if (flag == "--threads") args.threads = count_value(flag, value(), 1024);
    else if (flag == "--rounds") args.rounds = count_value(flag, value(), 10000);
    else throw UsageError{"unknown option \"" + flag + "\""};
  }
  if (args.config.empty()) throw UsageError{"--config is required"};
  if (args.url.empty()) throw UsageError{"--url is required"};
  return args;
}

bool wants_help(const std::vector<std::string>& argv) {
  return argv.size() == 1 && (argv[0] == "help" || argv[0] == "--help" || argv[0] == "-h");
}

// The options for the run, or nullopt after printing why they cannot be built.
std::optional<HttpLeakProbeOptions> probe_options(const Args& args) {
  auto endpoint = tenantai::testing::parse_probe_url(args.url);
  if (!endpoint) {
    std::cerr << "tenantai-leakprobe: --url: " << endpoint.error().message() << "\n";
    return std::nullopt;
  }
  auto options = tenantai::testing::load_http_probe_config(args.config);
  if (!options) {
    std::cerr << "tenantai-leakprobe: " << options.error().message() << "\n";
    return std::nullopt;
  }
  options->host = endpoint->host;
  options->port = endpoint->port;
  options->threads = args.threads;
  options->rounds = args.rounds;
  return std::move(*options);
}

// A cache attack that no cache ever answered proves nothing about that cache: say so.
void note_unexercised_caches(const tenantai::testing::LeakReport& report) {
  for (const char* layer : {"response_cache", "semantic_cache"}) {
    if (report.checks.count(layer) == 0) {
      std::cout << "note: no chat answer came from the " << layer
                << ", so that cache was not exercised (is caching off for these tenants?)\n";
    }
  }
}

int run(const std::vector<std::string>& argv) {
  const Args args = parse_args(argv);
  auto options = probe_options(args);
  if (!options) return kBadUsage;
  tenantai::testing::HttpLeakProbe probe(std::move(*options));
  const auto report = probe.run();
  std::cout << report.summary();
  note_unexercised_caches(report);
  std::cout << (report.clean() ? "leak probe: clean\n" : "leak probe: FINDINGS (see above)\n");
  return report.clean() ? kClean : kFindings;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (wants_help(args)) {
    std::cout << kUsage;
    return kClean;
  }
  try {
    return run(args);
  } catch (const UsageError& e) {
    std::cerr << "tenantai-leakprobe: " << e.message << "\n\n" << kUsage;
    return kBadUsage;
  } catch (const std::exception& e) {
    std::cerr << "tenantai-leakprobe: " << e.what() << "\n";
    return kBadUsage;
  }
}
