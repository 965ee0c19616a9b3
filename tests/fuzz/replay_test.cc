// Replays every saved fuzz input (tests/fuzz/regressions/<target>/) through
// the fuzz targets in a normal build, so each crash ever found stays fixed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int FuzzProtocol(const uint8_t* data, size_t size);
extern "C" int FuzzRecordBatch(const uint8_t* data, size_t size);
extern "C" int FuzzRecovery(const uint8_t* data, size_t size);
extern "C" int FuzzKafka(const uint8_t* data, size_t size);
extern "C" int FuzzScram(const uint8_t* data, size_t size);

namespace {

void ReplayDir(const std::string& name, int (*fn)(const uint8_t*, size_t)) {
  std::filesystem::path dir = std::filesystem::path(SENTRY_FUZZ_REGRESSIONS) / name;
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == ".keep") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    SCOPED_TRACE(e.path().string());
    fn(bytes.data(), bytes.size());
    files++;
  }
  // Also a few edge inputs every target must survive.
  std::vector<uint8_t> empty, zeros(100, 0), ones(100, 0xFF);
  fn(empty.data(), 0);
  fn(zeros.data(), zeros.size());
  fn(ones.data(), ones.size());
  ::testing::Test::RecordProperty(name + "_files", files);
}

TEST(FuzzReplayTest, Protocol) { ReplayDir("protocol", FuzzProtocol); }
TEST(FuzzReplayTest, RecordBatch) { ReplayDir("record_batch", FuzzRecordBatch); }
TEST(FuzzReplayTest, Recovery) { ReplayDir("recovery", FuzzRecovery); }
TEST(FuzzReplayTest, Kafka) { ReplayDir("kafka", FuzzKafka); }
TEST(FuzzReplayTest, Scram) { ReplayDir("scram", FuzzScram); }

}  // namespace
