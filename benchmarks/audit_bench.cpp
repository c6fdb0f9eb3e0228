// audit_bench: the tenantai audit log (Merkle tree + Ed25519 checkpoints over batches, sealed
// bodies) side by side with the per-event-signature design (Ed25519 over every event), in one
// process, single thread, on the same disk.
//
//   ./audit_bench [events=300000]
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <tenantai/audit.h>
#include <tenantai/core.h>
#include <tenantai/crypto.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <stdlib.h>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace tenantai;
using namespace tenantai::audit;
using Clock = std::chrono::steady_clock;

namespace {

// An authenticated context for one tenant (the library's own ApiKeyAuthenticator).
TenantContext context_for(ApiKeyAuthenticator& auth, const std::string& tenant) {
  const auto key = auth.issue(Principal{TenantId(tenant), "bench-user", {}, {}});
  return auth.authenticate(key.secret).value();
}

AuditEvent sample_event(std::uint64_t i) {
  AuditEvent e;
  e.operation = Operation::Infer;
  e.target = "session-" + std::to_string(i % 1000);
  e.model_id = "llama-3.1-8b-instruct";
  e.prompt_version = "support-v12";
  e.input_digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  e.output_digest = "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
  return e;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of this process: on a shared machine wall time also counts other processes' turns.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and CPU rates of one measured phase.
struct Rate {
  double wall = 0;
  double cpu = 0;
};

template <typename F>
Rate measure(std::uint64_t events, F&& body) {
  const auto t0 = Clock::now();
  const double c0 = cpu_now();
  body();
  return {static_cast<double>(events) / seconds_since(t0), static_cast<double>(events) / (cpu_now() - c0)};
}

// The peer: every event sealed the same way, then signed with Ed25519 on its own and appended.
struct PerEventSignatureLog {
  explicit PerEventSignatureLog(const std::string& path) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    crypto_sign_keypair(pk, sk);
  }
  ~PerEventSignatureLog() { ::close(fd); }
  void append(std::string_view payload) {
    frame.assign(payload);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), sk);
    frame.append(reinterpret_cast<const char*>(sig), sizeof sig);
    if (::write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) std::abort();
    records.push_back(std::string(payload));
    sigs.emplace_back(reinterpret_cast<const char*>(sig), sizeof sig);
  }
  bool verify_all() const {
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sigs[i].data()),
                                      reinterpret_cast<const unsigned char*>(records[i].data()), records[i].size(),
                                      pk) != 0) {
        return false;
      }
    }
    return true;
  }
  int fd;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  std::string frame;
  std::vector<std::string> records;
  std::vector<std::string> sigs;
};

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300000;
  const auto dir = std::filesystem::temp_directory_path() / ("audit_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ApiKeyAuthenticator auth;
  const TenantContext ctx = context_for(auth, "bench-tenant");
  const TenantContext plain_ctx = context_for(auth, "bench-plain");

  crypto::LocalKeyProvider keys(dir / "keys");
  crypto::EnvelopeSealer sealer(keys, dir / "keyrings");
  const auto signer = CheckpointSigner::generate("bench-log");
  const auto verifier = CheckpointVerifier::parse(signer.verifier_key()).value();

  std::printf("audit_bench: %llu events, single thread, libsodium %s, dir %s\n",
              static_cast<unsigned long long>(n), sodium_version_string(), dir.c_str());

  // 1. tenantai: sealed bodies, Merkle leaves, a signed checkpoint every 4096 events (fsync each).
  Rate tenantai_append;
  {
    AuditLog log(dir / "sealed", {.signer = &signer, .body_sealer = &sealer});
    with_tenant(ctx, [&](auto scope) {
      (void)log.append(scope, sample_event(0));  // warm: creates the data key
      tenantai_append = measure(n - 1, [&] {
        for (std::uint64_t i = 1; i < n; ++i) (void)log.append(scope, sample_event(i));
        (void)log.checkpoint(scope);
      });
    });
  }
  // 1b. the same without body sealing (what encryption costs).
  Rate plain_append;
  {
    AuditLog log(dir / "plain", {.signer = &signer});
    with_tenant(plain_ctx, [&](auto scope) {
      plain_append = measure(n, [&] {
        for (std::uint64_t i = 0; i < n; ++i) (void)log.append(scope, sample_event(i));
        (void)log.checkpoint(scope);
      });
    });
  }
  // 2. verify the sealed log from disk against its signed checkpoints (no tenant key).
  bool verified = false;
  const Rate tenantai_verify = measure(n, [&] {
    auto report = verify_log(dir / "sealed", TenantId("bench-tenant"), verifier);
    verified = report.ok() && report->events == n;
  });
  if (!verified) {
    std::printf("verification FAILED\n");
    return 1;
  }
  // 3. peer: per-event Ed25519 over the same sealed payloads.
  Rate peer_append;
  Rate peer_verify;
  {
    PerEventSignatureLog peer((dir / "peer.log").string());
    peer_append = measure(n, [&] {
      for (std::uint64_t i = 0; i < n; ++i) {
        const AuditEvent e = sample_event(i);
        std::string body = e.target + e.model_id + e.prompt_version + e.input_digest + e.output_digest;
        peer.append(sealer.seal(ctx, "audit-event", std::to_string(i), body));
      }
      ::fdatasync(peer.fd);
    });
    bool ok = false;
    peer_verify = measure(n, [&] { ok = peer.verify_all(); });
    if (!ok) return 1;
  }

  double load[3] = {0, 0, 0};
  (void)getloadavg(load, 3);
  std::printf("load average at the end: %.2f (on %u cores)\n", load[0], std::thread::hardware_concurrency());
  std::printf("\n%-52s %12s %12s %12s %12s\n", "design (events/s)", "append wall", "append cpu", "verify wall",
              "verify cpu");
  std::printf("%-52s %12.0f %12.0f %12.0f %12.0f\n", "tenantai: sealed bodies + Merkle + batch checkpoints",
              tenantai_append.wall, tenantai_append.cpu, tenantai_verify.wall, tenantai_verify.cpu);
  std::printf("%-52s %12.0f %12.0f %12s %12s\n", "tenantai: clear bodies + Merkle + batch checkpoints",
              plain_append.wall, plain_append.cpu, "-", "-");
  std::printf("%-52s %12.0f %12.0f %12.0f %12.0f\n", "peer: sealed bodies + Ed25519 per event", peer_append.wall,
              peer_append.cpu, peer_verify.wall, peer_verify.cpu);
  std::printf("\nratio tenantai/peer (cpu): append %.1fx, verify %.1fx\n", tenantai_append.cpu / peer_append.cpu,
              tenantai_verify.cpu / peer_verify.cpu);
  std::printf("acceptance (per CPU-second of one thread): append >= 200000 ev/s: %s; verify >= 500000 ev/s: %s\n",
              tenantai_append.cpu >= 200000 ? "met" : "NOT met", tenantai_verify.cpu >= 500000 ? "met" : "NOT met");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
