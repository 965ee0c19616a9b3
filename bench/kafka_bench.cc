// kafka_bench: load through librdkafka, the Kafka client most applications
// use, against any Kafka-protocol broker (sentryd's Kafka listener here).
//
//   kafka_bench produce BROKER TOPIC RECORDS [RECORD_BYTES] [ACKS] [COMPRESSION]
//   kafka_bench consume BROKER TOPIC RECORDS PARTITIONS
//
// produce: linger.ms=5, batch.size=1 MiB (the settings), keyless
// records spread by librdkafka's partitioner; waits for every delivery
// report and counts errors. consume: assigns every partition from the
// beginning and reads RECORDS records. Prints one JSON line.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void Set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka_bench: %s=%s: %s\n", k, v.c_str(), err);
    std::exit(2);
  }
}

long g_delivered = 0;
long g_failed = 0;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (g_failed++ == 0) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    g_delivered++;
  }
}

int Produce(const std::string& broker, const std::string& topic, long records, size_t bytes,
            const std::string& acks, const std::string& compression) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", broker);
  Set(conf, "linger.ms", "5");
  Set(conf, "batch.size", "1048576");
  Set(conf, "acks", acks);
  Set(conf, "compression.type", compression);
  Set(conf, "queue.buffering.max.messages", "1000000");
  Set(conf, "queue.buffering.max.kbytes", "1048576");
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) {
    std::fprintf(stderr, "kafka_bench: %s\n", err);
    return 2;
  }
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  std::vector<char> value(bytes, 'x');
  const auto start = Clock::now();
  for (long i = 0; i < records;) {
    if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                         value.size(), nullptr, 0, nullptr) == 0) {
      i++;
      continue;
    }
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
      return 1;
    }
    rd_kafka_poll(rk, 1);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 10);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"mode\":\"produce\",\"acks\":\"%s\",\"compression\":\"%s\",\"records\":%ld,"
      "\"failed\":%ld,\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
      acks.c_str(), compression.c_str(), g_delivered, g_failed, secs, g_delivered / secs,
      g_delivered * static_cast<double>(bytes) / secs / 1e6);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  return g_failed == 0 && g_delivered == records ? 0 : 1;
}

int Consume(const std::string& broker, const std::string& topic, long records, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", broker);
  Set(conf, "group.id", "kafka-bench");
  Set(conf, "enable.auto.commit", "false");
  Set(conf, "fetch.max.bytes", "52428800");
  Set(conf, "max.partition.fetch.bytes", "8388608");
  Set(conf, "queued.min.messages", "1000000");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) {
    std::fprintf(stderr, "kafka_bench: %s\n", err);
    return 2;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  long got = 0;
  double bytes = 0;
  const auto start = Clock::now();
  while (got < records) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 1000);
    if (!m) {
      if (Clock::now() - start > std::chrono::seconds(120)) break;
      continue;
    }
    if (!m->err) {
      got++;
      bytes += static_cast<double>(m->len);
    }
    rd_kafka_message_destroy(m);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"mode\":\"consume\",\"records\":%ld,\"seconds\":%.3f,\"records_per_s\":%.0f,"
      "\"mb_per_s\":%.1f}\n",
      got, secs, got / secs, bytes / secs / 1e6);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got == records ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "produce" && argc >= 5) {
    return Produce(argv[2], argv[3], std::atol(argv[4]),
                   argc > 5 ? static_cast<size_t>(std::atol(argv[5])) : 100,
                   argc > 6 ? argv[6] : "1", argc > 7 ? argv[7] : "none");
  }
  if (mode == "consume" && argc >= 6) {
    return Consume(argv[2], argv[3], std::atol(argv[4]), std::atoi(argv[5]));
  }
  std::fprintf(stderr,
               "usage: kafka_bench produce BROKER TOPIC RECORDS [BYTES] [ACKS] [COMPRESSION]\n"
               "       kafka_bench consume BROKER TOPIC RECORDS PARTITIONS\n");
  return 2;
}
