// The tenantai-backup command line.
#include <tenantai/core/error.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>

#include "backup.h"

namespace tenantai::backup {

namespace {

constexpr const char* kUsage =
    "usage: tenantai-backup create --data-dir DIR --out BACKUP_DIR [--tenant ID]\n"
    "       tenantai-backup restore --from BACKUP_DIR --data-dir DIR [--tenant ID] [--allow-rollback]\n"
    "       tenantai-backup verify --from BACKUP_DIR\n"
    "Stop the server first: both refuse a data_dir whose .lock a live process holds.\n"
    "A restore never rolls an audit log back unless --allow-rollback is given (docs/backup.md).\n";

struct Flags {
  std::map<std::string, std::string> values;
  bool allow_rollback = false;
};

// Parses "--name value" pairs; nullopt (usage error) for anything else.
std::optional<Flags> parse_flags(const std::vector<std::string>& args, const std::vector<std::string>& allowed) {
  Flags flags;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--allow-rollback") {
      flags.allow_rollback = true;
      continue;
    }
    if (!args[i].starts_with("--") || i + 1 >= args.size()) return std::nullopt;
    const std::string name = args[i].substr(2);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) return std::nullopt;
    flags.values[name] = args[++i];
  }
  return flags;
}

std::optional<std::string> optional_flag(const Flags& flags, const std::string& name) {
  auto it = flags.values.find(name);
  if (it == flags.values.end()) return std::nullopt;
  return it->second;
}

void print_list(std::ostream& out, const char* title, const std::vector<std::string>& items) {
  out << title << ": " << items.size() << "\n";
  for (const auto& item : items) out << "  " << item << "\n";
}

int create(const Flags& flags, std::ostream& out) {
  CreateOptions o;
  o.data_dir = flags.values.at("data-dir");
  o.out = flags.values.at("out");
  o.tenant = optional_flag(flags, "tenant");
  const Manifest m = create_backup(o);
  out << "backup " << o.out.string() << ": " << m.files.size() << " files, " << m.tenants.size() << " tenant(s)\n";
  for (const auto& t : m.tenants) {
    out << "  " << t.id << ": audit log "
        << (t.audit ? std::to_string(t.audit->signed_size) + " signed of " + std::to_string(t.audit->events) + " records"
                    : t.audit_error.empty() ? std::string("none") : "DOES NOT VERIFY: " + t.audit_error)
        << "\n";
  }
  return 0;
}

int restore(const Flags& flags, std::ostream& out) {
  RestoreOptions o;
  o.from = flags.values.at("from");
  o.data_dir = flags.values.at("data-dir");
  o.tenant = optional_flag(flags, "tenant");
  o.allow_rollback = flags.allow_rollback;
  const RestoreReport r = restore_backup(o);
  out << "restored " << o.from.string() << " into " << o.data_dir.string() << "\n";
  print_list(out, "files restored", r.restored);
  print_list(out, "files moved aside into the record's displaced/", r.displaced);
  print_list(out, "audit logs ROLLED BACK", r.rollbacks);
  print_list(out, "audit events appended", r.audit_events);
  out << "restore record: " << (r.record_dir / "restore.json").string() << "\n";
  return 0;
}

bool has(const Flags& flags, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (!flags.values.contains(n)) return false;
  }
  return true;
}

}  // namespace

int run_backup_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::string command = args.empty() ? "help" : args[0];
  if (command == "help" || command == "--help") {
    out << kUsage;
    return 0;
  }
  std::optional<Flags> flags;
  if (command == "create") flags = parse_flags(args, {"data-dir", "out", "tenant"});
  if (command == "restore") flags = parse_flags(args, {"from", "data-dir", "tenant"});
  if (command == "verify") flags = parse_flags(args, {"from"});
  const bool complete = flags && ((command == "create" && has(*flags, {"data-dir", "out"}) && !flags->allow_rollback) ||
                                  (command == "restore" && has(*flags, {"from", "data-dir"})) ||
                                  (command == "verify" && has(*flags, {"from"}) && !flags->allow_rollback));
  if (!complete) {
    err << kUsage;
    return 2;
  }
  try {
    if (command == "create") return create(*flags, out);
    if (command == "restore") return restore(*flags, out);
    const Manifest m = verify_backup(flags->values.at("from"));
    out << "backup ok: " << m.files.size() << " files match the manifest (" << m.scope << ", " << m.created_at << ")\n";
    return 0;
  } catch (const Error& e) {
    err << "tenantai-backup: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "tenantai-backup: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tenantai::backup
