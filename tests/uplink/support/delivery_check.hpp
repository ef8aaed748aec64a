// Test helper: reads the receiver's JSON lines and checks them against the outbox.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleetpoll/uplink/record_source.hpp"

namespace fleetpoll::uplink::test {

struct received_line {
  std::string site;
  std::uint64_t seq = 0;
  std::string record_json;  // the "record" object as written
};

// Parses every line of a receiver output file (the fields the tests need).
std::vector<received_line> read_received(const std::string& path);

// Empty when `got` holds exactly the records of `sent`, each once, in seq order, with the JSON
// of the same ChangeRecord; else a description of the first differences.
std::string compare_delivery(const std::vector<outbox_record>& sent,
                             const std::vector<received_line>& got, const std::string& site);

// Records appended by the tests: a deterministic office-like mix of kinds per seq.
std::string test_record(std::uint64_t seq);

}  // namespace fleetpoll::uplink::test
