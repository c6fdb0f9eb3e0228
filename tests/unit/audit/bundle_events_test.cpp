// The readable event lines of an export bundle are evidence too: each must be the event its
// record's header commits to (through the body digest, or for sealed bodies the salted clear
// digest), so an edited, faked or dropped line fails verify_bundle, sealed or clear.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit_fixture.h"

using namespace audit_test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string export_of(AuditFixture& f, const std::string& name) {
  const auto path = f.root() / name;
  with_tenant(f.a, [&](auto scope) {
    FileSink sink(path);
    (void)f.log->export_bundle(scope, sink);
  });
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t first_event_line(const std::vector<std::string>& lines, const std::string& needle) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"event\"") != std::string::npos && lines[i].find(needle) != std::string::npos) return i;
  }
  FAIL("no event line with " << needle);
  return 0;
}

}  // namespace

TEST_CASE("Bundle event lines: edited, fake, repeated or missing lines fail verification") {
  const bool sealed = GENERATE(true, false);
  INFO((sealed ? "sealed bodies" : "clear bodies"));
  AuditFixture f(sealed);
  append_n(*f.log, f.a, 12, "canary-a");
  const auto lines = lines_of(export_of(f, "a.jsonl"));
  const TenantId tenant("tenant-a");
  auto report = verify_bundle(joined(lines), tenant, f.verifier());
  REQUIRE(report.ok());
  CHECK(report->events_checked == 12);
  const std::size_t at = first_event_line(lines, "canary-a-3");

  auto refused = [&](std::vector<std::string> edited, const std::string& why) {
    INFO(why);
    auto r = verify_bundle(joined(edited), tenant, f.verifier());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Tampered);
    CHECK_THAT(r.error().message(), Catch::Contains("first bad index"));
  };
  {
    auto edited = lines;
    const auto pos = edited[at].find("canary-a-3");
    edited[at].replace(pos, 10, "canary-a-9");
    refused(edited, "edited field");
  }
  {
    auto edited = lines;
    edited.erase(edited.begin() + static_cast<std::ptrdiff_t>(at));
    refused(edited, "missing line");
  }
  {
    auto edited = lines;
    edited.push_back(edited[at]);
    refused(edited, "repeated line");
  }
  {
    auto edited = lines;
    auto fake = edited[at];
    fake.replace(fake.find("\"index\":3"), 9, "\"index\":99");
    edited.push_back(fake);
    refused(edited, "fake line for a record the bundle does not hold");
  }
  {
    auto edited = lines;
    edited[at] = "{\"type\":\"unreadable\",\"index\":3}";
    if (sealed) {  // a sealed record may be unreadable (key destroyed): counted, not hidden
      auto r = verify_bundle(joined(edited), tenant, f.verifier());
      REQUIRE(r.ok());
      CHECK(r->unreadable == 1);
      CHECK(r->events_checked == 11);
    } else {
      refused(edited, "a clear record claimed unreadable");
    }
  }
  if (sealed) {  // the salt and clear body are what the digest covers
    auto edited = lines;
    auto j = nlohmann::ordered_json::parse(edited[at]);
    j["tenantai.record.body"] = j["tenantai.record.salt"];
    edited[at] = j.dump();
    refused(edited, "sealed body swapped");
  }
}
