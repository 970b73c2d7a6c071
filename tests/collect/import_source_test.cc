#include "collect/import_source.h"

#include <cstdio>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;
using ::testing::StartsWith;

// What ImportSource made of each record of a file: "LINE id" for a message (its
// messageId, and the stored JSON's length), "LINE error: reason" for a refusal.
struct Read {
  std::vector<std::string> records;
  std::vector<std::string> json;
};

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  return path;
}

Read ReadAll(const std::string& path, ImportOptions options = {}) {
  Read read;
  absl::StatusOr<std::unique_ptr<ImportSource>> source = ImportSource::Open(path, options);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return read;
  ImportItem item;
  while (true) {
    absl::StatusOr<bool> more = (*source)->Next(&item);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    if (!item.error.empty()) {
      read.records.push_back(fmt::format("{} error: {}", item.line, item.error));
    } else {
      read.records.push_back(fmt::format("{} {}", item.line, item.message.message_id));
      read.json.push_back(item.message.json);
    }
  }
  EXPECT_EQ((*source)->bytes_read(), (*source)->total_bytes());
  return read;
}

std::string Line(int id, size_t padding = 0) {
  return fmt::format(R"({{"type":"track","userId":"u","event":"E","messageId":"m{}",)"
                     R"("properties":{{"p":"{}"}}}})",
                     id, std::string(padding, 'x'));
}

// Lines end with \n or \r\n, blank ones are skipped, the last needs no end; each record
// keeps its line number, and a line's message carries its stored JSON.
TEST(ImportSourceTest, ReadsEveryLineWithItsNumberWhateverItsEnd) {
  const std::string path =
      WriteFile("ends.jsonl", Line(1) + "\n" + Line(2) + "\r\n\n   \r\n" + "{not json\n" + Line(3));
  Read read = ReadAll(path);
  EXPECT_THAT(read.records,
              ElementsAre("1 m1", "2 m2", StartsWith("5 error: malformed JSON"), "6 m3"));
  ASSERT_THAT(read.json, SizeIs(3));
  EXPECT_EQ(read.json[0],
            R"({"type":"track","messageId":"m1","timestamp":"1970-01-01T00:00:00.000Z",)"
            R"("receivedAt":"1970-01-01T00:00:00.000Z","userId":"u","event":"E",)"
            R"("properties":{"p":""}})");
}

// Lines are read in chunks of 4 MiB: lines across chunk ends, and lines longer than the
// limit (refused without being kept, the next line read), read alike wherever they fall.
TEST(ImportSourceTest, LinesAcrossReadChunksAndOverTheLimit) {
  ImportOptions options;
  options.limits.max_batch_bytes = 5000;
  std::string content;
  std::vector<std::string> expected;
  int line = 0;
  for (int i = 0; content.size() < (10 << 20); ++i) {
    ++line;
    if (i % 97 == 13) {
      content += Line(i, 6000) + "\n";  // over the limit
      expected.push_back(fmt::format("{} error: line longer than 5000 bytes", line));
      continue;
    }
    content += Line(i, 1000 + i % 3001) + "\n";
    expected.push_back(fmt::format("{} m{}", line, i));
  }
  Read read = ReadAll(WriteFile("chunks.jsonl", content), options);
  EXPECT_EQ(read.records, expected);
  for (const std::string& json : read.json) {
    ASSERT_EQ(json.substr(json.size() - 3), "\"}}") << json.substr(0, 100);
  }
}

// The rows of a contacts CSV that the reader refuses are reported on the line where they
// start, and the rows after them are read; a file without a header fails to open, naming
// the file and line 1.
TEST(ImportSourceTest, CsvRowsTheReaderRefusesAreReportedByLine) {
  ImportOptions options;
  options.format = ImportFormat::kContactsCsv;
  const std::string csv =
      "id,name,age\nu1,Ann,30\nu2,Bob\n\"u3\"x,Cy,41\nu4,\"Dee\nDee\",50\nu5,\"open,60\nu6,F,1\n";
  Read read = ReadAll(WriteFile("ragged.csv", csv), options);
  EXPECT_THAT(read.records,
              ElementsAre(StartsWith("2 "), "3 error: 2 fields, the header has 3",
                          "4 error: unexpected 'x' after a closing quote", StartsWith("5 "),
                          "7 error: unterminated quoted field (the closing '\"' is missing)"));
  absl::StatusOr<std::unique_ptr<ImportSource>> empty =
      ImportSource::Open(WriteFile("empty.csv", "\n"), options);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(),
              ::testing::HasSubstr("empty.csv:1: empty file: expected a header line"));
}

// The estimate sizes memory before an import: the lines of a small file, counted; those of
// a large one, from its first MiB; none that the file's size cannot hold; 0 for stdin. It
// leaves the file to be read from its start.
TEST(ImportSourceTest, EstimatesRecordsFromTheFirstMiB) {
  auto estimate = [](const std::string& path) {
    absl::StatusOr<std::unique_ptr<ImportSource>> source = ImportSource::Open(path, {});
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? (*source)->EstimatedRecords() : 0;
  };
  EXPECT_EQ(estimate(WriteFile("empty.jsonl", "")), 0);
  EXPECT_EQ(estimate(WriteFile("three.jsonl", Line(1) + "\n\n" + Line(2))), 3);

  // 40,000 lines of 200 bytes, then 20,000 of 1,000 bytes: the first MiB sees short lines.
  std::string content;
  for (int i = 0; i < 40000; ++i) content += Line(i, 200 - Line(i).size() - 1) + "\n";
  for (int i = 40000; i < 60000; ++i) content += Line(i, 1000 - Line(i).size() - 1) + "\n";
  ASSERT_EQ(content.size(), 28'000'000u);
  const std::string path = WriteFile("uneven.jsonl", content);
  EXPECT_NEAR(estimate(path), 140'000, 100);  // 28 MB at 200 bytes a line
  Read read = ReadAll(path);
  ASSERT_THAT(read.records, SizeIs(60000));
  EXPECT_EQ(read.records.front(), "1 m0");

  // Newlines alone: no more records than 29-byte messages would make.
  EXPECT_EQ(estimate(WriteFile("newlines.jsonl", std::string(2900, '\n'))), 101u);
  EXPECT_EQ(estimate("-"), 0);
}

}  // namespace
}  // namespace segmenta
