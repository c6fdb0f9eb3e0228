// The LogStorage contract, checked on both implementations (files and memory).
#include <catch2/catch.hpp>

#include "audit_fixture.h"
#include "support/error_code.h"

using namespace audit_test;
using tenantai::test_support::code_of;

namespace {

// A well-framed record (tag, u32le length, payload, 32-byte leaf); storage never checks hashes.
std::string frame_of(const std::string& payload) {
  std::string out(1, 'E');
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
  return out + payload + std::string(32, 'h');
}

std::shared_ptr<LogStorage> make_storage(StorageKind kind, const std::filesystem::path& dir) {
  if (kind == StorageKind::Memory) return std::make_shared<MemoryLogStorage>();
  return std::make_shared<FileLogStorage>(dir / "audit");
}

std::vector<std::string> scanned(TenantLogStreams& streams) {
  std::vector<std::string> out;
  const RecordScan scan = streams.scan_records([&](std::string_view f) {
    out.emplace_back(f);
    return true;
  });
  CHECK(scan.records == out.size());
  CHECK_FALSE(scan.torn);
  CHECK_FALSE(scan.broken);
  return out;
}

}  // namespace

TEST_CASE("LogStorage contract: records and checkpoints are appended, read, cut, replaced and erased per tenant") {
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  test_support::TempDir dir;
  auto storage = make_storage(kind, dir.path());
  const TenantId a("tenant-a");
  const TenantId b("tenant-b");
  CHECK(code_of([&] { storage->open(a, OpenMode::ReadOnly); }) == ErrorCode::NotFound);

  const std::vector<std::string> frames = {frame_of("zero"), frame_of("one"), frame_of("two")};
  const std::vector<std::string_view> views(frames.begin(), frames.end());
  {
    auto streams = storage->open(a, OpenMode::ReadWrite);
    CHECK(scanned(*streams).empty());
    streams->append_records(0, std::span(views).subspan(0, 2));
    CHECK(code_of([&] { streams->append_records(5, std::span(views).subspan(2)); }) == ErrorCode::InvalidArgument);
    streams->append_records(2, std::span(views).subspan(2));
    streams->sync_records();
    CHECK(streams->read_records(1, 5) == frames[1] + frames[2]);
    CHECK(streams->read_records(3, 1).empty());
    streams->append_checkpoint("note one\n");
    streams->append_checkpoint("note two\n");
  }
  auto other = storage->open(b, OpenMode::ReadWrite);
  other->append_records(0, std::span(views).subspan(2, 1));
  {
    auto reader = storage->open(a, OpenMode::ReadOnly);
    CHECK(scanned(*reader) == frames);
    CHECK(reader->read_checkpoints().notes == std::vector<std::string>{"note one\n", "note two\n"});
    CHECK(code_of([&] { reader->append_records(3, views); }) == ErrorCode::Internal);
  }
  {
    auto streams = storage->open(a, OpenMode::ReadWrite);
    (void)scanned(*streams);
    streams->truncate_records(1);
    streams->truncate_checkpoints(1);
    CHECK(streams->read_records(0, 10) == frames[0]);
    const std::vector<std::string_view> replacement = {frames[2], frames[1]};
    streams->replace_records(replacement);
    streams->append_records(2, std::span(views).subspan(0, 1));
    CHECK(streams->read_records(0, 10) == frames[2] + frames[1] + frames[0]);
  }
  auto reader = storage->open(a, OpenMode::ReadOnly);
  CHECK(scanned(*reader) == std::vector<std::string>{frames[2], frames[1], frames[0]});
  CHECK(reader->read_checkpoints().notes == std::vector<std::string>{"note one\n"});
  CHECK(scanned(*storage->open(b, OpenMode::ReadOnly)) == std::vector<std::string>{frames[2]});
  CHECK(storage->tenants() == std::vector<TenantId>{a, b});
  storage->erase(a);
  CHECK(storage->tenants() == std::vector<TenantId>{b});
  CHECK(code_of([&] { storage->open(a, OpenMode::ReadOnly); }) == ErrorCode::NotFound);
}

TEST_CASE("A flipped byte in the stored records is caught by verification, whatever the storage") {
  const auto kind = GENERATE(StorageKind::File, StorageKind::Memory);
  INFO(name_of(kind));
  AuditFixture f(true, {}, kind);
  append_n(*f.log, f.a, 12, "x");
  with_tenant(f.a, [&](auto scope) { (void)f.log->checkpoint(scope); });
  REQUIRE(f.verify(TenantId("tenant-a")).ok());
  f.log.reset();
  for (std::size_t index : {0u, 5u, 11u}) {
    const auto before = f.stored_records(TenantId("tenant-a"));
    f.edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) {
      frames[index][frames[index].size() / 3] ^= 0x10;  // inside the payload
    });
    auto report = f.verify(TenantId("tenant-a"));
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == ErrorCode::Tampered);
    std::string expected = "first bad index ";
    expected += std::to_string(index);
    expected += ":";
    CHECK_THAT(report.error().message(), Catch::Contains(expected));
    f.edit_records(TenantId("tenant-a"), [&](std::vector<std::string>& frames) { frames = split_frames(before); });
    REQUIRE(f.verify(TenantId("tenant-a")).ok());
  }
}
