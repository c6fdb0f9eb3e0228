// Witness cosignatures (C2SP tlog-cosignature) and the witness service (C2SP tlog-witness),
// over checkpoints and proofs of a real AuditLog.
#include <catch2/catch.hpp>
#include <sodium.h>
#include <sys/stat.h>

#include <cstring>

#include "support/error_code.h"
#include "unit/audit/witness_fixture.h"

using namespace witness_test;
using tenantai::test_support::code_of;
using tenantai::test_support::TempDir;

namespace {

constexpr std::uint64_t kTime = 1679315147;

// Decodes the base64 of a "— <name> <base64>\n" line.
std::string line_bytes(const std::string& line) {
  const auto sp = line.rfind(' ');
  return from_base64(std::string_view(line).substr(sp + 1, line.size() - sp - 2)).value();
}

// The cosigned note: the checkpoint note with the cosignature line appended.
std::string with_line(const Checkpoint& cp, const std::string& line) { return cp.note + line; }

}  // namespace

TEST_CASE("Witness: a cosignature round-trips and carries its timestamp") {
  TenantLogUnderTest log("acme");
  const Checkpoint cp = log.grow(3);
  const auto signer = CosignatureSigner::generate("witness.example/w1");
  const std::string line = signer.cosign(cp, kTime);
  CHECK(line.rfind("\xE2\x80\x94 witness.example/w1 ", 0) == 0);
  CHECK(line.back() == '\n');
  CHECK(line_bytes(line).size() == 4 + 8 + 64);

  const auto verifier = CosignatureVerifier::parse(signer.verifier_key()).value();
  CHECK(verifier.name() == "witness.example/w1");
  CHECK(verifier.key() == signer.verifier_key());
  auto ok = verifier.verify(with_line(cp, line));
  REQUIRE(ok.ok());
  CHECK(*ok == kTime);
  // The log's own signature is still there and still verifies.
  CHECK(CheckpointVerifier::parse(log.signer().verifier_key())->verify(with_line(cp, line), log.origin()).ok());
  // A checkpoint without this witness's line: NotFound, not Tampered.
  CHECK(verifier.verify(cp.note).error().code() == ErrorCode::NotFound);
  // Timestamps are 1 .. 2^63-1.
  CHECK(code_of([&] { (void)signer.cosign(cp, 0); }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] { (void)signer.cosign(cp, std::uint64_t{1} << 63); }) == ErrorCode::InvalidArgument);
}

TEST_CASE("Witness: known answer, recomputed from the tlog-cosignature spec") {
  TenantLogUnderTest log("acme");
  const Checkpoint cp = log.grow(5);
  const auto signer = CosignatureSigner::generate("witness.example/kat");
  const std::string vkey = signer.verifier_key();
  const std::string line = signer.cosign(cp, kTime);

  // The verifier key: name + hex(key ID) + base64(0x04 || public key).
  const auto p1 = vkey.find('+');
  const auto p2 = vkey.find('+', p1 + 1);
  const std::string raw = from_base64(vkey.substr(p2 + 1)).value();
  REQUIRE(raw.size() == 33);
  CHECK(static_cast<unsigned char>(raw[0]) == 0x04);
  const auto* pk = reinterpret_cast<const unsigned char*>(raw.data() + 1);
  // key ID = SHA-256(name || "\n" || 0x04 || pk)[:4]
  std::string id_input = "witness.example/kat\n";
  id_input += '\x04';
  id_input.append(raw.data() + 1, 32);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(id_input.data()), id_input.size());
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, digest, 4);
  CHECK(vkey.substr(p1 + 1, p2 - p1 - 1) == hex);

  // Signature bytes: key ID || u64 big-endian timestamp || Ed25519 over the message.
  const std::string sig = line_bytes(line);
  REQUIRE(sig.size() == 76);
  CHECK(std::memcmp(sig.data(), digest, 4) == 0);
  const unsigned char expected_ts[8] = {0x00, 0x00, 0x00, 0x00, 0x64, 0x18, 0x50, 0xCB};  // 1679315147
  CHECK(std::memcmp(sig.data() + 4, expected_ts, 8) == 0);
  const std::string message = "cosignature/v1\ntime 1679315147\n" + log.origin() + "\n5\n" +
                              to_base64(cp.root.data(), cp.root.size()) + "\n";
  CHECK(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data() + 12),
                                    reinterpret_cast<const unsigned char*>(message.data()), message.size(), pk) == 0);
  // Signed-note type 0x01 over the same key would be another key ID: the line is not ours then.
  CHECK_FALSE(CheckpointVerifier::parse(vkey).ok());
}

TEST_CASE("Witness: tampered lines, wrong keys and key hash mismatches are refused") {
  TenantLogUnderTest log("acme");
  const Checkpoint cp = log.grow(2);
  const auto signer = CosignatureSigner::generate("witness.example/w1");
  const auto verifier = CosignatureVerifier::parse(signer.verifier_key()).value();
  const std::string line = signer.cosign(cp, kTime);

  SECTION("a changed checkpoint body") {
    std::string note = with_line(cp, line);
    note.replace(note.find("\n2\n"), 3, "\n3\n");
    CHECK(verifier.verify(note).error().code() == ErrorCode::Tampered);
  }
  SECTION("a changed timestamp or signature byte") {
    for (std::size_t at : {5, 11, 20, 75}) {
      std::string sig = line_bytes(line);
      sig[at] = static_cast<char>(sig[at] ^ 0x01);
      const std::string forged = "\xE2\x80\x94 witness.example/w1 " +
                                 to_base64(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()) + "\n";
      CHECK(verifier.verify(with_line(cp, forged)).error().code() == ErrorCode::Tampered);
    }
  }
  SECTION("another key of the same name is ignored; its verifier does not accept the line") {
    const auto other = CosignatureSigner::generate("witness.example/w1");
    const auto other_verifier = CosignatureVerifier::parse(other.verifier_key()).value();
    CHECK(other_verifier.verify(with_line(cp, line)).error().code() == ErrorCode::NotFound);
    CHECK(verifier.verify(with_line(cp, other.cosign(cp, kTime))).error().code() == ErrorCode::NotFound);
  }
  SECTION("verifier keys: hash mismatch, wrong type, malformed") {
    std::string vkey = signer.verifier_key();
    const auto p1 = vkey.find('+');
    vkey[p1 + 1] = vkey[p1 + 1] == '0' ? '1' : '0';
    CHECK(CosignatureVerifier::parse(vkey).error().code() == ErrorCode::InvalidArgument);
    CHECK(CosignatureVerifier::parse(log.signer().verifier_key()).error().code() == ErrorCode::InvalidArgument);
    CHECK_FALSE(CosignatureVerifier::parse("no-plus").ok());
    CHECK_FALSE(CosignatureVerifier::parse("a+b+c").ok());
  }
  SECTION("a malformed note") {
    CHECK(verifier.verify("garbage").error().code() == ErrorCode::Tampered);
    CHECK(verifier.verify(cp.note + "not a signature line\n").error().code() == ErrorCode::Tampered);
  }
}

TEST_CASE("Witness: cosigner keys round-trip through a 0600 file of their own kind") {
  TempDir dir;
  const auto signer = CosignatureSigner::generate("witness.example/w1");
  const std::string path = dir.path() + "/witness.key";
  signer.save(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(CosignatureSigner::load(path).verifier_key() == signer.verifier_key());
  CHECK(code_of([&] { signer.save(path); }) == ErrorCode::AlreadyExists);
  CHECK(code_of([] { CosignatureSigner::generate("has space"); }) == ErrorCode::InvalidArgument);
  // A log's checkpoint signing key is not a cosigner key (one key, one signature type).
  const std::string log_key = dir.path() + "/log.key";
  CheckpointSigner::generate("log").save(log_key);
  CHECK(code_of([&] { CosignatureSigner::load(log_key); }) == ErrorCode::InvalidArgument);
  CHECK(code_of([&] { CosignatureSigner::load(dir.path() + "/missing"); }) == ErrorCode::StorageFailure);
}

TEST_CASE("Witness: verify_cosignatures counts distinct valid witnesses against a quorum") {
  TenantLogUnderTest log("acme");
  const Checkpoint cp = log.grow(4);
  const auto w1 = CosignatureSigner::generate("w1");
  const auto w2 = CosignatureSigner::generate("w2");
  const auto w3 = CosignatureSigner::generate("w3");
  std::vector<CosignatureVerifier> all = {CosignatureVerifier::parse(w1.verifier_key()).value(),
                                          CosignatureVerifier::parse(w2.verifier_key()).value(),
                                          CosignatureVerifier::parse(w3.verifier_key()).value()};
  const std::string note = cp.note + w1.cosign(cp, kTime) + w2.cosign(cp, kTime + 1);
  CHECK(verify_cosignatures(note, all, 2).value() == 2);
  auto short_of = verify_cosignatures(note, all, 3);
  CHECK(short_of.error().code() == ErrorCode::NotFound);
  CHECK(short_of.error().message().find("2 of 3 cosignatures, quorum 3") != std::string::npos);
  // The same key listed twice counts once.
  std::vector<CosignatureVerifier> twice = {all[0], all[0]};
  CHECK(verify_cosignatures(note, twice, 2).error().code() == ErrorCode::NotFound);
  // A bad line by a listed witness is Tampered, naming it.
  std::string forged = note;
  forged.replace(forged.find("\n4\n"), 3, "\n5\n");
  auto tampered = verify_cosignatures(forged, all, 1);
  CHECK(tampered.error().code() == ErrorCode::Tampered);
  CHECK(tampered.error().message().find("\"w1\"") != std::string::npos);
  CHECK(verify_cosignatures(cp.note, {}, 0).value() == 0);
}
