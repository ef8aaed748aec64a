#include "change_records.hpp"

namespace fleetpoll::uplink::test {

std::string make_change_record(std::uint64_t seq, std::uint64_t device, schema::ChangeKind kind,
                               std::uint64_t at_ms, std::uint64_t value) {
  using namespace fleetpoll::schema;
  flatbuffers::FlatBufferBuilder fbb(256);
  std::string addr =
      "127.1." + std::to_string((device >> 8) & 255) + "." + std::to_string(device & 255) + ":161";
  auto address = fbb.CreateString(addr);
  flatbuffers::Offset<IdentityChange> identity = 0;
  flatbuffers::Offset<SupplyChange> supply = 0;
  flatbuffers::Offset<AlertChange> alert = 0;
  flatbuffers::Offset<CounterChange> counter = 0;
  flatbuffers::Offset<Heartbeat> heartbeat = 0;
  flatbuffers::Offset<StatusChange> status = 0;
  flatbuffers::Offset<Reachability> reach = 0;
  switch (kind) {
    case ChangeKind::identity:
      identity = CreateIdentityChangeDirect(
          fbb, "HP", "HP LaserJet M507", ("PHB" + std::to_string(100000 + device)).c_str(),
          "2409081_052700", "a0:b3:cc:00:12:34", "1.3.6.1.4.1.11.2.3.9.1", 11,
          ("NPI" + std::to_string(device)).c_str(), "Floor 2", "M507");
      break;
    case ChangeKind::supply_level:
    case ChangeKind::supply_low:
    case ChangeKind::supply_reorder:
    case ChangeKind::supply_empty:
    case ChangeKind::supply_replaced: {
      auto pct = static_cast<std::int16_t>(100 - static_cast<std::int16_t>(value % 100));
      supply = CreateSupplyChangeDirect(fbb, 1, 1, "Black Cartridge HP 89A", SupplyType::toner,
                                        SupplyClass::supplyThatIsConsumed, "black", false,
                                        Unit::percent, 100, pct, LevelQuality::exact, pct, pct + 5,
                                        static_cast<std::int16_t>(pct + 5));
      break;
    }
    case ChangeKind::alert_raised:
    case ChangeKind::alert_cleared:
      alert = CreateAlertChangeDirect(fbb, 1, static_cast<std::uint32_t>(value % 8 + 1),
                                      AlertSeverity::warning, AlertTrainingLevel::untrained,
                                      AlertGroup::input, 1, 2, AlertCode::subunitEmpty,
                                      "Tray 2 empty", 123456);
      break;
    case ChangeKind::device_down:
    case ChangeKind::device_up:
      reach = CreateReachabilityDirect(fbb, kind == ChangeKind::device_down ? 3u : 0u,
                                       kind == ChangeKind::device_down ? "timeout" : nullptr);
      break;
    case ChangeKind::status_changed:
      status = CreateStatusChange(fbb, HrDeviceStatus::warning, HrPrinterStatus::idle);
      break;
    case ChangeKind::heartbeat: {
      std::vector<flatbuffers::Offset<CounterValue>> cv{
          CreateCounterValue(fbb, 1, 1, Unit::impressions, 100000 + value)};
      std::vector<std::int16_t> pcts{57, 43, 88, 12};
      heartbeat = CreateHeartbeatDirect(fbb, &cv, &pcts, true);
      break;
    }
    default:
      counter =
          CreateCounterChange(fbb, 1, 1, Unit::impressions, 100000 + value, 100000 + value - 7, 7);
      break;
  }
  auto rec = CreateChangeRecord(fbb, seq, device, address, at_ms, kind, identity, supply, 0, alert,
                                status, reach, counter, heartbeat);
  FinishChangeRecordBuffer(fbb, rec);
  return {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()};
}

}  // namespace fleetpoll::uplink::test
