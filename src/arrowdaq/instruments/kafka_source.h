// KafkaSource: the `kafka` driver. It consumes one origin stream (`node`, `stream`) that another
// arrowdaq node's Kafka sink sends to `topic`, and republishes its batches as this instrument's
// stream (named by the instrument's table key, e.g. [instruments."a.ramp"]) with the original
// timestamps, columns, units and stream metadata (provenance under `origin.*`). One instrument
// per origin stream: a driver publishes one stream, and an aggregator lists one `kafka`
// instrument per stream it gathers.
//
// - Schema: learned when the driver is built, from the schema topic (key `<node>/<stream>`),
//   waiting up to `schema_timeout` for the origin to appear (the local stream must be
//   declared before any recording starts). Inline schemas in the data topic are used too.
// - Start: `committed` (where this consumer group left off; earliest for a new group),
//   `earliest`, `latest`, or a UTC time ("2026-12-01T10:00:00Z": the first message whose
//   timestamp, the batch's first sample, is at or after it). Every partition of the topic is
//   assigned to this consumer (no group rebalancing); offsets are committed to `group`
//   after the batch was published.
// - Sequence numbers per origin session: a jump forward is a `gap` event with the count
//   (the batches are kept); a number already received (redelivery) is dropped and counted
//   as a `duplicate` event; a new session (the origin restarted) is an `info` event.
// - Bad input (headers missing or malformed, a value that is not Arrow IPC or is truncated, a
//   schema whose columns differ from the stream's) is a `bad_message` event naming the topic,
//   partition and offset; the message is skipped, the stream goes on.
//
// Threading: as every driver, used only on the instrument's own thread.
#pragma once

#include <memory>

#include "arrowdaq/instruments/driver.h"

namespace arrowdaq::instruments {

/// Register the `kafka` driver (called once by DriverRegistry::Default()).
Status RegisterKafkaDriver(DriverRegistry& registry);

/// The option specs of the `kafka` driver.
const std::vector<OptionSpec>& KafkaSourceOptionSpecs();

/// Build a `kafka` driver from validated options (fetches the origin's schema).
Result<std::unique_ptr<InstrumentDriver>> MakeKafkaSource(const ResolvedOptions& options);

}  // namespace arrowdaq::instruments
