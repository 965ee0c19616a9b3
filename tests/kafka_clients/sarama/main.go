// Real-client test: sarama (Debian golang-github-shopify-sarama-dev 1.22.1) against a
// running sentryd's Kafka listener.
//
// Usage: sarama-test BOOTSTRAP [TMPDIR]     e.g. sarama-test 127.0.0.1:29092
// Exit 0 = pass; on failure prints what was expected and what was found, exits 1.
// The test creates (and at the end deletes) its own uniquely named topics through
// sarama's ClusterAdmin; the second argument is accepted and unused.
//
// Sarama does not send ApiVersions: it picks request versions from config.Version.
// The broker serves Fetch from v4 (and Produce with RecordBatch v2 only), so Version must be at least
// V0_11_0_0. The test runs everything once with V1_0_0_0 and once with V2_1_0_0.
// With sarama 1.22.1 these send: Metadata v5, Produce v3, Fetch v4, ListOffsets v1,
// CreateTopics v2, DeleteTopics v1, DescribeConfigs v0 (from ListTopics),
// FindCoordinator v0, OffsetCommit v1 (generation -1), OffsetFetch v1 and
// DeleteRecords v0.
//
// Covers: ClusterAdmin CreateTopic (and TOPIC_ALREADY_EXISTS), ListTopics,
// DescribeTopics, DeleteTopic, DeleteRecords (v0, through the controller
// broker: the answer's low watermark, then GetOffset oldest and a consumer
// below and at the new log start); SyncProducer (acks=all) with keyed messages and
// headers, per codec none/gzip/snappy/lz4 (not zstd: sarama 1.22 would send it
// in Produce v3, which Kafka refuses), through SendMessage and SendMessages,
// every offset checked; a partition consumer from OffsetOldest and from a middle
// offset reading everything back (content, keys, headers, order, nothing
// duplicated or missing); GetOffset(oldest/newest); an offset manager committing
// and a new one resuming at the commit.
//
// Build offline (Debian packages golang-go, golang-github-shopify-sarama-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=0 \
//	  go build -o /tmp/sarama-test tests/kafka_clients/sarama/main.go
//
// (see ../README.md). CGO_ENABLED=0 leaves out sarama's cgo zstd codec, which
// this test does not use; the default cgo build works too (it links Debian's
// libzstd and prints a deprecation warning).
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"reflect"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

const partitions = 3

type failure struct{ msg string }

// require stops the test (through panic, recovered in main) with a clear message.
func require(cond bool, what string, expected, found interface{}) {
	if !cond {
		panic(failure{fmt.Sprintf("%s\n  expected: %v\n  found:    %v", what, expected, found)})
	}
}

func requireNoErr(err error, what string) {
	if err != nil {
		panic(failure{fmt.Sprintf("%s: unexpected error: %v", what, err)})
	}
}

var t0 = time.Now()

func step(format string, args ...interface{}) {
	fmt.Printf("ok [%5.1fs]: %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
}

type rec struct {
	key, value string
	headers    []string // name=value, in order
}

func headersOf(hs []*sarama.RecordHeader) []string {
	out := []string{}
	for _, h := range hs {
		out = append(out, string(h.Key)+"="+string(h.Value))
	}
	return out
}

func suffix() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func newConfig(version sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = version
	c.ClientID = "sentry-sarama-test"
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 20
	c.Metadata.Retry.Backoff = 50 * time.Millisecond
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Consumer.MaxWaitTime = 100 * time.Millisecond
	c.Consumer.Return.Errors = true
	// the offset manager commits on this tick; PartitionOffsetManager.Close waits for one
	c.Consumer.Offsets.CommitInterval = 50 * time.Millisecond
	return c
}

// consume reads partition p from offset `from` until `want` messages arrived (deadline
// 15 s), then checks that nothing more arrives within 200 ms.
func consume(consumer sarama.Consumer, topic string, p int32, from int64, want int, what string) []*sarama.ConsumerMessage {
	pc, err := consumer.ConsumePartition(topic, p, from)
	requireNoErr(err, what+": ConsumePartition")
	defer pc.Close()
	var got []*sarama.ConsumerMessage
	deadline := time.After(15 * time.Second)
	for len(got) < want {
		select {
		case m := <-pc.Messages():
			got = append(got, m)
		case e := <-pc.Errors():
			require(false, what+": no consumer error", "none", e)
		case <-deadline:
			require(false, what+": all messages within 15s", want, len(got))
		}
	}
	select {
	case m := <-pc.Messages():
		require(false, what+": nothing beyond the expected messages", "nothing", fmt.Sprintf("offset %d key %q", m.Offset, m.Key))
	case <-time.After(200 * time.Millisecond):
	}
	return got
}

func checkPartition(got []*sarama.ConsumerMessage, exp []rec, first int64, topic string, p int32, what string) {
	offs := []int64{}
	for _, m := range got {
		offs = append(offs, m.Offset)
	}
	wantOffs := []int64{}
	for i := range exp {
		wantOffs = append(wantOffs, first+int64(i))
	}
	require(reflect.DeepEqual(offs, wantOffs), what+": offsets in order, none missing or duplicated", wantOffs, offs)
	for i, m := range got {
		found := rec{string(m.Key), string(m.Value), headersOf(m.Headers)}
		require(m.Topic == topic && m.Partition == p, what+": topic/partition", fmt.Sprint(topic, p), fmt.Sprint(m.Topic, m.Partition))
		require(reflect.DeepEqual(found, exp[i]), fmt.Sprintf("%s: record at offset %d (key, value, headers)", what, m.Offset), exp[i], found)
		require(!m.Timestamp.IsZero() && m.Timestamp.After(t0.Add(-time.Minute)), what+": a CreateTime timestamp", "around now", m.Timestamp)
	}
}

func run(boot string, version sarama.KafkaVersion) {
	vname := version.String()
	sfx := suffix()
	topic := "sarama-" + sfx
	group := "sarama-group-" + sfx
	cfg := newConfig(version)

	// ---------------- admin ----------------
	admin, err := sarama.NewClusterAdmin([]string{boot}, cfg)
	requireNoErr(err, vname+": NewClusterAdmin")
	defer admin.Close()
	requireNoErr(admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false), vname+": CreateTopic")
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
	te, ok := err.(*sarama.TopicError)
	require(ok && te.Err == sarama.ErrTopicAlreadyExists, vname+": CreateTopic of an existing topic", sarama.ErrTopicAlreadyExists, err)
	topics, err := admin.ListTopics()
	requireNoErr(err, vname+": ListTopics")
	d, ok := topics[topic]
	require(ok && d.NumPartitions == partitions && d.ReplicationFactor == 1, vname+": ListTopics shows the topic (partitions, RF)", fmt.Sprint(partitions, 1), fmt.Sprint(ok, d.NumPartitions, d.ReplicationFactor))
	md, err := admin.DescribeTopics([]string{topic})
	requireNoErr(err, vname+": DescribeTopics")
	require(len(md) == 1 && md[0].Err == sarama.ErrNoError && len(md[0].Partitions) == partitions, vname+": DescribeTopics", fmt.Sprintf("1 topic, no error, %d partitions", partitions), md)
	for _, pm := range md[0].Partitions {
		require(pm.Err == sarama.ErrNoError && pm.Leader == 0 && reflect.DeepEqual(pm.Replicas, []int32{0}) && reflect.DeepEqual(pm.Isr, []int32{0}),
			fmt.Sprintf("%s: partition %d leader/replicas/isr", vname, pm.ID), "0 [0] [0]", fmt.Sprint(pm.Leader, pm.Replicas, pm.Isr, pm.Err))
	}
	step("%s: ClusterAdmin CreateTopic %s, again -> TOPIC_ALREADY_EXISTS, ListTopics, DescribeTopics", vname, topic)

	// ---------------- produce ----------------
	client, err := sarama.NewClient([]string{boot}, cfg)
	requireNoErr(err, vname+": NewClient")
	defer client.Close()
	expected := map[int32][]rec{}
	partitionOfKey := map[string]int32{}
	hp := sarama.NewHashPartitioner(topic)
	codecs := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4}
	total := 0
	for _, codec := range codecs {
		pcfg := newConfig(version)
		pcfg.Producer.Compression = codec
		prod, err := sarama.NewSyncProducerFromClient(client)
		if codec != sarama.CompressionNone {
			// compression is a producer setting: a producer with its own client
			prod, err = sarama.NewSyncProducer([]string{boot}, pcfg)
		}
		requireNoErr(err, vname+": NewSyncProducer "+codec.String())
		last := map[int32]int64{}
		accept := func(m *sarama.ProducerMessage, r rec) {
			want, _ := hp.Partition(m, partitions)
			require(m.Partition == want, fmt.Sprintf("%s %s: key %q on its hash partition", vname, codec, r.key), want, m.Partition)
			if p, seen := partitionOfKey[r.key]; seen {
				require(p == m.Partition, vname+": a key always lands on one partition", p, m.Partition)
			}
			partitionOfKey[r.key] = m.Partition
			require(m.Offset == int64(len(expected[m.Partition])), fmt.Sprintf("%s %s: next offset on partition %d", vname, codec, m.Partition), len(expected[m.Partition]), m.Offset)
			if l, ok := last[m.Partition]; ok {
				require(m.Offset > l, vname+": offsets increase", fmt.Sprintf("> %d", l), m.Offset)
			}
			last[m.Partition] = m.Offset
			expected[m.Partition] = append(expected[m.Partition], r)
			total++
		}
		mk := func(i int) (*sarama.ProducerMessage, rec) {
			r := rec{fmt.Sprintf("%s-k%d", codec, i%7), fmt.Sprintf("%s|%04d|%s", codec, i, bytes.Repeat([]byte("payload "), 1+i%4)),
				[]string{"codec=" + codec.String(), fmt.Sprintf("i=%d", i)}}
			return &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.key), Value: sarama.StringEncoder(r.value),
				Headers: []sarama.RecordHeader{{Key: []byte("codec"), Value: []byte(codec.String())}, {Key: []byte("i"), Value: []byte(fmt.Sprint(i))}}}, r
		}
		// one at a time
		for i := 0; i < 30; i++ {
			m, r := mk(i)
			p, off, err := prod.SendMessage(m)
			requireNoErr(err, fmt.Sprintf("%s %s: SendMessage %d", vname, codec, i))
			require(p == m.Partition && off == m.Offset, vname+": SendMessage returns the message's partition/offset", fmt.Sprint(m.Partition, m.Offset), fmt.Sprint(p, off))
			accept(m, r)
		}
		// a batch; SendMessages fills Partition/Offset in each message
		var msgs []*sarama.ProducerMessage
		var recs []rec
		for i := 30; i < 100; i++ {
			m, r := mk(i)
			msgs = append(msgs, m)
			recs = append(recs, r)
		}
		requireNoErr(prod.SendMessages(msgs), fmt.Sprintf("%s %s: SendMessages", vname, codec))
		// Account for them in offset order per partition, then check that within each
		// partition the offsets follow the send order.
		idx := make([]int, len(msgs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			if msgs[idx[a]].Partition != msgs[idx[b]].Partition {
				return msgs[idx[a]].Partition < msgs[idx[b]].Partition
			}
			return msgs[idx[a]].Offset < msgs[idx[b]].Offset
		})
		perPartSendOrder := map[int32][]int{}
		for i, m := range msgs {
			perPartSendOrder[m.Partition] = append(perPartSendOrder[m.Partition], i)
		}
		for _, i := range idx {
			accept(msgs[i], recs[i])
		}
		// offsets follow send order within each partition
		for p, order := range perPartSendOrder {
			for j := 1; j < len(order); j++ {
				require(msgs[order[j]].Offset > msgs[order[j-1]].Offset, fmt.Sprintf("%s %s: partition %d offsets follow send order", vname, codec, p),
					"increasing", fmt.Sprint(msgs[order[j-1]].Offset, msgs[order[j]].Offset))
			}
		}
		requireNoErr(prod.Close(), vname+": SyncProducer.Close")
	}
	require(len(expected) == partitions, vname+": test setup: keys cover every partition", partitions, len(expected))
	step("%s: SyncProducer acks=all, %d messages (codecs none/gzip/snappy/lz4, SendMessage + SendMessages), offsets contiguous per partition", vname, total)

	// ---------------- offsets ----------------
	for p := int32(0); p < partitions; p++ {
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		requireNoErr(err, vname+": GetOffset oldest")
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		requireNoErr(err, vname+": GetOffset newest")
		require(oldest == 0 && newest == int64(len(expected[p])), fmt.Sprintf("%s: partition %d GetOffset oldest/newest", vname, p), fmt.Sprint(0, len(expected[p])), fmt.Sprint(oldest, newest))
	}
	step("%s: GetOffset oldest/newest", vname)

	// ---------------- consume ----------------
	consumer, err := sarama.NewConsumerFromClient(client)
	requireNoErr(err, vname+": NewConsumer")
	for p := int32(0); p < partitions; p++ {
		got := consume(consumer, topic, p, sarama.OffsetOldest, len(expected[p]), fmt.Sprintf("%s: consume partition %d from OffsetOldest", vname, p))
		checkPartition(got, expected[p], 0, topic, p, fmt.Sprintf("%s: consume partition %d", vname, p))
	}
	mid := int64(len(expected[0]) / 2)
	got := consume(consumer, topic, 0, mid, len(expected[0])-int(mid), vname+": consume partition 0 from the middle")
	checkPartition(got, expected[0][mid:], mid, topic, 0, vname+": consume partition 0 from the middle")
	requireNoErr(consumer.Close(), vname+": Consumer.Close")
	step("%s: partition consumer from OffsetOldest and from offset %d: content, keys, headers, order, nothing missing or duplicated", vname, mid)

	// ---------------- offset manager (commit + fetch, generation -1) ----------------
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	requireNoErr(err, vname+": NewOffsetManagerFromClient")
	pom, err := om.ManagePartition(topic, 1)
	requireNoErr(err, vname+": ManagePartition")
	next, _ := pom.NextOffset()
	require(next == cfg.Consumer.Offsets.Initial, vname+": NextOffset before any commit is Consumer.Offsets.Initial", cfg.Consumer.Offsets.Initial, next)
	pom.MarkOffset(7, "meta-7")
	requireNoErr(pom.Close(), vname+": PartitionOffsetManager.Close (flushes the commit)")
	requireNoErr(om.Close(), vname+": OffsetManager.Close")
	om2, err := sarama.NewOffsetManagerFromClient(group, client)
	requireNoErr(err, vname+": NewOffsetManagerFromClient (2)")
	pom2, err := om2.ManagePartition(topic, 1)
	requireNoErr(err, vname+": ManagePartition (2)")
	next, meta := pom2.NextOffset()
	require(next == 7 && meta == "meta-7", vname+": a new offset manager resumes at the commit", "7 meta-7", fmt.Sprint(next, " ", meta))
	requireNoErr(pom2.Close(), vname+": PartitionOffsetManager.Close (2)")
	requireNoErr(om2.Close(), vname+": OffsetManager.Close (2)")
	step("%s: offset manager commit (OffsetCommit v1, generation -1) and resume (OffsetFetch v1)", vname)

	// ---------------- DeleteRecords (v0) ----------------
	cut := int64(len(expected[2]) / 2)
	ctrl, err := client.Controller()
	requireNoErr(err, vname+": Controller")
	drsp, err := ctrl.DeleteRecords(&sarama.DeleteRecordsRequest{
		Topics:  map[string]*sarama.DeleteRecordsRequestTopic{topic: {PartitionOffsets: map[int32]int64{2: cut}}},
		Timeout: 10 * time.Second,
	})
	requireNoErr(err, vname+": DeleteRecords")
	dt, ok := drsp.Topics[topic]
	require(ok && dt.Partitions[2] != nil, vname+": DeleteRecords answers the partition", "an answer", fmt.Sprintf("%+v", drsp.Topics))
	dp := dt.Partitions[2]
	require(dp.Err == sarama.ErrNoError && dp.LowWatermark == cut, vname+": DeleteRecords low watermark", fmt.Sprint(cut, " no error"), fmt.Sprint(dp.LowWatermark, " ", dp.Err))
	requireNoErr(client.RefreshMetadata(topic), vname+": RefreshMetadata")
	oldest, err := client.GetOffset(topic, 2, sarama.OffsetOldest)
	requireNoErr(err, vname+": GetOffset oldest after DeleteRecords")
	require(oldest == cut, vname+": GetOffset oldest after DeleteRecords", cut, oldest)
	consumer2, err := sarama.NewConsumerFromClient(client)
	requireNoErr(err, vname+": NewConsumer (2)")
	_, err = consumer2.ConsumePartition(topic, 2, 0)
	require(err == sarama.ErrOffsetOutOfRange, vname+": consuming below the log start", fmt.Sprintf("%#v", sarama.ErrOffsetOutOfRange), fmt.Sprintf("%#v", err))
	got = consume(consumer2, topic, 2, cut, len(expected[2])-int(cut), vname+": consume partition 2 from the new log start")
	checkPartition(got, expected[2][cut:], cut, topic, 2, vname+": consume partition 2 from the new log start")
	requireNoErr(consumer2.Close(), vname+": Consumer.Close (2)")
	step("%s: DeleteRecords v0 on partition 2 before offset %d: low watermark, GetOffset oldest, a consumer below it gets OFFSET_OUT_OF_RANGE, from it reads the rest", vname, cut)

	// ---------------- delete ----------------
	requireNoErr(admin.DeleteTopic(topic), vname+": DeleteTopic")
	deadline := time.Now().Add(10 * time.Second)
	for {
		topics, err := admin.ListTopics()
		requireNoErr(err, vname+": ListTopics after delete")
		if _, still := topics[topic]; !still {
			break
		}
		require(time.Now().Before(deadline), vname+": deleted topic leaves ListTopics within 10s", "absent", "present")
		time.Sleep(50 * time.Millisecond)
	}
	err = admin.DeleteTopic(topic) // sarama 1.22 returns the bare KError here
	require(err == sarama.ErrUnknownTopicOrPartition, vname+": DeleteTopic of a deleted topic", fmt.Sprintf("%#v", sarama.ErrUnknownTopicOrPartition), fmt.Sprintf("%#v", err))
	step("%s: DeleteTopic; gone from ListTopics; deleting again -> UNKNOWN_TOPIC_OR_PARTITION", vname)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sarama-test BOOTSTRAP [TMPDIR]")
		os.Exit(2)
	}
	boot := os.Args[1]
	time.AfterFunc(55*time.Second, func() {
		fmt.Println("FAIL: sarama test did not finish within 55 s (hang?)")
		os.Exit(1)
	})
	if os.Getenv("KTEST_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
	}
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				if f, ok := r.(failure); ok {
					fmt.Printf("FAIL: %s\n", f.msg)
					code = 1
					return
				}
				panic(r)
			}
		}()
		for _, v := range []sarama.KafkaVersion{sarama.V1_0_0_0, sarama.V2_1_0_0} {
			run(boot, v)
		}
	}()
	if code == 0 {
		fmt.Printf("PASS: sarama test in %.1fs\n", time.Since(t0).Seconds())
	}
	os.Exit(code)
}
