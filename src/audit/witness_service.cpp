// The witness side of C2SP tlog-witness add-checkpoint. Checks run in the spec's order: body
// (400), origin (404), log signature (403), old <= size (400), old == held size (409), then the
// tree: empty-tree root for size 0, no proof from 0, same root for the same size, and an RFC 9162
// consistency proof otherwise (422). The held state changes only after the state file is durable.
#include <chrono>
#include <optional>

#include "audit/note_keys.h"
#include "audit/witness_request.h"
#include "audit/witness_state.h"
#include "core/durable_file.h"
#include "tenantai/audit/witness.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::audit {

struct WitnessService::LogState {
  std::optional<CheckpointVerifier> verifier{};  // none: kept from the state file, not configured
  detail::WitnessedCheckpoint held{};            // size 0 / empty note: never cosigned
};

namespace {

using Response = WitnessService::Response;

Response text(int status, std::string body) { return Response{status, "text/plain; charset=utf-8", std::move(body) + "\n"}; }

Response conflict(std::uint64_t held_size) {
  return Response{409, "text/x.tlog.size", std::to_string(held_size) + "\n"};
}

std::uint64_t system_clock_s() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// The tree checks once `old` equals the held size. Empty string: consistent.
std::string tree_refusal(const detail::WitnessedCheckpoint& held, const detail::AddCheckpointRequest& request,
                         const Checkpoint& cp) {
  if (cp.size == 0 && cp.root != root_of(nullptr, 0)) return "a checkpoint of size 0 must carry the empty tree's root";
  if (request.old_size == 0) return request.proof.empty() ? "" : "a proof from size 0 must be empty";
  if (request.old_size == cp.size) {
    if (cp.root != held.root) return "fork: another root hash for size " + std::to_string(cp.size);
    return request.proof.empty() ? "" : "a proof between equal sizes must be empty";
  }
  if (!verify_consistency(request.old_size, cp.size, held.root, cp.root, request.proof)) {
    return "the consistency proof from size " + std::to_string(request.old_size) + " to " + std::to_string(cp.size) +
           " does not verify (a rewritten or forked log)";
  }
  return "";
}

}  // namespace

WitnessService::WitnessService(CosignatureSigner signer, std::vector<WitnessedLog> logs,
                               std::filesystem::path state_path, std::function<std::uint64_t()> clock_s)
    : signer_(std::move(signer)),
      state_path_(std::filesystem::absolute(std::move(state_path))),
      clock_s_(clock_s ? std::move(clock_s) : system_clock_s) {
  for (const auto& log : logs) configure(log);
  if (std::filesystem::exists(state_path_)) load_state();
}

void WitnessService::configure(const WitnessedLog& log) {
  if (log.origin.empty() || log.origin.find('\n') != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "a witnessed log needs a one-line origin");
  }
  auto verifier = CheckpointVerifier::parse(log.log_verifier_key);
  if (!verifier) {
    throw Error(ErrorCode::InvalidArgument,
                "log key for \"" + escape_for_message(log.origin) + "\": " + verifier.error().message());
  }
  auto state = std::make_shared<LogState>();
  state->verifier = std::move(*verifier);
  state->held.origin = log.origin;
  state->held.root = root_of(nullptr, 0);
  if (!logs_.emplace(log.origin, std::move(state)).second) {
    throw Error(ErrorCode::InvalidArgument, "origin \"" + escape_for_message(log.origin) + "\" is listed twice");
  }
}

void WitnessService::load_state() {
  for (auto& held : detail::decode_witness_state(tenantai::detail::read_file(state_path_), state_path_)) {
    auto& state = logs_[held.origin];  // an origin no longer configured is kept, never served
    if (!state) state = std::make_shared<LogState>();
    state->held = std::move(held);
  }
}

WitnessService::Response WitnessService::add_checkpoint(std::string_view request_body) {
  try {
    auto request = detail::parse_add_checkpoint(request_body);
    if (!request) return text(400, request.error().message());
    auto split = detail::split_note(request->note);
    if (!split) return text(400, split.error().message());
    auto cp = detail::parse_checkpoint_text(split->text, request->note);
    if (!cp) return text(400, cp.error().message());

    std::lock_guard lock(mutex_);  // check and persist atomically (the spec's rollback race)
    auto it = logs_.find(cp->origin);
    if (it == logs_.end() || !it->second->verifier) return text(404, "unknown log origin " + escape_for_message(cp->origin));
    LogState& state = *it->second;
    if (auto verified = state.verifier->verify(request->note, cp->origin); !verified) {
      return text(403, verified.error().message());
    }
    if (request->old_size > cp->size) return text(400, "old size is larger than the checkpoint's size");
    if (request->old_size != state.held.size) return conflict(state.held.size);
    if (auto why = tree_refusal(state.held, *request, *cp); !why.empty()) return text(422, why);

    const std::string line = signer_.cosign(*cp, clock_s_());
    detail::WitnessedCheckpoint next{cp->origin, cp->size, cp->root, std::string(request->note) + line};
    persist(cp->origin, next);
    state.held = std::move(next);
    return Response{200, "text/plain; charset=utf-8", line};
  } catch (const std::exception& e) {
    return text(500, std::string("witness could not record the checkpoint: ") + e.what());
  }
}

void WitnessService::persist(const std::string& origin, const detail::WitnessedCheckpoint& next) const {
  std::vector<detail::WitnessedCheckpoint> all;
  for (const auto& [name, state] : logs_) {
    if (name == origin) {
      all.push_back(next);
    } else if (!state->held.note.empty()) {
      all.push_back(state->held);
    }
  }
  tenantai::detail::write_file_atomic(state_path_, detail::encode_witness_state(all), 0600);
}

std::string WitnessService::latest(std::string_view origin) const {
  const std::string note = latest_note(origin);
  if (note.empty()) return "";
  return std::string(detail::split_note(note).value().text);
}

std::string WitnessService::latest_note(std::string_view origin) const {
  std::lock_guard lock(mutex_);
  auto it = logs_.find(origin);
  return it == logs_.end() ? "" : it->second->held.note;
}

}  // namespace tenantai::audit
