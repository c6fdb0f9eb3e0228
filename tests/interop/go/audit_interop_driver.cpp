// Writes a real tenant audit log's verification material for verify_audit.go, which checks it
// with Go's golang.org/x/mod/sumdb/note and sumdb/tlog (code this project did not write).
//
//   audit_interop_driver <out-dir>
//
// The log is built by tenantai::audit::AuditLog in a temporary directory: a few dozen events
// over several checkpoints, signed by a CheckpointSigner whose key name is the log origin (as
// C2SP tlog-checkpoint asks). Written to <out-dir>:
//   log.vkey            the log's verifier key (signed-note form)
//   checkpoint.old      an earlier signed checkpoint note
//   checkpoint.new      the latest signed checkpoint note, with a witness cosignature line
//   witness.vkey        the witness's cosigner key (C2SP tlog-cosignature, type 0x04)
//   proofs.txt          one proof per line, fields separated by one space, hashes in base64:
//                         inclusion <index> <tree size> <base64 leaf preimage> <base64 leaf> <hash>...
//                         consistency <old size> <new size> <hash>...
//
// Proof hashes are written in the order AuditLog returns them (RFC 9162 audit paths and
// consistency proofs, leaf end first). tlog.RecordProof and tlog.TreeProof use that same order
// (tlog checks CT's audit_path / consistency JSON directly in its ct_test.go), so no
// conversion is needed; verify_audit.go would fail if they differed.
//
// White-box: leaf preimages come from the stored frames (src/audit/record_codec.h), through
// detail::leaf_preimage, the definition of what a leaf hashes.
#include <tenantai/audit.h>
#include <tenantai/audit/witness.h>
#include <tenantai/core.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/record_codec.h"
#include "support/test_auth.h"

namespace {

using namespace tenantai;
using namespace tenantai::audit;

std::string b64(std::string_view bytes) {
  return to_base64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}
std::string b64(const Hash& hash) { return to_base64(hash.data(), hash.size()); }

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

template <typename Scope>
void append_events(AuditLog& log, const Scope& scope, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    AuditEvent event;
    event.operation = (i % 3 == 0) ? Operation::Retrieve : Operation::Infer;
    event.target = "doc-" + std::to_string(i);
    event.model_id = "interop-model";
    event.input_digest = "sha256:" + std::string(64, static_cast<char>('a' + i % 6));
    event.detail = "interop event " + std::to_string(i);
    (void)scope.release(log.append(scope, event));
  }
}

int run(const std::filesystem::path& out_dir) {
  std::filesystem::create_directories(out_dir);
  const TenantId tenant("interop-tenant");
  const std::string origin = origin_for(tenant);
  // The signer's key name is the origin line, so a checkpoint's signature names its log.
  const CheckpointSigner signer = CheckpointSigner::generate(origin);

  test_support::TempDir dir;
  AuditLogOptions options;
  options.signer = &signer;
  options.checkpoint_every_events = 1u << 20;  // only the checkpoints signed below
  options.checkpoint_every = std::chrono::hours(24);
  AuditLog log(std::filesystem::path(dir.path()) / "audit", options);
  const TenantContext context = test_support::context_for(tenant.str());

  // Checkpoints at 7, 13, 22 and 37 events; 13 (old) and 37 (new) are exported. Neither is a
  // power of two, so the consistency proof has interior hashes on both sides.
  const int sizes[] = {7, 13, 22, 37};
  const int old_size = 13;
  Checkpoint old_cp, new_cp;
  std::string frames;
  with_tenant(context, [&](auto scope) {
    int appended = 0;
    for (int size : sizes) {
      append_events(log, scope, appended, size - appended);
      appended = size;
      Checkpoint cp = scope.release(log.checkpoint(scope));
      if (cp.size != static_cast<std::uint64_t>(size)) {
        throw std::runtime_error("checkpoint size " + std::to_string(cp.size) + ", expected " +
                                 std::to_string(size));
      }
      if (size == old_size) old_cp = cp;
      new_cp = cp;
    }
    // The stored records as whoever holds the storage sees them (after the last checkpoint, so
    // every record is written).
    frames = log.storage().open(tenant, OpenMode::ReadOnly)->read_records(0, new_cp.size);

    std::ostringstream proofs;
    const auto stored = audit::detail::split_frames(frames);
    if (stored.size() != new_cp.size) throw std::runtime_error("stored record count differs");
    auto inclusion = [&](std::uint64_t index, std::uint64_t tree_size) {
      const InclusionProof proof = scope.release(log.prove_inclusion(scope, index, tree_size));
      proofs << "inclusion " << index << ' ' << tree_size << ' '
             << b64(audit::detail::leaf_preimage(stored[index].payload)) << ' ' << b64(proof.leaf);
      for (const Hash& h : proof.path) proofs << ' ' << b64(h);
      proofs << '\n';
    };
    // First, last, leaves at subtree edges, in both trees.
    for (std::uint64_t index : {0u, 1u, 8u, 12u, 13u, 20u, 31u, 32u, 36u}) inclusion(index, new_cp.size);
    for (std::uint64_t index : {0u, 5u, 12u}) inclusion(index, old_cp.size);
    const ConsistencyProof consistency =
        scope.release(log.prove_consistency(scope, old_cp.size, new_cp.size));
    proofs << "consistency " << consistency.old_size << ' ' << consistency.new_size;
    for (const Hash& h : consistency.path) proofs << ' ' << b64(h);
    proofs << '\n';
    write_file(out_dir / "proofs.txt", proofs.str());
  });

  // A witness's cosignature on the new checkpoint, appended as one more signature line.
  const CosignatureSigner witness = CosignatureSigner::generate("witness.test/w1");
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const auto now_s =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
  const std::string cosignature = witness.cosign(new_cp, now_s);

  write_file(out_dir / "log.vkey", signer.verifier_key() + "\n");
  write_file(out_dir / "witness.vkey", witness.verifier_key() + "\n");
  write_file(out_dir / "checkpoint.old", old_cp.note);
  write_file(out_dir / "checkpoint.new", new_cp.note + cosignature);
  std::cout << "driver: log " << origin << ", checkpoints " << old_cp.size << " and " << new_cp.size
            << ", cosigned by " << witness.name() << " at " << now_s << ", written to " << out_dir.string()
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: audit_interop_driver <out-dir>\n";
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "driver: " << e.what() << "\n";
    return 1;
  }
}
