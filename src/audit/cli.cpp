#include "tenantai/audit/cli.h"

#include <nlohmann/json.hpp>

#include <map>

#include "audit/bundle.h"
#include "audit/record_codec.h"
#include "core/durable_file.h"
#include "tenantai/audit/verify.h"

namespace tenantai::audit {

namespace {

constexpr const char* kUsage =
    "usage: tenantai-audit verify --root DIR --tenant T --key VKEY\n"
    "       tenantai-audit verify --bundle FILE --tenant T --key VKEY\n"
    "       tenantai-audit prove  --root DIR --tenant T --key VKEY --index I\n"
    "       tenantai-audit export --root DIR --tenant T --key VKEY --out FILE\n"
    "VKEY: signed-note verifier key (name+hash+base64) or @file containing it\n";

struct UsageError {
  std::string message;
};

std::map<std::string, std::string> parse_flags(const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    if (args[i].rfind("--", 0) != 0 || i + 1 >= args.size()) throw UsageError{"bad argument \"" + args[i] + "\""};
    flags[args[i].substr(2)] = args[i + 1];
  }
  return flags;
}

const std::string& need(const std::map<std::string, std::string>& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) throw UsageError{"missing --" + name};
  return it->second;
}

CheckpointVerifier load_verifier(std::string key) {
  if (!key.empty() && key[0] == '@') {
    key = tenantai::detail::read_file(key.substr(1));
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  }
  return CheckpointVerifier::parse(key).value();
}

std::string b64(const Hash& h) { return to_base64(h.data(), h.size()); }

int verify_command(const std::map<std::string, std::string>& flags, std::ostream& out, std::ostream& err) {
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const CheckpointVerifier verifier = load_verifier(need(flags, "key"));
  Result<VerifyReport> report = flags.count("bundle") != 0
                                    ? verify_bundle(tenantai::detail::read_file(flags.at("bundle")), tenant, verifier)
                                    : verify_log(need(flags, "root"), tenant, verifier);
  if (!report) {
    err << "FAILED: " << report.error().what() << "\n";
    return report.error().code() == ErrorCode::Tampered || report.error().code() == ErrorCode::IsolationViolation ? 1 : 2;
  }
  out << "OK: tenant " << tenant.str() << ", " << report->events << " events (" << report->pruned
      << " pruned), " << report->checkpoints << " checkpoints, verified up to size " << report->latest.size
      << ", root " << b64(report->latest.root) << "\n";
  return 0;
}

// Verifies the log, then returns its bytes and verified checkpoints.
struct VerifiedLog {
  std::string bytes;
  std::vector<Checkpoint> checkpoints;
};

Result<VerifiedLog> load_verified(const std::map<std::string, std::string>& flags, const TenantId& tenant,
                                  const CheckpointVerifier& verifier) {
  FileLogStorage storage(need(flags, "root"));
  auto report = verify_log(storage, tenant, verifier);
  if (!report) return report.error();
  const auto streams = storage.open(tenant, OpenMode::ReadOnly);
  VerifiedLog v;
  auto checkpoints = verify_checkpoint_notes(streams->read_checkpoints().notes, tenant, verifier);
  if (!checkpoints || checkpoints->empty()) return Error(ErrorCode::Tampered, "checkpoints changed while reading");
  v.checkpoints = std::move(checkpoints).value();
  v.bytes = streams->read_records(0, v.checkpoints.back().size);
  return v;
}

int prove_command(const std::map<std::string, std::string>& flags, std::ostream& out, std::ostream& err) {
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const CheckpointVerifier verifier = load_verifier(need(flags, "key"));
  std::uint64_t index = 0;
  try {
    index = std::stoull(need(flags, "index"));
  } catch (const std::logic_error&) {
    throw UsageError{"--index must be a number"};
  }
  auto log = load_verified(flags, tenant, verifier);
  if (!log) {
    err << "FAILED: " << log.error().what() << "\n";
    return 1;
  }
  const Checkpoint& cp = log->checkpoints.back();
  const auto s = detail::scan(log->bytes, tenant.view());
  std::vector<Hash> leaves;
  for (std::uint64_t i = 0; i < cp.size; ++i) leaves.push_back(s.frames[i].leaf);
  auto proof = inclusion_proof(leaves, index, cp.size);
  if (!proof) {
    err << "FAILED: " << proof.error().what() << "\n";
    return 2;
  }
  nlohmann::ordered_json j = {{"tenant", tenant.str()}, {"index", index}, {"tree_size", cp.size},
                              {"leaf", b64(leaves[index])}};
  auto& path = j["proof"] = nlohmann::json::array();
  for (const auto& h : *proof) path.push_back(b64(h));
  j["root"] = b64(cp.root);
  j["checkpoint"] = cp.note;
  j["verified"] = verify_inclusion(leaves[index], index, cp.size, *proof, cp.root);
  out << j.dump(2) << "\n";
  return 0;
}

int export_command(const std::map<std::string, std::string>& flags, std::ostream& out, std::ostream& err) {
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const CheckpointVerifier verifier = load_verifier(need(flags, "key"));
  auto log = load_verified(flags, tenant, verifier);
  if (!log) {
    err << "FAILED: " << log.error().what() << "\n";
    return 1;
  }
  FileSink sink(need(flags, "out"));
  // Offline export: sealed bodies stay sealed (this tool never holds tenant keys).
  detail::write_bundle(tenant, log->bytes, log->checkpoints, detail::clear_body, sink);
  out << "OK: wrote " << flags.at("out") << " with " << log->checkpoints.back().size << " events\n";
  return 0;
}

}  // namespace

int run_audit_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
      (args.empty() ? err : out) << kUsage;
      return args.empty() ? 2 : 0;
    }
    const auto flags = parse_flags(args);
    if (args[0] == "verify") return verify_command(flags, out, err);
    if (args[0] == "prove") return prove_command(flags, out, err);
    if (args[0] == "export") return export_command(flags, out, err);
    throw UsageError{"unknown command \"" + args[0] + "\""};
  } catch (const UsageError& e) {
    err << "error: " << e.message << "\n" << kUsage;
    return 2;
  } catch (const Error& e) {
    err << "error: " << e.what() << "\n";
    return e.code() == ErrorCode::Tampered ? 1 : 2;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace tenantai::audit
