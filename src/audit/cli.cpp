#include "tenantai/audit/cli.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>

#include "audit/bundle.h"
#include "audit/record_codec.h"
#include "core/durable_file.h"
#include "tenantai/audit/verify.h"
#include "tenantai/audit/witness.h"

namespace tenantai::audit {

namespace {

constexpr const char* kUsage =
    "usage: tenantai-audit verify --root DIR --tenant T --key VKEY... [--witness WKEY... [--quorum N]]\n"
    "                             [--trusted-checkpoint FILE...]\n"
    "       tenantai-audit verify --bundle FILE --tenant T --key VKEY... [same options]\n"
    "       tenantai-audit prove  --root DIR --tenant T --key VKEY... --index I\n"
    "       tenantai-audit export --root DIR --tenant T --key VKEY... --out FILE\n"
    "VKEY: signed-note verifier key (name+hash+base64) or @file containing it; repeat --key for\n"
    "      every key the log has been signed with (rotation)\n"
    "WKEY: a witness's cosigner verifier key (or @file); the newest checkpoint cosigned by at\n"
    "      least N of them (default: all) is the published one\n"
    "--trusted-checkpoint: a checkpoint note saved earlier; the log must contain it\n";

struct UsageError {
  std::string message;
};

// Flag name -> every value given for it, in order.
using Flags = std::map<std::string, std::vector<std::string>>;

// Parses "--name value" pairs after the command. Only `single` (at most once) and `repeatable`
// flags are accepted: a misspelt --witness must not silently skip a check.
Flags parse_flags(const std::vector<std::string>& args, const std::set<std::string>& single,
                  const std::set<std::string>& repeatable) {
  Flags flags;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    if (args[i].rfind("--", 0) != 0 || i + 1 >= args.size()) throw UsageError{"bad argument \"" + args[i] + "\""};
    const std::string name = args[i].substr(2);
    if (single.count(name) == 0 && repeatable.count(name) == 0) throw UsageError{"unknown option " + args[i]};
    auto& values = flags[name];
    if (!values.empty() && single.count(name) != 0) throw UsageError{args[i] + " given twice"};
    values.push_back(args[i + 1]);
  }
  return flags;
}

bool has(const Flags& flags, const std::string& name) { return flags.count(name) != 0; }

const std::string& need(const Flags& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) throw UsageError{"missing --" + name};
  return it->second.front();
}

// The values of a repeatable flag (empty when absent).
const std::vector<std::string>& all(const Flags& flags, const std::string& name) {
  static const std::vector<std::string> none;
  auto it = flags.find(name);
  return it == flags.end() ? none : it->second;
}

// A key given inline or as "@file" (trailing whitespace dropped).
std::string key_text(std::string key) {
  if (!key.empty() && key[0] == '@') {
    key = tenantai::detail::read_file(key.substr(1));
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  }
  return key;
}

// Every --key (at least one).
std::vector<CheckpointVerifier> load_verifiers(const Flags& flags) {
  (void)need(flags, "key");
  std::vector<CheckpointVerifier> keys;
  for (const auto& key : all(flags, "key")) keys.push_back(CheckpointVerifier::parse(key_text(key)).value());
  return keys;
}

std::string b64(const Hash& h) { return to_base64(h.data(), h.size()); }

// Exit code for a failed verification: 1 when the log or bundle is not what it claims, 2 when
// it could not be read or checked.
int failure_code(const Error& e) {
  return e.code() == ErrorCode::Tampered || e.code() == ErrorCode::IsolationViolation ? 1 : 2;
}

// The witnesses a tenant relies on and how many of them make a checkpoint published.
struct WitnessCheck {
  std::vector<CosignatureVerifier> witnesses;  // distinct keys
  std::size_t quorum = 0;
};

WitnessCheck load_witnesses(const Flags& flags) {
  WitnessCheck check;
  std::set<std::string> seen;
  for (const auto& key : all(flags, "witness")) {
    auto w = CosignatureVerifier::parse(key_text(key)).value();
    if (seen.insert(w.key()).second) check.witnesses.push_back(std::move(w));
  }
  check.quorum = check.witnesses.size();
  if (has(flags, "quorum")) {
    if (check.witnesses.empty()) throw UsageError{"--quorum needs --witness"};
    const std::string& q = need(flags, "quorum");
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
      n = std::stoull(q, &used);
    } catch (const std::logic_error&) {
      used = 0;
    }
    if (used != q.size() || q.empty() || n == 0 || n > check.witnesses.size()) {
      throw UsageError{"--quorum must be a number from 1 to the number of distinct --witness keys (" +
                       std::to_string(check.witnesses.size()) + ")"};
    }
    check.quorum = static_cast<std::size_t>(n);
  }
  return check;
}

// The newest checkpoint carrying at least `quorum` valid cosignatures, and who cosigned it.
struct Published {
  const Checkpoint* checkpoint = nullptr;
  std::vector<std::string> cosigned_by;
};

// Every checkpoint's cosignature lines by the given witnesses must verify (Tampered naming the
// witness and checkpoint otherwise); Tampered when no checkpoint reaches the quorum.
Result<Published> find_published(const std::vector<Checkpoint>& checkpoints, const WitnessCheck& check) {
  Published published;
  std::string newest_shortfall;
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    const Checkpoint& cp = checkpoints[i];
    auto valid = verify_cosignatures(cp.note, check.witnesses, check.quorum);
    if (valid) {
      published.checkpoint = &cp;
    } else if (valid.error().code() == ErrorCode::NotFound) {
      newest_shortfall = "checkpoint " + std::to_string(i) + " (size " + std::to_string(cp.size) +
                         "): " + valid.error().message();
    } else {
      return Error(ErrorCode::Tampered, "checkpoint " + std::to_string(i) + " (size " + std::to_string(cp.size) +
                                            "): " + valid.error().message());
    }
  }
  if (published.checkpoint == nullptr) {
    return Error(ErrorCode::Tampered, "not published: no checkpoint reaches the witness quorum of " +
                                          std::to_string(check.quorum) + " (newest " + newest_shortfall + ")");
  }
  for (const auto& w : check.witnesses) {
    if (w.verify(published.checkpoint->note)) published.cosigned_by.push_back(w.name());
  }
  return published;
}

// A checkpoint the tenant saved earlier (--trusted-checkpoint), verified under one of the keys.
struct TrustedCheckpoint {
  std::string file;
  Checkpoint checkpoint;
};

std::vector<TrustedCheckpoint> load_trusted(const Flags& flags, const TenantId& tenant,
                                            const std::vector<CheckpointVerifier>& keys) {
  std::vector<TrustedCheckpoint> out;
  for (const auto& file : all(flags, "trusted-checkpoint")) {
    auto cp = verify_checkpoint_notes({tenantai::detail::read_file(file)}, tenant, keys);
    if (!cp) {
      throw Error(ErrorCode::InvalidArgument,
                  "trusted checkpoint " + file + " does not verify under any --key: " + cp.error().message());
    }
    out.push_back({file, std::move(cp->front())});
  }
  return out;
}

// Why the verified tree does not contain `trusted` (rolled back: it is shorter; forked: another
// root at that size), or nullopt when it does. `what` is "log" or "bundle".
std::optional<std::string> trusted_failure(const VerifiedTree& tree, const TrustedCheckpoint& trusted,
                                           const std::string& what) {
  const Checkpoint& t = trusted.checkpoint;
  if (t.size > tree.leaves.size()) {
    return "rolled back: the " + what + " holds " + std::to_string(tree.leaves.size()) +
           " records, fewer than the trusted checkpoint " + trusted.file + " of size " + std::to_string(t.size) +
           " (signed records were dropped)";
  }
  const Hash root = root_of(tree.leaves.data(), static_cast<std::size_t>(t.size));
  if (root != t.root) {
    return "forked: the " + what + "'s tree of size " + std::to_string(t.size) + " has root " + b64(root) +
           ", the trusted checkpoint " + trusted.file + " signed root " + b64(t.root) + " (history rewritten)";
  }
  return std::nullopt;
}

int verify_command(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (has(flags, "bundle") == has(flags, "root")) throw UsageError{"give one of --root and --bundle"};
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const std::vector<CheckpointVerifier> keys = load_verifiers(flags);
  const WitnessCheck witnesses = load_witnesses(flags);
  const std::vector<TrustedCheckpoint> trusted = load_trusted(flags, tenant, keys);
  const std::string what = has(flags, "bundle") ? "bundle" : "log";
  Result<VerifiedTree> tree = [&] {
    if (has(flags, "bundle")) return verify_bundle_tree(tenantai::detail::read_file(need(flags, "bundle")), tenant, keys);
    FileLogStorage storage(need(flags, "root"));
    return verify_log_tree(storage, tenant, keys);
  }();
  if (!tree) {
    err << "FAILED: " << tree.error().what() << "\n";
    return failure_code(tree.error());
  }
  // Every failure is printed, not only the first: a rollback and a missing quorum say different things.
  std::vector<std::string> failures;
  std::optional<Published> published;
  if (!witnesses.witnesses.empty()) {
    auto p = find_published(tree->checkpoints, witnesses);
    if (p) {
      published = std::move(p).value();
    } else {
      failures.push_back(p.error().message());
    }
  }
  for (const auto& t : trusted) {
    if (auto why = trusted_failure(*tree, t, what)) failures.push_back(*why);
  }
  if (!failures.empty()) {
    for (const auto& why : failures) err << "FAILED: " << why << "\n";
    return 1;
  }
  const VerifyReport& report = tree->report;
  out << "OK: tenant " << tenant.str() << ", " << report.events << " events (" << report.pruned
      << " pruned), " << report.checkpoints << " checkpoints, verified up to size " << report.latest.size
      << ", root " << b64(report.latest.root) << "\n";
  if (published) {
    const Checkpoint& cp = *published->checkpoint;
    out << "published up to size " << cp.size << ", root " << b64(cp.root) << ", cosigned by ";
    for (std::size_t i = 0; i < published->cosigned_by.size(); ++i) out << (i ? ", " : "") << published->cosigned_by[i];
    out << " (quorum " << witnesses.quorum << " of " << witnesses.witnesses.size() << ")\n";
    if (report.events > cp.size) {
      out << "not yet published: records " << cp.size << " to " << report.events - 1 << " ("
          << report.events - cp.size << " records after the published size)\n";
    }
  }
  for (const auto& t : trusted) {
    out << "trusted checkpoint " << t.file << ": size " << t.checkpoint.size << " is contained in the " << what
        << "\n";
  }
  return 0;
}

// Verifies the log, then returns its bytes and verified checkpoints.
struct VerifiedLog {
  std::string bytes;
  std::vector<Checkpoint> checkpoints;
};

Result<VerifiedLog> load_verified(const Flags& flags, const TenantId& tenant,
                                  const std::vector<CheckpointVerifier>& keys) {
  FileLogStorage storage(need(flags, "root"));
  auto report = verify_log(storage, tenant, keys);
  if (!report) return report.error();
  const auto streams = storage.open(tenant, OpenMode::ReadOnly);
  VerifiedLog v;
  auto checkpoints = verify_checkpoint_notes(streams->read_checkpoints().notes, tenant, keys);
  if (!checkpoints || checkpoints->empty()) return Error(ErrorCode::Tampered, "checkpoints changed while reading");
  v.checkpoints = std::move(checkpoints).value();
  v.bytes = streams->read_records(0, v.checkpoints.back().size);
  return v;
}

int prove_command(const Flags& flags, std::ostream& out, std::ostream& err) {
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const std::vector<CheckpointVerifier> keys = load_verifiers(flags);
  std::uint64_t index = 0;
  try {
    index = std::stoull(need(flags, "index"));
  } catch (const std::logic_error&) {
    throw UsageError{"--index must be a number"};
  }
  auto log = load_verified(flags, tenant, keys);
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

int export_command(const Flags& flags, std::ostream& out, std::ostream& err) {
  const TenantId tenant = TenantId::parse(need(flags, "tenant")).value();
  const std::vector<CheckpointVerifier> keys = load_verifiers(flags);
  auto log = load_verified(flags, tenant, keys);
  if (!log) {
    err << "FAILED: " << log.error().what() << "\n";
    return 1;
  }
  FileSink sink(need(flags, "out"));
  // Offline export: sealed bodies stay sealed (this tool never holds tenant keys).
  detail::write_bundle(tenant, log->bytes, log->checkpoints, detail::clear_body, sink);
  out << "OK: wrote " << need(flags, "out") << " with " << log->checkpoints.back().size << " events\n";
  return 0;
}

}  // namespace

int run_audit_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
      (args.empty() ? err : out) << kUsage;
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "verify") {
      return verify_command(parse_flags(args, {"root", "bundle", "tenant", "quorum"}, {"key", "witness", "trusted-checkpoint"}),
                            out, err);
    }
    if (args[0] == "prove") return prove_command(parse_flags(args, {"root", "tenant", "index"}, {"key"}), out, err);
    if (args[0] == "export") return export_command(parse_flags(args, {"root", "tenant", "out"}, {"key"}), out, err);
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
