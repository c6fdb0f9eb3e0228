// HttpLeakProbe: the black-box twin of LeakProbe, for a vendor's customer. It needs nothing but
// a running tenantai server's URL and two or more API keys (of different tenants, and actors of
// one tenant with different ACL groups, adversarially named ones included). Through each key it
// plants random canaries (in document ids and texts, one document per ACL group the key holds
// plus one public document), then through every other key it probes retrieval (/v1/query),
// chat (/v1/chat: an identical prompt asked most-visible-key-first and least-visible-key-first,
// case/punctuation paraphrases for the semantic cache, the same prompt from every key at once)
// and the audit view (/v1/audit), from many threads at once, and reports every canary that
// reaches a key that may not see it, with the layer it crossed in.
//
//   auto options = testing::load_http_probe_config("probe.json").value();
//   options.port = 8088;
//   auto report = testing::HttpLeakProbe(options).run();
//   if (!report.clean()) std::cerr << report.summary();
//
// A canary planted by tenant T in a document with ACL groups G may be seen by key O iff O's
// tenant is T and G is empty or O holds a group of G. In the audit view only another tenant's
// canary counts (an auditor of T may see every document id of T).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/testing/leak_probe.h"

namespace tenantai::testing {

// One API key the probe acts through, as the server provisioned it. Plain data.
struct HttpProbeKey {
  std::string label;                // names the key in findings; the secret is never printed
  std::string tenant;               // the tenant the server maps the key to
  std::string actor;
  std::vector<std::string> groups;  // the key's ACL groups, exactly as the server has them
  std::string secret;               // "tai_..."
  bool audit = false;               // holds admin:export or audit:read (else /v1/audit must refuse it)
};

// Plain data. `host` must be an IP literal or a name getaddrinfo resolves.
struct HttpLeakProbeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<HttpProbeKey> keys;   // at least two
  std::size_t threads = 8;          // workers running the observer jobs (at least 1)
  std::size_t rounds = 2;           // passes over the whole matrix, fresh prompts each pass (at least 1)
};

// Reads a probe config {"keys":[{"label","tenant","actor","groups","secret","audit"}, ...]}.
// Never throws: an unreadable file is StorageFailure naming the file, a malformed one
// InvalidArgument naming the field ("keys[2].secret: must be a string"); unknown fields, fewer
// than two keys and duplicate labels or secrets are refused too. host/port keep their defaults.
Result<HttpLeakProbeOptions> load_http_probe_config(const std::string& path);

// The same, from JSON text (errors as above, without the file name).
Result<HttpLeakProbeOptions> parse_http_probe_config(std::string_view json_text);

// Where the server listens, parsed from "http://HOST:PORT[/]" (an IPv6 host in brackets).
// Plain data.
struct HttpProbeEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

// Never throws: anything but an http:// URL with a host and a port 1..65535 (https, a path,
// credentials, a missing port) is InvalidArgument saying what is wrong.
Result<HttpProbeEndpoint> parse_probe_url(std::string_view url);

// Not thread-safe itself (run() uses its own worker threads); one run() at a time. run() never
// throws on server misbehaviour: failed requests, non-2xx statuses where 2xx is expected and
// unparseable bodies are LeakReport::errors (a finding: the report is then not clean), as is a
// key whose /v1/query never returned a single canary it may see (the probe could not tell an
// isolated server from an empty one); when no key can plant at all, it stops there with that
// error. It throws InvalidArgument only for unusable options (fewer than two keys, duplicate
// labels or secrets, port 0, rounds 0) and std::bad_alloc.
class HttpLeakProbe {
 public:
  explicit HttpLeakProbe(HttpLeakProbeOptions options);

  // Plants, probes every observer × layer for `rounds` passes on `threads` workers, scans
  // every response for every canary of the run. LeakReport::tenants counts distinct tenants.
  LeakReport run();

  // After run(): key label → layer → responses of that key scanned (a chat answer counts under
  // the layer that served it: "chat", "response_cache" or "semantic_cache").
  const std::map<std::string, std::map<std::string, std::size_t>>& checks_by_key() const noexcept {
    return checks_by_key_;
  }

 private:
  HttpLeakProbeOptions options_;
  std::map<std::string, std::map<std::string, std::size_t>> checks_by_key_;
};

}  // namespace tenantai::testing
