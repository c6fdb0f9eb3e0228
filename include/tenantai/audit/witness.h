// Witnesses (C2SP tlog-witness, tlog-cosignature): independent parties that hold the last
// checkpoint they cosigned for each log, verify a consistency proof from it to every new one,
// and cosign. A witness refuses a rollback (smaller size) and a fork (a different tree of a size
// it holds), so a log rewritten by whoever holds its disk cannot get a new cosignature.
//
//   Log side:     auto w = server::make_http_witness({.host = "127.0.0.1", .port = 7380,
//                                             .verifier_key = "witness.example/w1+..."});
//                 WitnessReply r = w->add_checkpoint(old_size, proof, checkpoint.note);
//   Witness side: WitnessService service(CosignatureSigner::load(path), logs, state_path);
//                 auto response = service.add_checkpoint(request_body);   // tools/tenantai-witness
//   Verifier:     CosignatureVerifier::parse(witness_key)->verify(cosigned_note);
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/merkle.h"
#include "tenantai/core/error.h"

namespace tenantai::audit {

namespace detail {
struct WitnessedCheckpoint;  // src/audit/witness_state.h
}  // namespace detail

// An Ed25519 cosigner key (C2SP tlog-cosignature "cosignature/v1", signature type 0x04), held in
// guarded memory. Thread-safe (const use). Names follow signed-note key names (no spaces, '+').
class CosignatureSigner {
 public:
  // A fresh random key (InvalidArgument for an invalid name).
  static CosignatureSigner generate(std::string name);
  // Reads a key file written by save(); StorageFailure / InvalidArgument naming the path.
  static CosignatureSigner load(const std::string& path);

  ~CosignatureSigner();
  CosignatureSigner(CosignatureSigner&& other) noexcept;
  CosignatureSigner& operator=(CosignatureSigner&&) = delete;
  CosignatureSigner(const CosignatureSigner&) = delete;
  CosignatureSigner& operator=(const CosignatureSigner&) = delete;

  // Writes the key with mode 0600 (AlreadyExists if the file exists; StorageFailure on I/O).
  void save(const std::string& path) const;

  const std::string& name() const noexcept { return name_; }
  // "<name>+<key hash hex>+<base64(0x04 || public key)>"; key hash = SHA-256(name || 0x0A ||
  // 0x04 || public key)[0:4].
  std::string verifier_key() const;

  // One note signature line, "— <name> base64(key hash[4] || timestamp u64 big-endian ||
  // Ed25519 signature[64])\n", over "cosignature/v1\ntime <timestamp_s>\n" + checkpoint.body().
  std::string cosign(const Checkpoint& checkpoint, std::uint64_t timestamp_s) const;

 private:
  CosignatureSigner(std::string name, const unsigned char* seed);
  std::string name_{};
  unsigned char* secret_ = nullptr;  // 64-byte Ed25519 secret key, sodium_malloc'ed
  std::array<unsigned char, 32> public_{};
};

// Checks one cosigner's signature on a checkpoint note. Immutable; thread-safe.
class CosignatureVerifier {
 public:
  // Parses a cosigner verifier key; InvalidArgument if malformed, not type 0x04, or its hash does
  // not match.
  static Result<CosignatureVerifier> parse(std::string_view verifier_key);

  // Finds this cosigner's line in `note` (a checkpoint with signature lines) and checks it over
  // the note's body. Returns the cosignature's timestamp (seconds). NotFound when no line carries
  // this key's name and hash; Tampered when one does and does not verify or the note is malformed.
  Result<std::uint64_t> verify(std::string_view note) const;

  const std::string& name() const noexcept { return name_; }
  const std::string& key() const noexcept { return key_; }  // the verifier key string parsed

 private:
  CosignatureVerifier() = default;
  std::string name_{};
  std::string key_{};
  std::array<unsigned char, 4> key_hash_{};
  std::array<unsigned char, 32> public_{};
};

// What a witness said to one add-checkpoint submission.
struct WitnessReply {
  enum class Status {
    Cosigned,     // 200: `cosignature` holds the witness's signature line(s)
    Conflict,     // 409: the witness holds another size for this log (`witness_size`)
    Refused,      // 403 / 422 / 400 / 404 (or another 4xx, or a reply that does not verify): bad
                  // signature, bad proof (a fork or rewrite), rollback, unknown log
    Unavailable,  // no answer (connection refused, timeout, 5xx)
  };
  Status status = Status::Unavailable;
  std::string cosignature{};       // Cosigned: "— <name> <base64>\n" lines
  std::uint64_t witness_size = 0;  // Conflict: the size of the checkpoint the witness holds
  int http_status = 0;             // 0 when there was no HTTP answer
  std::string message{};           // why, for logs and errors
};

// One witness as a log sees it. Implementations are thread-safe and never throw for a witness
// that is down or answers badly: they return Unavailable / Refused.
class Witness {
 public:
  virtual ~Witness() = default;
  // The witness's cosigner key (its name identifies it in messages).
  virtual const CosignatureVerifier& verifier() const = 0;
  // Submits `note` (a checkpoint signed by the log) with a consistency proof from `old_size`
  // (the size the caller believes the witness holds; 0 and no proof for a first submission).
  // A Cosigned reply's lines are checked against verifier() before it is returned (a reply that
  // does not verify is Refused).
  virtual WitnessReply add_checkpoint(std::uint64_t old_size, const std::vector<Hash>& proof,
                                      std::string_view note) = 0;
};

// Which witnesses a tenant's log submits to, and how many cosignatures make a checkpoint
// "published". quorum 0 with no witnesses: the log is unwitnessed (the embedded default).
struct WitnessPolicy {
  std::vector<std::shared_ptr<Witness>> witnesses{};
  std::size_t quorum = 0;
};

// Checks that `note` carries at least `quorum` valid cosignatures from `witnesses` (distinct
// keys). Tampered naming the witness when a line by one of them does not verify; NotFound
// ("k of n cosignatures, quorum q") when fewer than quorum are present.
Result<std::size_t> verify_cosignatures(std::string_view note, const std::vector<CosignatureVerifier>& witnesses,
                                        std::size_t quorum);

// A log the witness service accepts checkpoints for.
struct WitnessedLog {
  std::string origin{};            // e.g. "tenantai.audit/acme-bank"
  std::string log_verifier_key{};  // the log's signed-note key ("<name>+<hash>+<key>")
};

// The witness side of C2SP tlog-witness, without the HTTP transport (tools/tenantai-witness
// serves it). Holds, per known origin, the last checkpoint it cosigned, in `state_path`
// (rewritten atomically and fsynced before a cosignature is returned, so a restart never
// forgets what it signed). Thread-safe (one mutex).
class WitnessService {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body{};
  };

  // Loads the state file if present. StorageFailure (unreadable) / Tampered (malformed state)
  // naming the path; InvalidArgument for a malformed log key or a duplicate origin.
  WitnessService(CosignatureSigner signer, std::vector<WitnessedLog> logs, std::filesystem::path state_path,
                 std::function<std::uint64_t()> clock_s = nullptr);

  // Handles one add-checkpoint request body ("old <size>\n", proof lines, "\n", checkpoint note)
  // as the spec says, checking in this order: 400 for a malformed body or note; 404 for an
  // unknown origin; 403 when no signature by the origin's configured log key verifies (a note
  // signed by another log's key is never accepted for this origin); 400 when old > the
  // checkpoint's size (a rollback submitted against the held size); 409 with "<size>\n" (content
  // type text/x.tlog.size) when `old` is not the size it holds (a rollback or stale client);
  // 422 when the tree does not follow: size 0 without the empty tree's root, a proof from size
  // 0, another root at the held size (fork), a consistency proof that does not verify (rewrite).
  // 200 with the cosignature line (text/plain) after the new state is durable. Never throws;
  // 500 if the state cannot be persisted (and nothing is cosigned).
  Response add_checkpoint(std::string_view request_body);

  // The checkpoint text (note without signatures) last cosigned for `origin` (empty if none).
  std::string latest(std::string_view origin) const;
  // The checkpoint note last cosigned for `origin` as submitted by the log plus this witness's
  // cosignature line (what tlog-witness's monitoring GET serves); empty if none.
  std::string latest_note(std::string_view origin) const;
  const CosignatureSigner& signer() const noexcept { return signer_; }

 private:
  struct LogState;
  void configure(const WitnessedLog& log);  // InvalidArgument
  void load_state();                        // StorageFailure / Tampered
  // Writes every held checkpoint, with `next` for `origin`, to state_path_ (atomic, fsynced).
  void persist(const std::string& origin, const detail::WitnessedCheckpoint& next) const;
  CosignatureSigner signer_;
  std::filesystem::path state_path_;
  std::function<std::uint64_t()> clock_s_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<LogState>, std::less<>> logs_;
};

}  // namespace tenantai::audit
