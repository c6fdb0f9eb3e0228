#include "memory/content_sealing.h"

#include "tenantai/core/error.h"
#include "tenantai/core/key_encoding.h"

namespace tenantai::memory::detail {

// Object ids are the shared length-prefixed encoding (the bytes sealed files were written with).

std::string message_object_id(const MemoryScope& where, std::int64_t id, std::string_view role) {
  return encode_fields({where.user, where.agent, where.session, std::to_string(id), role});
}

std::string fact_object_id(std::string_view user, std::string_view agent, std::int64_t id) {
  return encode_fields({user, agent, std::to_string(id)});
}

std::string summary_object_id(const MemoryScope& where) {
  return encode_fields({where.user, where.agent, where.session});
}

void ContentColumns::bind(Statement& statement, int index, std::string_view kind, std::string_view object_id,
                          std::string_view content) {
  if (sealer_ == nullptr) {
    statement.bind(index, content);
  } else {
    statement.bind_blob(index, sealer_->seal(context_, kind, object_id, content));
  }
}

std::string ContentColumns::read(const Statement& statement, int column, std::string_view kind,
                                 std::string_view object_id, const SqliteDb& db) {
  if (sealer_ == nullptr) return statement.text(column);
  auto opened = sealer_->open(context_, kind, object_id, statement.text(column));
  if (!opened.ok()) {
    const Error& e = opened.error();
    throw Error(e.code(), "memory database \"" + escape_for_message(db.path(), 200) + "\": sealed " +
                              std::string(kind) + " does not open: " + e.message());
  }
  return std::move(opened).value();
}

}  // namespace tenantai::memory::detail
