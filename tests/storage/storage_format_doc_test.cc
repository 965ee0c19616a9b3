// The worked example of docs/storage-format.md is produced here: the test
// writes the two-batch segment the document describes and compares the hex
// dumps of the three files with the ones in the document. When the format
// and the document disagree, this fails and prints the dump to paste.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "storage/partition_log.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry {
namespace {

// `xxd`'s default layout: offset, 8 groups of 2 bytes, two spaces, ASCII.
std::string HexDump(const std::vector<uint8_t>& bytes) {
  std::string out;
  char buf[24];
  for (size_t line = 0; line < bytes.size(); line += 16) {
    std::snprintf(buf, sizeof(buf), "%08zx:", line);
    std::string hex = buf, ascii;
    for (size_t i = line; i < std::min(bytes.size(), line + 16); i++) {
      if ((i - line) % 2 == 0) hex += ' ';
      std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
      hex += buf;
      ascii += bytes[i] >= 0x20 && bytes[i] < 0x7f ? static_cast<char>(bytes[i]) : '.';
    }
    hex.resize(9 + 40, ' ');  // "00000000:" + 8 groups of " xxxx"
    out += hex + "  " + ascii + "\n";
  }
  return out;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The dump lines of the first fenced block after the line that ends with
// "`<file>`:" (or contains "`<file>`: ").
std::string DocDump(const std::string& doc, const std::string& file) {
  std::istringstream in(doc);
  std::string line, out;
  bool after_marker = false, in_block = false;
  while (std::getline(in, line)) {
    if (!after_marker) {
      after_marker = line.find("`" + file + "`:") != std::string::npos;
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      if (in_block) break;
      in_block = true;
      continue;
    }
    if (in_block && line.size() > 9 && line[8] == ':') out += line + "\n";
  }
  return out;
}

TEST(StorageFormatDocTest, WorkedExampleMatchesTheBytesOnDisk) {
  testing::TempDir dir;
  LogConfig cfg;
  cfg.segment_bytes = 65536;
  cfg.index_max_entries = 1024;
  const std::string pdir = dir / "p";
  {
    auto log = PartitionLog::Create(pdir, cfg).value();
    RecordBatchBuilder b1(1700000000000);
    b1.Add("k0", "hello", 1700000000000);
    b1.Add("k1", "world", 1700000000005);
    auto batch1 = b1.Build(/*base_offset=*/12345);
    RecordBatchBuilder b2(1700000000010);
    b2.Add(std::nullopt, "bye", 1700000000010);
    auto batch2 = b2.Build();
    BatchSetSummary s1, s2;
    ASSERT_TRUE(ValidateBatches(batch1, &s1).ok());
    ASSERT_TRUE(ValidateBatches(batch2, &s2).ok());
    ASSERT_EQ(log->Append(batch1, s1)->base_offset, 0);
    ASSERT_EQ(log->Append(batch2, s2)->base_offset, 2);
    ASSERT_TRUE(log->Flush().ok());
    EXPECT_EQ(log->durable_offset(), 3);
    EXPECT_EQ(log->OffsetForTimestamp(1700000000003), 0);
    EXPECT_EQ(log->OffsetForTimestamp(1700000000011), 3);
    ASSERT_TRUE(log->Close().ok());
  }
  std::ifstream doc_in(SENTRY_SOURCE_DIR "/docs/storage-format.md");
  ASSERT_TRUE(doc_in) << "docs/storage-format.md not found";
  const std::string doc((std::istreambuf_iterator<char>(doc_in)), {});
  const std::string base = "00000000000000000000";
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    const std::string actual = HexDump(ReadBytes(pdir + "/" + base + ext));
    const std::string documented = DocDump(doc, base + ext);
    ASSERT_FALSE(documented.empty()) << "no dump of " << base << ext << " in the document";
    EXPECT_EQ(documented, actual) << base << ext
                                  << " differs from docs/storage-format.md; the bytes are:\n"
                                  << actual;
  }
}

}  // namespace
}  // namespace sentry
