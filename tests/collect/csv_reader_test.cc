// The CSV reader against what its header promises: RFC 4180 quoting, line ends, the byte
// order mark, ragged rows refused by line, blank lines, limits, and the same records
// wherever the input's chunks end.
#include "collect/csv_reader.h"

#include <algorithm>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A reader over `text` whose reads return at most `read_size` bytes (a pipe's short reads).
CsvReader ReaderOf(const std::string& text, CsvOptions options = {}, size_t read_size = SIZE_MAX) {
  auto pos = std::make_shared<size_t>(0);
  return CsvReader(
      [text, pos, read_size](char* buffer, size_t size) {
        const size_t n = std::min({size, read_size, text.size() - *pos});
        std::copy_n(text.data() + *pos, n, buffer);
        *pos += n;
        return n;
      },
      options);
}

// Every record as "LINE: field|field|…", or "error LINE: reason" for a refused one,
// reading on after errors as the header allows.
std::vector<std::string> ReadAll(CsvReader& reader) {
  std::vector<std::string> out;
  CsvRecord record;
  for (int guard = 0; guard < 10000; ++guard) {
    absl::StatusOr<bool> more = reader.Next(&record);
    if (!more.ok()) {
      EXPECT_EQ(more.status().message(),
                fmt::format("line {}: {}", reader.error_line(), reader.error_reason()));
      out.push_back(fmt::format("error {}: {}", reader.error_line(), reader.error_reason()));
      continue;
    }
    if (!*more) break;
    out.push_back(fmt::format("{}: {}", record.line, fmt::join(record.fields, "|")));
  }
  return out;
}

std::vector<std::string> ReadAll(const std::string& text, CsvOptions options = {},
                                 bool header = true) {
  CsvReader reader = ReaderOf(text, options);
  if (header) {
    absl::Status s = reader.ReadHeader();
    if (!s.ok()) return {std::string(s.message())};
  }
  return ReadAll(reader);
}

TEST(CsvReaderTest, ReadsTheHeaderAndEachRecordWithItsLine) {
  CsvReader reader = ReaderOf("id,email\n1,a@example.com\n2,b@example.com\n");
  ASSERT_TRUE(reader.ReadHeader().ok());
  EXPECT_THAT(reader.header(), ElementsAre("id", "email"));
  EXPECT_EQ(reader.delimiter(), ',');
  EXPECT_THAT(ReadAll(reader), ElementsAre("2: 1|a@example.com", "3: 2|b@example.com"));
  EXPECT_EQ(reader.bytes_read(), 41u);
}

TEST(CsvReaderTest, HeaderNamesAreTrimmed) {
  CsvReader reader = ReaderOf(" id ,\temail\t, \n1,2,3\n");
  ASSERT_TRUE(reader.ReadHeader().ok());
  EXPECT_THAT(reader.header(), ElementsAre("id", "email", ""));
}

TEST(CsvReaderTest, QuotedFieldsHoldDelimitersDoubledQuotesAndLineBreaks) {
  EXPECT_THAT(ReadAll("a,b,c,d\n"
                      "1,\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                      "\"\"\"\",\"\",\"a\"\"\",3\n"),
              ElementsAre("2: 1|x, y|say \"hi\"|two\nlines", "4: \"||a\"|3"));
}

// A quote opens a quoted field only at the start of the field; inside an unquoted one it
// is data.
TEST(CsvReaderTest, AQuoteInsideAnUnquotedFieldIsData) {
  EXPECT_THAT(ReadAll("a,b\n5\" screen,x\"y\n"), ElementsAre("2: 5\" screen|x\"y"));
}

TEST(CsvReaderTest, CrlfEndsALineAndALoneCrIsData) {
  EXPECT_THAT(ReadAll("id,name\r\n1,Ann\r\n2,B\rob\r\n3,\"C\r\nD\"\r\n4,E"),
              ElementsAre("2: 1|Ann", "3: 2|B\rob", "4: 3|C\r\nD", "6: 4|E"));
}

TEST(CsvReaderTest, AByteOrderMarkIsNotPartOfTheFirstName) {
  CsvReader reader = ReaderOf("\xEF\xBB\xBFid;name\n1;\xEF\xBB\xBFx\n");
  ASSERT_TRUE(reader.ReadHeader().ok());
  EXPECT_THAT(reader.header(), ElementsAre("id", "name"));
  EXPECT_EQ(reader.delimiter(), ';');
  // Only at the start of the input.
  EXPECT_THAT(ReadAll(reader), ElementsAre("2: 1|\xEF\xBB\xBFx"));
  // A byte order mark alone is an empty file.
  EXPECT_THAT(ReadAll("\xEF\xBB\xBF"), ElementsAre("line 1: empty file: expected a header line"));
}

TEST(CsvReaderTest, TheDelimiterIsTheMostFrequentOutsideQuotes) {
  EXPECT_EQ(ReadAll("a;b;c\n1;2;3\n")[0], "2: 1|2|3");
  EXPECT_EQ(ReadAll("a\tb\n1\t2\n")[0], "2: 1|2");
  // Commas inside quotes do not count.
  EXPECT_EQ(ReadAll("\"a,b,c\";d\n1;2\n")[0], "2: 1|2");
  // None at all: a comma, one column.
  CsvReader reader = ReaderOf("email\nx@example.com\n");
  ASSERT_TRUE(reader.ReadHeader().ok());
  EXPECT_EQ(reader.delimiter(), ',');
  // A delimiter given is used as is.
  CsvOptions pipe;
  pipe.delimiter = '|';
  EXPECT_EQ(ReadAll("a|b\n1,2|3\n", pipe)[0], "2: 1,2|3");
}

// After ReadHeader, a record with fewer or more fields than the header is refused, naming
// its line, and reading goes on with the next record.
TEST(CsvReaderTest, RaggedRowsAreRefusedByLine) {
  EXPECT_THAT(
      ReadAll("id,name,age\n1,Ann,30\n2,Bob\n3,Cy,41,extra\n4\n\"5\",\"E\nve\",50,\n6,F,60\n"),
      ElementsAre("2: 1|Ann|30", "error 3: 2 fields, the header has 3",
                  "error 4: 4 fields, the header has 3", "error 5: 1 field, the header has 3",
                  "error 6: 4 fields, the header has 3", "8: 6|F|60"));
  // Without a header, records are read as they come.
  EXPECT_THAT(ReadAll("1,2\n3\n4,5,6\n", {}, /*header=*/false),
              ElementsAre("1: 1|2", "2: 3", "3: 4|5|6"));
}

// An empty field (between delimiters, or quoted) is an empty string; a record has as many
// fields as delimiters plus one, so a trailing delimiter adds an empty last field.
TEST(CsvReaderTest, EmptyFieldsAreEmptyStrings) {
  EXPECT_THAT(ReadAll("a,b,c\n1,,3\n,,\n\"\",x,\"\"\n"), ElementsAre("2: 1||3", "3: ||", "4: |x|"));
  EXPECT_THAT(ReadAll("a\n\"\"\n", {}, false), ElementsAre("1: a", "2: "));
}

TEST(CsvReaderTest, BlankLinesAreSkipped) {
  EXPECT_THAT(ReadAll("\n\r\nid,n\n\n1,a\r\n\r\n\n2,b\n\n"), ElementsAre("5: 1|a", "8: 2|b"));
}

TEST(CsvReaderTest, TheLastLineNeedsNoLineEnd) {
  EXPECT_THAT(ReadAll("a,b\n1,2"), ElementsAre("2: 1|2"));
  EXPECT_THAT(ReadAll("a,b\n1,\"2\""), ElementsAre("2: 1|2"));
  EXPECT_THAT(ReadAll("a,b\n1,"), ElementsAre("2: 1|"));
}

// An unterminated quote swallows the rest of the input: the error names the line where
// the field opened, and the reader is then at the end.
TEST(CsvReaderTest, AnUnterminatedQuoteAtTheEndIsAnErrorWithItsLine) {
  EXPECT_THAT(
      ReadAll("a,b\n1,2\n3,\"open\n4,5\n6,7\n"),
      ElementsAre("2: 1|2", "error 3: unterminated quoted field (the closing '\"' is missing)"));
}

TEST(CsvReaderTest, TextAfterAClosingQuoteIsRefusedAndReadingGoesOn) {
  EXPECT_THAT(ReadAll("a,b\n\"x\"y,2\n3,4\n"),
              ElementsAre("error 2: unexpected 'y' after a closing quote", "3: 3|4"));
  // The line is the one where the record starts.
  EXPECT_THAT(ReadAll("a,b\n\"x\ny\"z,2\n3,4\n"),
              ElementsAre("error 2: unexpected 'z' after a closing quote", "4: 3|4"));
}

TEST(CsvReaderTest, AnEmptyInputHasNoHeader) {
  EXPECT_THAT(ReadAll(""), ElementsAre("line 1: empty file: expected a header line"));
  EXPECT_THAT(ReadAll("\n\n"), ElementsAre("line 1: empty file: expected a header line"));
}

// Fields far larger than a chunk are read whole; a record over max_record_bytes (the
// bytes of its fields) is refused, however the chunks fall, and ends the input.
TEST(CsvReaderTest, HugeFieldsUpToTheLimitAndPast) {
  const std::string ten_mib(10 << 20, 'x');
  std::vector<std::string> read = ReadAll("a,b\n1,\"" + ten_mib + "\"\n2," + ten_mib + "\n3,3\n");
  ASSERT_EQ(read.size(), 3u);
  EXPECT_TRUE(read[0] == "2: 1|" + ten_mib) << read[0].size();
  EXPECT_TRUE(read[1] == "3: 2|" + ten_mib) << read[1].size();
  EXPECT_EQ(read[2], "4: 3|3");

  for (size_t chunk : {size_t{16}, size_t{100}, size_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    CsvOptions options;
    options.chunk_bytes = chunk;
    options.max_record_bytes = 1000;
    const std::string at_limit(999, 'y');  // and "1": 1,000 bytes of fields
    EXPECT_THAT(ReadAll("a,b\n1," + at_limit + "\n2,2\n", options),
                ElementsAre("2: 1|" + at_limit, "3: 2|2"));
    EXPECT_THAT(ReadAll("a,b\n1,\"" + at_limit + "\"\n2,2\n", options),
                ElementsAre("2: 1|" + at_limit, "3: 2|2"));
    const std::string over(1000, 'z');
    for (const std::string& field : {over, "\"" + over + "\"", "\"" + over}) {
      EXPECT_THAT(ReadAll("a,b\n1,2\n3," + field + "\n4,4\n", options),
                  ElementsAre("2: 1|2",
                              "error 3: record longer than 1000 bytes (an unclosed "
                              "quote?)"));
    }
  }
}

// The records do not depend on where the input's reads end: chunks of every small size
// and reads of one byte give what one read of the whole input gives.
TEST(CsvReaderTest, RecordsAreTheSameWhereverTheReadsEnd) {
  const std::string inputs[] = {
      "\xEF\xBB\xBFid;name;note\r\n\r\n1;\"A;\"\"b\"\"\";\"x\r\ny\"\r\n\r\n2;;\r\n3;c\rd;e",
      "a,b\n\n\r\n\r\n1,2\r\n\r\n\r\n3,\"4\"\r\n\"5\"x,6\n7,8,9\n10,\"11",
      "\"h,1\",h2\n\"\",\"\"\n\n,\n",
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    CsvOptions whole;
    whole.chunk_bytes = 1 << 20;
    const std::vector<std::string> expected = ReadAll(input, whole);
    for (size_t chunk = 16; chunk <= 40; ++chunk) {
      CsvOptions options;
      options.chunk_bytes = chunk;
      ASSERT_EQ(ReadAll(input, options), expected) << "chunks of " << chunk;
    }
    for (size_t read_size : {size_t{1}, size_t{2}, size_t{3}}) {
      CsvReader reader = ReaderOf(input, whole, read_size);
      std::vector<std::string> got;
      absl::Status s = reader.ReadHeader();
      ASSERT_TRUE(s.ok()) << s;
      ASSERT_EQ(ReadAll(reader), expected) << "reads of " << read_size;
      EXPECT_EQ(reader.bytes_read(), input.size());
    }
  }
}

}  // namespace
}  // namespace segmenta
