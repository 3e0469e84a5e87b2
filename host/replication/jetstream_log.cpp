#include "host/replication/jetstream_log.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/replication/log_entry.hpp"

namespace arbor::replication {
namespace {

struct OptionsDeleter {
  void operator()(natsOptions* options) const { natsOptions_Destroy(options); }
};
struct ConnectionDeleter {
  void operator()(natsConnection* connection) const { natsConnection_Destroy(connection); }
};
struct ContextDeleter {
  void operator()(jsCtx* context) const { jsCtx_Destroy(context); }
};
struct MessageDeleter {
  void operator()(natsMsg* message) const { natsMsg_Destroy(message); }
};
struct AckDeleter {
  void operator()(jsPubAck* ack) const { jsPubAck_Destroy(ack); }
};
struct StreamInfoDeleter {
  void operator()(jsStreamInfo* info) const { jsStreamInfo_Destroy(info); }
};
struct KeyValueDeleter {
  void operator()(kvStore* store) const { kvStore_Destroy(store); }
};
struct KeyValueEntryDeleter {
  void operator()(kvEntry* entry) const { kvEntry_Destroy(entry); }
};
using MessagePtr = std::unique_ptr<natsMsg, MessageDeleter>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr jsErrCode kNoJetStreamError = static_cast<jsErrCode>(0);

// "what: <libnats text> (JetStream error N)": libnats keeps the server's text in its last error.
std::string describe(std::string_view what, natsStatus status, jsErrCode code) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = absl::StrCat(std::string(what), ": ", natsStatus_GetText(status));
  if (last != nullptr && *last != '\0') absl::StrAppend(&text, " (", last, ")");
  if (code != 0) absl::StrAppend(&text, " [JetStream error ", static_cast<int>(code), "]");
  return text;
}

// A failure whose outcome is unknown or passing (no quorum, a timeout, a lost connection).
absl::Status unavailable(std::string_view what, natsStatus status, jsErrCode code) {
  return absl::UnavailableError(describe(what, status, code));
}

LogMessage to_log_message(natsMsg* message) {
  LogMessage out;
  out.sequence = natsMsg_GetSequence(message);
  const char* id = nullptr;
  if (natsMsgHeader_Get(message, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
    out.message_id = id;
  }
  out.data.assign(natsMsg_GetData(message),
                  static_cast<std::size_t>(natsMsg_GetDataLength(message)));
  return out;
}

absl::StatusOr<StreamInfoPtr> stream_info(jsCtx* context, const std::string& stream,
                                          jsOptions* options) {
  jsStreamInfo* raw = nullptr;
  jsErrCode code = kNoJetStreamError;
  const natsStatus got = js_GetStreamInfo(&raw, context, stream.c_str(), options, &code);
  StreamInfoPtr info(raw);
  if (got != NATS_OK || !info) return unavailable("replication: stream state", got, code);
  return info;
}

}  // namespace

struct JetStreamLog::Handles {
  std::unique_ptr<natsOptions, OptionsDeleter> options;
  std::unique_ptr<natsConnection, ConnectionDeleter> connection;
  std::unique_ptr<jsCtx, ContextDeleter> context;
  jsOptions request_options;  // the per-request wait
  std::unique_ptr<kvStore, KeyValueDeleter> lease;
};

JetStreamLog::JetStreamLog(ConstructionKey, LogOptions options, std::unique_ptr<Handles> handles)
    : options_(std::move(options)), handles_(std::move(handles)) {}

JetStreamLog::~JetStreamLog() = default;

absl::StatusOr<std::unique_ptr<JetStreamLog>> JetStreamLog::open(const LogOptions& options) {
  if (options.servers.empty()) return absl::InvalidArgumentError("replication: no NATS servers");
  if (options.replicas < 1 || options.replicas > 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication: replicas must be 1 to 5, not ", options.replicas));
  }
  auto handles = std::make_unique<Handles>();
  natsOptions* raw_options = nullptr;
  if (natsStatus made = natsOptions_Create(&raw_options); made != NATS_OK) {
    return absl::InternalError(describe("replication: NATS options", made, kNoJetStreamError));
  }
  handles->options.reset(raw_options);
  std::vector<const char*> servers;
  for (const std::string& server : options.servers) servers.push_back(server.c_str());
  natsOptions_SetServers(raw_options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetTimeout(raw_options, options.timeout.count());
  // Keep trying through a server's restart or an election rather than giving up the connection.
  natsOptions_SetMaxReconnect(raw_options, -1);
  natsOptions_SetReconnectWait(raw_options, 250);
  natsConnection* connection = nullptr;
  if (natsStatus connected = natsConnection_Connect(&connection, raw_options);
      connected != NATS_OK) {
    return unavailable(absl::StrCat("replication: connecting to ", options.servers.front()),
                       connected, kNoJetStreamError);
  }
  handles->connection.reset(connection);
  jsOptions_Init(&handles->request_options);
  handles->request_options.Wait = options.timeout.count();
  jsCtx* context = nullptr;
  if (natsStatus js = natsConnection_JetStream(&context, connection, &handles->request_options);
      js != NATS_OK) {
    return unavailable("replication: JetStream", js, kNoJetStreamError);
  }
  handles->context.reset(context);

  // The stream: created when missing, checked when there.
  const std::string subjects = options.subject.substr(0, options.subject.rfind('.')) + ".>";
  jsErrCode code = kNoJetStreamError;
  jsStreamInfo* raw_info = nullptr;
  natsStatus got = js_GetStreamInfo(&raw_info, context, options.stream.c_str(),
                                    &handles->request_options, &code);
  StreamInfoPtr info(raw_info);
  if (got == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = options.stream.c_str();
    const char* subject_list[] = {subjects.c_str()};
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = options.replicas;
    config.MaxAge = options.max_age.count() * kNanosPerSecond;
    // JetStream refuses a duplicate window longer than the retention.
    config.Duplicates =
        std::min(options.duplicate_window, options.max_age).count() * kNanosPerSecond;
    config.DenyDelete = true;  // the log is history: nothing removes an entry but retention
    config.DenyPurge = true;
    code = kNoJetStreamError;
    raw_info = nullptr;
    got = js_AddStream(&raw_info, context, &config, &handles->request_options, &code);
    info.reset(raw_info);
    if (code == JSStreamSubjectOverlapErr || code == JSStreamReplicasNotSupportedErr) {
      // The servers' configuration, not a passing fault: retrying would not help.
      return absl::FailedPreconditionError(describe(
          absl::StrCat("replication: creating stream ", options.stream,
                       code == JSStreamSubjectOverlapErr
                           ? " (another stream already takes its subjects: point arbord at that "
                             "stream, or use another NATS cluster)"
                           : " (the server is not clustered: set replication.replicas = 1, or "
                             "run a cluster)"),
          got, code));
    }
    // Another process may have created it meanwhile: then it is there as asked, or checked below.
    if (got != NATS_OK && code != JSStreamNameExistErr) {
      return unavailable(absl::StrCat("replication: creating stream ", options.stream), got, code);
    }
    if (got != NATS_OK) {
      raw_info = nullptr;
      got = js_GetStreamInfo(&raw_info, context, options.stream.c_str(), &handles->request_options,
                             &code);
      info.reset(raw_info);
    }
  }
  if (got != NATS_OK || !info) {
    return unavailable(absl::StrCat("replication: stream ", options.stream), got, code);
  }
  const jsStreamConfig& config = *info->Config;
  const bool same_subjects = config.SubjectsLen == 1 && subjects == config.Subjects[0];
  if (!same_subjects || config.Replicas != options.replicas) {
    return absl::FailedPreconditionError(
        absl::StrCat("replication: stream ", options.stream, " exists with ", config.Replicas,
                     " replicas and subjects other than ", subjects, " (wanted ", options.replicas,
                     " replicas)"));
  }
  // The lease bucket: bound when it is there, created (with the stream's replicas) when not.
  {
    kvStore* bucket = nullptr;
    natsStatus bound = js_KeyValue(&bucket, context, options.lease_bucket.c_str());
    if (bound != NATS_OK) {
      kvConfig config;
      kvConfig_Init(&config);
      config.Bucket = options.lease_bucket.c_str();
      config.History = 1;
      config.TTL = std::chrono::duration_cast<std::chrono::nanoseconds>(options.lease_ttl).count();
      config.StorageType = js_FileStorage;
      config.Replicas = options.replicas;
      bound = js_CreateKeyValue(&bucket, context, &config);
      if (bound != NATS_OK) bound = js_KeyValue(&bucket, context, options.lease_bucket.c_str());
    }
    if (bound != NATS_OK) {
      return unavailable(absl::StrCat("replication: lease bucket ", options.lease_bucket), bound,
                         kNoJetStreamError);
    }
    handles->lease.reset(bucket);
  }
  return std::make_unique<JetStreamLog>(ConstructionKey(), options, std::move(handles));
}

absl::StatusOr<JetStreamLog::Appended> JetStreamLog::append(std::string_view message_id,
                                                            std::string_view data,
                                                            std::uint64_t after_sequence) {
  if (data.size() > max_message_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("replication: a message of ", data.size(),
                                                   " bytes; the server takes ",
                                                   max_message_bytes()));
  }
  const std::string id(message_id);
  // ExpectLastSubjectSeq 0 means "no expectation" to JetStream; an append to an empty subject
  // says ExpectNoMessage instead.
  auto publish_once = [&](bool expect_empty, jsErrCode& code) -> absl::StatusOr<Appended> {
    jsPubOptions publish;
    jsPubOptions_Init(&publish);
    publish.MsgId = id.c_str();
    publish.MaxWait = options_.timeout.count();
    if (expect_empty) {
      publish.ExpectNoMessage = true;
    } else {
      publish.ExpectLastSubjectSeq = after_sequence;
    }
    jsPubAck* raw_ack = nullptr;
    code = kNoJetStreamError;
    const natsStatus published =
        js_Publish(&raw_ack, handles_->context.get(), options_.subject.c_str(), data.data(),
                   static_cast<int>(data.size()), &publish, &code);
    std::unique_ptr<jsPubAck, AckDeleter> ack(raw_ack);
    if (published == NATS_OK && ack) return Appended{ack->Sequence, ack->Duplicate};
    return unavailable(absl::StrCat("replication: appending ", id), published, code);
  };
  jsErrCode code = kNoJetStreamError;
  absl::StatusOr<Appended> appended = publish_once(after_sequence == 0, code);
  if (appended.ok() || code != JSStreamWrongLastSequenceErr) return appended;
  // Refused for its expected sequence: either another appender got there first (fenced), or this
  // is a retry whose first attempt was stored (JetStream checks the sequence before duplicates).
  absl::StatusOr<std::optional<LogMessage>> tail = last();
  if (!tail.ok()) return tail.status();
  if (tail->has_value() && (*tail)->message_id == id) return Appended{(*tail)->sequence, true};
  if (!tail->has_value() && after_sequence > 0) {
    // Retention dropped every message of the subject, ours at `after_sequence` too. If the
    // stream still ends there, nobody appended since: append to the empty subject, which fails
    // if another appender gets there first.
    absl::StatusOr<Bounds> held = bounds();
    if (!held.ok()) return held.status();
    if (held->last == after_sequence) {
      appended = publish_once(true, code);
      if (appended.ok() || code != JSStreamWrongLastSequenceErr) return appended;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "replication: fenced: the log's last entry is ",
      tail->has_value() ? absl::StrCat((*tail)->message_id, " at sequence ", (*tail)->sequence)
                        : std::string("none"),
      ", not ", after_sequence, " as this appender expected: another leader has appended"));
}

std::size_t JetStreamLog::max_message_bytes() const {
  const std::int64_t payload = natsConnection_GetMaxPayload(handles_->connection.get());
  const std::int64_t room = static_cast<std::int64_t>(kMessageHeaderRoom);
  return payload > room ? static_cast<std::size_t>(payload - room) : 0;
}

absl::StatusOr<std::optional<LogMessage>> JetStreamLog::last() const {
  natsMsg* raw = nullptr;
  jsErrCode code = kNoJetStreamError;
  const natsStatus got = js_GetLastMsg(&raw, handles_->context.get(), options_.stream.c_str(),
                                       options_.subject.c_str(), &handles_->request_options, &code);
  MessagePtr message(raw);
  if (got == NATS_NOT_FOUND || code == JSNoMessageFoundErr) return std::optional<LogMessage>();
  if (got != NATS_OK || !message)
    return unavailable("replication: reading the log's tail", got, code);
  return std::optional<LogMessage>(to_log_message(message.get()));
}

absl::StatusOr<JetStreamLog::Bounds> JetStreamLog::bounds() const {
  absl::StatusOr<StreamInfoPtr> info =
      stream_info(handles_->context.get(), options_.stream, &handles_->request_options);
  if (!info.ok()) return info.status();
  const std::uint64_t last = (*info)->State.LastSeq;
  // Empty: new (last 0), or every message aged out; what retention dropped stays counted.
  if ((*info)->State.Msgs == 0) return Bounds{last + 1, last};
  return Bounds{(*info)->State.FirstSeq, last};
}

absl::StatusOr<std::string> JetStreamLog::stream_leader() const {
  absl::StatusOr<StreamInfoPtr> info =
      stream_info(handles_->context.get(), options_.stream, &handles_->request_options);
  if (!info.ok()) return info.status();
  const jsClusterInfo* cluster = (*info)->Cluster;
  return cluster != nullptr && cluster->Leader != nullptr ? std::string(cluster->Leader)
                                                          : std::string();
}

// One direct get per message: simple and stateless (a reader may start anywhere); a follower that
// must replay faster gets an ordered consumer later.
absl::StatusOr<std::vector<LogMessage>> JetStreamLog::read(std::uint64_t from,
                                                           std::size_t max_messages,
                                                           std::chrono::milliseconds wait) const {
  std::vector<LogMessage> messages;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  absl::StatusOr<Bounds> held = bounds();
  if (!held.ok()) return held.status();
  while (held->last < from && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held = bounds();
    if (!held.ok()) return held.status();
  }
  if (held->first > from) {
    return absl::OutOfRangeError(
        absl::StrCat("replication: the log starts at sequence ", held->first, "; sequence ", from,
                     " is gone (retention): this replica needs a checkpoint"));
  }
  for (std::uint64_t sequence = from; sequence <= held->last && messages.size() < max_messages;
       ++sequence) {
    natsMsg* raw = nullptr;
    jsErrCode code = kNoJetStreamError;
    const natsStatus got = js_GetMsg(&raw, handles_->context.get(), options_.stream.c_str(),
                                     sequence, &handles_->request_options, &code);
    MessagePtr message(raw);
    if (got == NATS_NOT_FOUND || code == JSNoMessageFoundErr) continue;
    if (got != NATS_OK || !message) {
      return unavailable(absl::StrCat("replication: reading sequence ", sequence), got, code);
    }
    if (options_.subject != natsMsg_GetSubject(message.get())) continue;  // another shard
    messages.push_back(to_log_message(message.get()));
  }
  return messages;
}

namespace {
constexpr const char* kLeaseKey = "leader";
}  // namespace

absl::StatusOr<JetStreamLog::Lease> JetStreamLog::read_lease() const {
  kvEntry* raw = nullptr;
  const natsStatus got = kvStore_Get(&raw, handles_->lease.get(), kLeaseKey);
  std::unique_ptr<kvEntry, KeyValueEntryDeleter> entry(raw);
  if (got == NATS_NOT_FOUND) return Lease{};  // never taken, expired or deleted
  if (got != NATS_OK || !entry) {
    return unavailable("replication: reading the lease", got, kNoJetStreamError);
  }
  const char* holder = kvEntry_ValueString(entry.get());
  return Lease{holder == nullptr ? "" : holder, kvEntry_Revision(entry.get())};
}

absl::StatusOr<std::uint64_t> JetStreamLog::take_lease(std::string_view holder) {
  const std::string value(holder);
  std::uint64_t revision = 0;
  const natsStatus taken = kvStore_Create(&revision, handles_->lease.get(), kLeaseKey, value.data(),
                                          static_cast<int>(value.size()));
  if (taken == NATS_OK) return revision;
  const std::string why = describe("replication: taking the lease", taken, kNoJetStreamError);
  absl::StatusOr<Lease> now = read_lease();
  if (now.ok() && !now->holder.empty() && now->holder != value) {
    return absl::FailedPreconditionError(absl::StrCat("the lease is held by ", now->holder));
  }
  return absl::UnavailableError(why);
}

absl::StatusOr<std::uint64_t> JetStreamLog::refresh_lease(std::string_view holder,
                                                          std::uint64_t revision) {
  const std::string value(holder);
  std::uint64_t refreshed = 0;
  const natsStatus written = kvStore_Update(&refreshed, handles_->lease.get(), kLeaseKey,
                                            value.data(), static_cast<int>(value.size()), revision);
  if (written == NATS_OK) return refreshed;
  const std::string why = describe("replication: refreshing the lease", written, kNoJetStreamError);
  absl::StatusOr<Lease> now = read_lease();
  if (now.ok() && (now->holder != value || now->revision != revision)) {
    return absl::FailedPreconditionError(now->holder.empty()
                                             ? std::string("the lease expired")
                                             : absl::StrCat("the lease is held by ", now->holder));
  }
  return absl::UnavailableError(why);
}

}  // namespace arbor::replication
