// Plain data of the conversation memory: where a record lives (MemoryScope) and what it holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tenantai::memory {

// Where a record lives inside the tenant: user → agent → session. The three parts are stored
// as separate fields (never flattened into one joined string), so ("team_a", "x") and
// ("team", "a_x") can never name the same place. Each part: 1..256 bytes, no NUL byte.
struct MemoryScope {
  std::string user;
  std::string agent;
  std::string session;
};

// A new message. role is one of "system", "user", "assistant", "tool"; content ≤ 1 MiB.
struct MessageInput {
  std::string role;
  std::string content;
  std::int64_t input_tokens = 0;   // >= 0
  std::int64_t output_tokens = 0;  // >= 0
};

// A stored message. created_at is wall-clock time (ms precision).
struct Message {
  std::int64_t id = 0;  // increasing within a tenant
  MemoryScope scope;
  std::string role;
  std::string content;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::chrono::system_clock::time_point created_at;
};

// Where a fact came from, so it can be checked or retracted.
struct Provenance {
  std::string source;                       // e.g. "extracted", "user-stated", "tool:crm"; non-empty
  std::optional<std::int64_t> message_id;   // the message it was derived from, if any
  std::string session;                      // the session it was learned in (may be empty)
};

// A fact about a user, kept per user and agent (not per session).
struct Fact {
  std::int64_t id = 0;
  std::string user;
  std::string agent;
  std::string content;
  Provenance provenance;
  std::chrono::system_clock::time_point created_at;
};

// The rolling summary of a session, covering messages up to and including covers_up_to.
struct Summary {
  MemoryScope scope;
  std::string content;
  std::int64_t covers_up_to = 0;
  std::chrono::system_clock::time_point updated_at;
};

}  // namespace tenantai::memory
