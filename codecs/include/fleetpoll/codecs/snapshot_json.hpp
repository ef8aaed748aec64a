// fleetpoll::codecs — DeviceSnapshot as JSON (for `fleetpoll probe --json` and the JSON-lines
// sink).
//
// Field names are the schema's field names (codecs/schema/snapshot.fbs), documented in
// docs/snapshot-schema.md, and stable: they are only ever added to. Enum fields are rendered as
// their MIB / schema name ("tonerCartridge", "some_remaining"); a value outside the enum as its
// number. Absent optional fields are left out (absent is not zero). Byte fields are rendered as
// lower-case hex (detected_error_state) or omitted by default (description_raw).
// Thread safety: pure functions.
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "fleetpoll/schema/snapshot_generated.h"

namespace fleetpoll::codecs {

struct json_options {
  // Add "description_raw_hex" (the bytes the agent sent) to each supply. Default: false.
  bool include_raw = false;
};

boost::json::value snapshot_to_json(const schema::DeviceSnapshot& snapshot,
                                    const json_options& options = {});

// Compact (one line, for JSON lines) or indented by two spaces. No trailing newline.
std::string to_json_text(const boost::json::value& v, bool pretty = false);

}  // namespace fleetpoll::codecs
