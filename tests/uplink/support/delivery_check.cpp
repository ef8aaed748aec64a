#include "delivery_check.hpp"

#include <fstream>

#include "change_records.hpp"
#include "fleetpoll/codecs/change_record.hpp"

namespace fleetpoll::uplink::test {

std::vector<received_line> read_received(const std::string& path) {
  std::vector<received_line> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    received_line r;
    auto s = line.find("\"site\":\"");
    auto q = line.find("\"seq\":");
    auto rec = line.find(",\"record\":");
    if (s == std::string::npos || q == std::string::npos || rec == std::string::npos) {
      r.seq = 0;
      r.record_json = line;
      out.push_back(r);
      continue;
    }
    r.site = line.substr(s + 8, line.find('"', s + 8) - (s + 8));
    r.seq = std::stoull(line.substr(q + 6));
    r.record_json = line.substr(rec + 10, line.size() - (rec + 10) - 1);
    out.push_back(std::move(r));
  }
  return out;
}

std::string compare_delivery(const std::vector<outbox_record>& sent,
                             const std::vector<received_line>& got, const std::string& site) {
  std::string diff;
  if (got.size() != sent.size())
    diff += "received " + std::to_string(got.size()) + " lines for " + std::to_string(sent.size()) +
            " records; ";
  std::size_t n = std::min(got.size(), sent.size());
  int shown = 0;
  for (std::size_t i = 0; i < n && shown < 5; ++i) {
    std::span<const std::uint8_t> b(reinterpret_cast<const std::uint8_t*>(sent[i].bytes.data()),
                                    sent[i].bytes.size());
    std::string want = codecs::change_record_json(b);
    if (got[i].seq != sent[i].seq || got[i].site != site || got[i].record_json != want) {
      diff += "line " + std::to_string(i + 1) + ": seq " + std::to_string(got[i].seq) + " (want " +
              std::to_string(sent[i].seq) + ")" +
              (got[i].record_json != want ? " record differs" : "") + "; ";
      ++shown;
    }
  }
  return diff;
}

std::string test_record(std::uint64_t seq) {
  using schema::ChangeKind;
  static const ChangeKind kinds[] = {ChangeKind::counter_delta, ChangeKind::supply_level,
                                     ChangeKind::counter_delta, ChangeKind::alert_raised,
                                     ChangeKind::heartbeat,     ChangeKind::status_changed,
                                     ChangeKind::counter_delta, ChangeKind::identity};
  return make_change_record(seq, seq % 97, kinds[seq % 8], 1'700'000'000'000 + seq * 10, seq);
}

}  // namespace fleetpoll::uplink::test
