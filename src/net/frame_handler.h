// FrameHandler: what a protocol front end gives the network layer. The
// network threads carry bytes and connections; they know no wire format
// beyond "a frame is a 4-byte big-endian length and that many bytes" (true of
// the native protocol and of Kafka's). Everything inside a frame is the
// front end's: it decodes, calls the broker core and encodes the answer.
//
// Threads: every call comes from the network thread that owns the
// connection, except that one handler serves all network threads at once, so
// a handler keeps its per-connection state in its Session.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pipeline/completion.h"
#include "pipeline/partition.h"

namespace sentry::net {

// Where a response goes: bytes appended to bytes(), then optionally a
// payload sent from memory the caller keeps alive through `hold` (zero copy
// from a mapped segment).
class ResponseOut {
 public:
  virtual ~ResponseOut() = default;
  virtual std::vector<uint8_t>* bytes() = 0;
  virtual void AppendPayload(std::span<const uint8_t> data, std::shared_ptr<const void> hold) = 0;
};

// A front end's per-connection state, owned by the connection.
class Session {
 public:
  virtual ~Session() = default;
};

// A front end's memory of a parked read (what it must answer later).
class ParkedState {
 public:
  virtual ~ParkedState() = default;
};

// A long-poll read waiting for data on `partitions` (owned by the network
// thread; woken when one of their high watermarks moves or at the deadline).
struct ParkedRead {
  uint64_t conn_id = 0;
  std::vector<std::shared_ptr<pipeline::Partition>> partitions;
  int64_t deadline_ms = 0;
  std::unique_ptr<ParkedState> state;
};

enum class Outcome {
  kDone,        // answered (or nothing to answer); next frame
  kSubmitted,   // handed to another thread; the answer comes with a Completion
  kRetryLater,  // not consumed (queue full or ordering); offer the same frame again later
  kParked,      // long-poll: *parked was filled
  kClose,       // answer what was written, then close the connection
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // `peer` is the client's address as "/ip" (Kafka's client host format).
  virtual std::unique_ptr<Session> NewSession(const pipeline::Route& route,
                                              const std::string& peer) = 0;
  // A TLS listener's connection finished its handshake (before its first
  // frame); `peer_subject` is the client certificate's subject in RFC 2253
  // form, empty without one.
  virtual void OnTlsEstablished(Session& s, const std::string& peer_subject) {
    (void)s;
    (void)peer_subject;
  }
  // True while the connection must not start another frame.
  virtual bool Paused(const Session& s) const = 0;
  // Smallest valid frame length (the bytes after the 4-byte length).
  virtual uint32_t min_frame_bytes() const = 0;
  // Largest frame length this connection may send now: `configured` (the
  // broker's max.frame.bytes), or less (before a SASL listener's client
  // authenticated).
  virtual int64_t max_frame_bytes(const Session& s, int64_t configured) const {
    (void)s;
    return configured;
  }
  // One complete frame, `frame` = the bytes after the length. `hold` keeps
  // them alive for operations that outlive this call.
  virtual Outcome OnFrame(Session& s, std::span<const uint8_t> frame,
                          const std::shared_ptr<const void>& hold, ResponseOut& out,
                          ParkedRead* parked) = 0;
  // A frame length below min_frame_bytes() or above the broker's limit: write
  // the protocol's error answer if it has one; the connection is closed
  // after. `available` = the bytes received so far, length included.
  virtual void OnBadLength(Session& s, uint32_t length, std::span<const uint8_t> available,
                           ResponseOut& out) = 0;
  // An operation of this connection came back and the connection is still
  // open: answer it. Called only then; a side effect that must happen
  // whatever became of the connection belongs in the Completion's on_done,
  // which the network layer runs before this (or instead of it). Returns how
  // many requests that OnFrame answered kSubmitted this ends: 0 when the
  // request waits for more operations (a Kafka produce to many partitions
  // ends with the last of them) or when the answer must wait for an earlier
  // one (it is kept and answered later, in order), 1, or more when answers
  // held back for this one go now.
  virtual int OnCompletion(pipeline::CompletionPtr c, Session& s, ResponseOut& out) = 0;
  // Re-checks a parked read; answers and returns true when it is satisfied,
  // its partition was deleted, or `expired`.
  virtual bool OnParkedReady(ParkedRead& parked, bool expired, Session& s,
                             ResponseOut& out) = 0;
};

}  // namespace sentry::net
