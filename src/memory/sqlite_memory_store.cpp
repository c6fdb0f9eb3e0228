#include "tenantai/memory/sqlite_memory_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "memory/content_sealing.h"
#include "memory/handle_pool.h"
#include "memory/memory_rules.h"
#include "memory/sqlite_db.h"
#include "memory/tenant_database.h"

namespace tenantai::memory {

using detail::ContentColumns;
using detail::Statement;
using detail::TenantDatabase;
using detail::Transaction;

namespace {
std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// The id AUTOINCREMENT would give the next row of `table` ("messages" or "facts": a fixed
// internal name, never user input); ids are never reused, even after erasure, so sealed
// content can be bound to its row id before the row exists. Use inside the transaction.
std::int64_t next_id(detail::SqliteDb& db, std::string_view table) {
  const std::string t(table);
  const std::string sql = "SELECT max(ifnull((SELECT seq FROM sqlite_sequence WHERE name = '" + t + "'), 0), " +
                          "ifnull((SELECT max(id) FROM " + t + "), 0)) + 1";
  Statement s(db, sql.c_str());
  if (!s.step()) db.fail(SQLITE_ERROR, "next row id");
  return s.int64(0);
}
}  // namespace

struct SqliteMemoryStore::Impl {
  explicit Impl(SqliteMemoryOptions o)
      : options(std::move(o)),
        pool(options.max_open_handles, [this](const TenantId& tenant) {
          return std::make_shared<TenantDatabase>(path_of(tenant), tenant, options.sync_full,
                                                  options.sealer != nullptr, options.busy_timeout, open_count);
        }) {}

  std::string path_of(const TenantId& tenant) const {
    return (std::filesystem::path(options.root_dir) / file_name_for(tenant)).string();
  }

  // Runs f(database) with the tenant's database locked. A handle erased meanwhile is skipped.
  template <typename F>
  decltype(auto) with_db(const TenantId& tenant, F&& f) {
    for (;;) {
      auto handle = pool.acquire(tenant);
      std::lock_guard lock(handle->mutex);
      if (handle->erased) continue;
      return f(handle->db);
    }
  }

  ContentColumns columns(const TenantContext& context) const { return {options.sealer, context}; }

  SqliteMemoryOptions options;
  std::atomic<std::size_t> open_count{0};
  detail::HandlePool pool;
};

SqliteMemoryStore::SqliteMemoryStore(SqliteMemoryOptions options) {
  std::error_code ec;
  if (options.root_dir.empty() || !std::filesystem::is_directory(options.root_dir, ec)) {
    throw Error(ErrorCode::InvalidArgument, "SqliteMemoryStore: root directory \"" +
                                                escape_for_message(options.root_dir, 200) +
                                                "\" does not exist or is not a directory");
  }
  if (options.max_open_handles == 0) {
    throw Error(ErrorCode::InvalidArgument, "SqliteMemoryStore: max_open_handles must be at least 1");
  }
  impl_ = std::make_unique<Impl>(std::move(options));
}

SqliteMemoryStore::~SqliteMemoryStore() = default;

std::string SqliteMemoryStore::file_name_for(const TenantId& tenant) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : tenant.view()) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      out.push_back(ch);
    } else {
      out.push_back('_');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out + ".memory.db";
}

namespace {
constexpr std::string_view kFileSuffix = ".memory.db";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Inverse of file_name_for(); nullopt for names it cannot have produced.
std::optional<TenantId> tenant_of_file(std::string_view name) {
  if (name.size() <= kFileSuffix.size() || !name.ends_with(kFileSuffix)) return std::nullopt;
  name.remove_suffix(kFileSuffix.size());
  std::string id;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '_') {
      id.push_back(name[i]);
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    const int hi = hex_value(name[i + 1]), lo = hex_value(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  auto parsed = TenantId::parse(id);
  if (!parsed.ok() || SqliteMemoryStore::file_name_for(*parsed) != std::string(name) + std::string(kFileSuffix)) {
    return std::nullopt;
  }
  return *parsed;
}
}  // namespace

std::optional<TenantId> SqliteMemoryStore::tenant_of_file_name(std::string_view name) { return tenant_of_file(name); }

std::vector<TenantId> SqliteMemoryStore::tenants(const SystemScope& /*proof*/) const {
  std::vector<TenantId> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(impl_->options.root_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto tenant = tenant_of_file(it->path().filename().string())) out.push_back(std::move(*tenant));
  }
  if (ec) {
    throw Error(ErrorCode::StorageFailure, "cannot list memory root \"" +
                                               escape_for_message(impl_->options.root_dir, 200) + "\": " + ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t SqliteMemoryStore::apply_retention_all(SystemScope& system, std::chrono::hours max_age) {
  std::size_t removed = 0;
  for (const auto& tenant : tenants(system)) {
    removed += system.visit(tenant, [&](auto scope) { return apply_retention(scope, max_age); });
  }
  return removed;
}

std::size_t SqliteMemoryStore::open_handles() const { return impl_->open_count.load(); }

std::vector<std::int64_t> SqliteMemoryStore::do_append(const TenantContext& context, const MemoryScope& where,
                                                       const std::vector<MessageInput>& messages) {
  detail::check_scope(where);
  if (!detail::acts_for(context, where.user)) detail::deny(context, where.user, "write");
  if (messages.empty()) throw Error(ErrorCode::InvalidArgument, "append needs at least one message");
  for (const auto& m : messages) detail::check_message(m);
  const std::int64_t now = to_ms(impl_->options.clock());
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    auto columns = impl_->columns(context);
    std::vector<std::int64_t> ids;
    ids.reserve(messages.size());
    Transaction tx(db);
    std::int64_t id = next_id(db, "messages");
    Statement insert(db,
                     "INSERT INTO messages(id, user, agent, session, role, content, input_tokens, output_tokens, "
                     "created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& m : messages) {
      insert.bind(1, id).bind(2, where.user).bind(3, where.agent).bind(4, where.session).bind(5, m.role);
      columns.bind(insert, 6, detail::kMessageKind, detail::message_object_id(where, id, m.role), m.content);
      insert.bind(7, m.input_tokens).bind(8, m.output_tokens).bind(9, now);
      insert.run();
      insert.reset();
      ids.push_back(id++);
    }
    tx.commit();
    return ids;
  });
}

namespace {
bool has_grant(detail::SqliteDb& db, std::string_view owner, std::string_view grantee) {
  Statement s(db, "SELECT 1 FROM grants WHERE owner = ? AND grantee = ?");
  s.bind(1, owner).bind(2, grantee);
  return s.step();
}

// Read access: the user itself, "memory:any-user", or a grant from the user to the actor.
void require_read(detail::SqliteDb& db, const TenantContext& context, std::string_view user) {
  if (detail::acts_for(context, user) || has_grant(db, user, context.actor())) return;
  detail::deny(context, user, "read");
}
}  // namespace

std::vector<Message> SqliteMemoryStore::do_messages(const TenantContext& context, const MemoryScope& where,
                                                    std::size_t last_n) {
  detail::check_scope(where);
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    require_read(db, context, where.user);
    Statement s(db,
                "SELECT id, role, content, input_tokens, output_tokens, created_at FROM messages "
                "WHERE user = ? AND agent = ? AND session = ? ORDER BY id DESC LIMIT ?");
    s.bind(1, where.user).bind(2, where.agent).bind(3, where.session);
    s.bind(4, last_n == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(last_n));
    auto columns = impl_->columns(context);
    std::vector<Message> out;
    while (s.step()) {
      Message m{s.int64(0), where, s.text(1), {}, s.int64(3), s.int64(4), from_ms(s.int64(5))};
      m.content = columns.read(s, 2, detail::kMessageKind, detail::message_object_id(where, m.id, m.role), db);
      out.push_back(std::move(m));
    }
    std::reverse(out.begin(), out.end());
    return out;
  });
}

std::int64_t SqliteMemoryStore::do_add_fact(const TenantContext& context, std::string_view user,
                                            std::string_view agent, std::string_view content,
                                            const Provenance& provenance) {
  detail::check_scope_part(user, "user");
  detail::check_scope_part(agent, "agent");
  detail::check_content(content, "fact content");
  if (provenance.source.empty()) throw Error(ErrorCode::InvalidArgument, "fact provenance needs a source");
  if (!detail::acts_for(context, user)) detail::deny(context, user, "write");
  const std::int64_t now = to_ms(impl_->options.clock());
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    auto columns = impl_->columns(context);
    Transaction tx(db);
    const std::int64_t id = next_id(db, "facts");
    const std::string object_id = detail::fact_object_id(user, agent, id);
    Statement s(db,
                "INSERT INTO facts(id, user, agent, content, source, message_id, session, created_at) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, id).bind(2, user).bind(3, agent);
    columns.bind(s, 4, detail::kFactKind, object_id, content);
    columns.bind(s, 5, detail::kFactSourceKind, object_id, provenance.source);
    if (provenance.message_id) {
      s.bind(6, *provenance.message_id);
    } else {
      s.bind_null(6);
    }
    s.bind(7, provenance.session).bind(8, now);
    s.run();
    tx.commit();
    return id;
  });
}

std::vector<Fact> SqliteMemoryStore::do_facts(const TenantContext& context, std::string_view user,
                                              std::string_view agent) {
  detail::check_scope_part(user, "user");
  detail::check_scope_part(agent, "agent");
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    require_read(db, context, user);
    Statement s(db,
                "SELECT id, content, source, message_id, session, created_at FROM facts "
                "WHERE user = ? AND agent = ? ORDER BY id");
    s.bind(1, user).bind(2, agent);
    auto columns = impl_->columns(context);
    std::vector<Fact> out;
    while (s.step()) {
      Fact f;
      f.id = s.int64(0);
      f.user = user;
      f.agent = agent;
      const std::string object_id = detail::fact_object_id(user, agent, f.id);
      f.content = columns.read(s, 1, detail::kFactKind, object_id, db);
      f.provenance.source = columns.read(s, 2, detail::kFactSourceKind, object_id, db);
      if (!s.is_null(3)) f.provenance.message_id = s.int64(3);
      f.provenance.session = s.text(4);
      f.created_at = from_ms(s.int64(5));
      out.push_back(std::move(f));
    }
    return out;
  });
}

void SqliteMemoryStore::do_put_summary(const TenantContext& context, const MemoryScope& where,
                                       std::string_view content, std::int64_t covers_up_to) {
  detail::check_scope(where);
  detail::check_content(content, "summary content");
  if (!detail::acts_for(context, where.user)) detail::deny(context, where.user, "write");
  const std::int64_t now = to_ms(impl_->options.clock());
  impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    auto columns = impl_->columns(context);
    Statement s(db,
                "INSERT INTO summaries(user, agent, session, content, covers_up_to, updated_at) VALUES(?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(user, agent, session) DO UPDATE SET content = excluded.content, "
                "covers_up_to = excluded.covers_up_to, updated_at = excluded.updated_at");
    s.bind(1, where.user).bind(2, where.agent).bind(3, where.session);
    columns.bind(s, 4, detail::kSummaryKind, detail::summary_object_id(where), content);
    s.bind(5, covers_up_to).bind(6, now);
    s.run();
  });
}

std::optional<Summary> SqliteMemoryStore::do_summary(const TenantContext& context, const MemoryScope& where) {
  detail::check_scope(where);
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) -> std::optional<Summary> {
    require_read(db, context, where.user);
    Statement s(db, "SELECT content, covers_up_to, updated_at FROM summaries WHERE user = ? AND agent = ? AND session = ?");
    s.bind(1, where.user).bind(2, where.agent).bind(3, where.session);
    if (!s.step()) return std::nullopt;
    auto content = impl_->columns(context).read(s, 0, detail::kSummaryKind, detail::summary_object_id(where), db);
    return Summary{where, std::move(content), s.int64(1), from_ms(s.int64(2))};
  });
}

void SqliteMemoryStore::do_set_grant(const TenantContext& context, std::string_view grantee, bool granted) {
  detail::check_scope_part(context.actor(), "user");
  detail::check_scope_part(grantee, "grantee");
  impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    Statement s(db, granted ? "INSERT OR IGNORE INTO grants(owner, grantee) VALUES(?, ?)"
                            : "DELETE FROM grants WHERE owner = ? AND grantee = ?");
    s.bind(1, context.actor()).bind(2, grantee);
    s.run();
  });
}

std::size_t SqliteMemoryStore::do_erase_user(const TenantContext& context, std::string_view user) {
  detail::check_scope_part(user, "user");
  if (!detail::acts_for(context, user) && !detail::is_admin(context)) detail::deny(context, user, "erase");
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    std::size_t removed = 0;
    Transaction tx(db);
    for (const char* sql : {"DELETE FROM messages WHERE user = ?", "DELETE FROM facts WHERE user = ?",
                            "DELETE FROM summaries WHERE user = ?", "DELETE FROM grants WHERE owner = ?1 OR grantee = ?1"}) {
      Statement s(db, sql);
      s.bind(1, user);
      s.run();
      removed += static_cast<std::size_t>(db.changes());
    }
    tx.commit();
    return removed;
  });
}

void SqliteMemoryStore::do_erase_tenant(const TenantContext& context) {
  if (!detail::is_admin(context)) detail::deny_admin(context, "erase the tenant's memory");
  if (auto handle = impl_->pool.remove(context.tenant())) {
    std::lock_guard lock(handle->mutex);
    handle->erased = true;
    handle->db.close();
  }
  const std::string path = impl_->path_of(context.tenant());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
    if (ec) {
      throw Error(ErrorCode::StorageFailure, "could not remove \"" + escape_for_message(path + suffix, 200) +
                                                 "\": " + ec.message());
    }
  }
}

std::size_t SqliteMemoryStore::do_apply_retention(const TenantContext& context, std::chrono::hours max_age) {
  if (!detail::is_admin(context)) detail::deny_admin(context, "apply retention");
  if (max_age.count() < 0) throw Error(ErrorCode::InvalidArgument, "retention age must not be negative");
  const std::int64_t cutoff = to_ms(impl_->options.clock() - max_age);
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    std::size_t removed = 0;
    Transaction tx(db);
    for (const char* sql : {"DELETE FROM messages WHERE created_at < ?", "DELETE FROM facts WHERE created_at < ?",
                            "DELETE FROM summaries WHERE updated_at < ?"}) {
      Statement s(db, sql);
      s.bind(1, cutoff);
      s.run();
      removed += static_cast<std::size_t>(db.changes());
    }
    tx.commit();
    return removed;
  });
}

void SqliteMemoryStore::do_verify(const TenantContext& context) {
  const std::string path = impl_->path_of(context.tenant());
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return;  // no memory stored yet: nothing to check
  impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    Statement check(db, "PRAGMA quick_check");
    const std::string verdict = check.step() ? check.text(0) : std::string("no answer");
    if (verdict != "ok") {
      throw Error(ErrorCode::StorageFailure, "memory database \"" + escape_for_message(path, 200) +
                                                 "\" fails its integrity check: " + escape_for_message(verdict, 200));
    }
    return 0;
  });
}

std::string SqliteMemoryStore::do_export_jsonl(const TenantContext& context) {
  if (!detail::is_admin(context)) detail::deny_admin(context, "export the tenant's memory");
  return impl_->with_db(context.tenant(), [&](detail::SqliteDb& db) {
    auto columns = impl_->columns(context);
    std::string out;
    auto line = [&out](const nlohmann::json& j) {
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += '\n';
    };
    line({{"type", "meta"}, {"tenant", context.tenant().str()}, {"format", "tenantai-memory"}, {"version", detail::memory_schema_plan().current_version}});
    Statement m(db,
                "SELECT id, user, agent, session, role, content, input_tokens, output_tokens, created_at "
                "FROM messages ORDER BY id");
    while (m.step()) {
      const MemoryScope where{m.text(1), m.text(2), m.text(3)};
      const std::string role = m.text(4);
      const std::string content =
          columns.read(m, 5, detail::kMessageKind, detail::message_object_id(where, m.int64(0), role), db);
      line({{"type", "message"}, {"id", m.int64(0)}, {"user", where.user}, {"agent", where.agent},
            {"session", where.session}, {"role", role}, {"content", content}, {"input_tokens", m.int64(6)},
            {"output_tokens", m.int64(7)}, {"created_at_ms", m.int64(8)}});
    }
    Statement f(db, "SELECT id, user, agent, content, source, message_id, session, created_at FROM facts ORDER BY id");
    while (f.step()) {
      const std::string object_id = detail::fact_object_id(f.text(1), f.text(2), f.int64(0));
      nlohmann::json j = {{"type", "fact"},
                          {"id", f.int64(0)},
                          {"user", f.text(1)},
                          {"agent", f.text(2)},
                          {"content", columns.read(f, 3, detail::kFactKind, object_id, db)},
                          {"source", columns.read(f, 4, detail::kFactSourceKind, object_id, db)},
                          {"message_id", nullptr},
                          {"session", f.text(6)},
                          {"created_at_ms", f.int64(7)}};
      if (!f.is_null(5)) j["message_id"] = f.int64(5);
      line(j);
    }
    Statement s(db, "SELECT user, agent, session, content, covers_up_to, updated_at FROM summaries ORDER BY user, agent, session");
    while (s.step()) {
      const MemoryScope where{s.text(0), s.text(1), s.text(2)};
      line({{"type", "summary"}, {"user", where.user}, {"agent", where.agent}, {"session", where.session},
            {"content", columns.read(s, 3, detail::kSummaryKind, detail::summary_object_id(where), db)},
            {"covers_up_to", s.int64(4)}, {"updated_at_ms", s.int64(5)}});
    }
    Statement g(db, "SELECT owner, grantee FROM grants ORDER BY owner, grantee");
    while (g.step()) line({{"type", "grant"}, {"owner", g.text(0)}, {"grantee", g.text(1)}});
    return out;
  });
}

}  // namespace tenantai::memory
