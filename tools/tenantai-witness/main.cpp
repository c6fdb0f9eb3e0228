// tenantai-witness: a C2SP tlog-witness server for tenantai audit logs (and any log signing
// C2SP checkpoints with Ed25519), or the generator of its cosigner key.
//
//   tenantai-witness keygen --name witness.example/w1 --out w1.key      prints the verifier key
//   tenantai-witness --listen 127.0.0.1:7380 --key w1.key --state w1.state
//       --log tenantai.audit/acme=<log verifier key> [--log ...] [--port-file <file>] [--prefix /w]
//
// Serves POST <prefix>/add-checkpoint and GET <prefix>/<hex SHA-256 of origin>/checkpoint.
// Prints its verifier key and listening port; SIGTERM or SIGINT stops it cleanly (exit 0).
#include <signal.h>
#include <sodium.h>
#include <tenantai/audit/witness.h>
#include <tenantai/server/http_witness.h>
#include <tenantai/server/http_server.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace tenantai;
using namespace tenantai::audit;

constexpr const char* kUsage =
    "usage: tenantai-witness --listen <ip>:<port> --key <file> --state <file> --log <origin>=<log verifier key>\n"
    "                        [--log ...] [--port-file <file>] [--prefix <path>]\n"
    "       tenantai-witness keygen --name <name> --out <file>\n";

struct ServeOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  std::string key_path;
  std::string state_path;
  std::string port_file;
  std::string prefix;
  std::vector<WitnessedLog> logs;
};

// The value after flag args[i] (advancing i), or nullopt when missing.
std::optional<std::string> value_of(const std::vector<std::string>& args, std::size_t& i) {
  if (i + 1 >= args.size()) return std::nullopt;
  return args[++i];
}

bool parse_listen(const std::string& text, ServeOptions& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    const unsigned long port = std::stoul(text.substr(colon + 1));
    if (port > 65535) return false;
    out.address = text.substr(0, colon);
    out.port = static_cast<std::uint16_t>(port);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_log(const std::string& text, ServeOptions& out) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out.logs.push_back({text.substr(0, eq), text.substr(eq + 1)});
  return true;
}

bool apply_flag(const std::string& flag, const std::string& value, ServeOptions& out) {
  if (flag == "--listen") return parse_listen(value, out);
  if (flag == "--log") return parse_log(value, out);
  if (flag == "--key") out.key_path = value;
  else if (flag == "--state") out.state_path = value;
  else if (flag == "--port-file") out.port_file = value;
  else if (flag == "--prefix") out.prefix = value;
  else return false;
  return true;
}

std::optional<ServeOptions> parse_serve(const std::vector<std::string>& args) {
  ServeOptions out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto value = value_of(args, i);
    if (!value || !apply_flag(args[i - 1], *value, out)) {
      std::cerr << "tenantai-witness: bad or incomplete option " << args[i - (value ? 1 : 0)] << "\n";
      return std::nullopt;
    }
  }
  if (out.key_path.empty() || out.state_path.empty() || out.logs.empty()) return std::nullopt;
  return out;
}

int keygen(const std::vector<std::string>& args) {
  std::string name, out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto value = value_of(args, i);
    if (value && args[i - 1] == "--name") name = *value;
    else if (value && args[i - 1] == "--out") out = *value;
    else return std::cerr << kUsage, 2;
  }
  if (name.empty() || out.empty()) return std::cerr << kUsage, 2;
  const auto signer = CosignatureSigner::generate(name);
  signer.save(out);
  std::cout << signer.verifier_key() << "\n";
  return 0;
}

// Writes the port to `path` through a rename, so a reader never sees a partial file.
void write_port_file(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << port << "\n";
  std::filesystem::rename(tmp, path);
}

// Blocks SIGTERM and SIGINT in every thread (the server's threads inherit the mask) and returns
// the set to sigwait on.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int serve(const ServeOptions& options) {
  const sigset_t stop_signals = block_stop_signals();
  WitnessService service(CosignatureSigner::load(options.key_path), options.logs, options.state_path);
  server::HttpServer http({.address = options.address, .port = options.port});
  server::add_witness_routes(http, service, options.logs, options.prefix);
  http.start();
  std::cout << "tenantai-witness " << service.signer().verifier_key() << " listening on " << options.address << ":"
            << http.port() << std::endl;
  if (!options.port_file.empty()) write_port_file(options.port_file, http.port());
  int signal = 0;
  sigwait(&stop_signals, &signal);
  http.stop(std::chrono::seconds(2));
  std::cout << "tenantai-witness stopped (signal " << signal << ")" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "keygen") return keygen(args);
    if (args.empty() || args[0] == "help" || args[0] == "--help") return std::cout << kUsage, args.empty() ? 2 : 0;
    const auto options = parse_serve(args);
    if (!options) return std::cerr << kUsage, 2;
    return serve(*options);
  } catch (const std::exception& e) {
    std::cerr << "tenantai-witness: " << e.what() << "\n";
    return 1;
  }
}
