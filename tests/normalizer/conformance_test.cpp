// Conformance against the LibreNMS recordings (FLEETPOLL_FIXTURES_DIR, see its README): for every
// recording with an expected .json, fleetpoll's supply and tray rows (count, descriptions, types,
// capacities, levels) and identity (model, serial) must equal LibreNMS's — or differ in a way
// that (a) follows one of fleetpoll's documented rules and (b) is listed, row for row, in the
// deviation table of docs/normalization.md. An unlisted difference, or a listed one that no
// longer happens, fails the test.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_support.hpp"

namespace fleetpoll {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace s = fleetpoll::schema;
using test::str;

// One difference, before grouping.
struct difference {
  std::string kind;  // "supply", "tray", "identity"
  std::uint32_t index = 0;
  std::string field;  // description, type, capacity, current, row, model, serial
  std::string theirs;
  std::string ours;
};

// A row of the docs table: rows with equal (field, theirs, ours) are grouped.
struct deviation_row {
  std::string file, rows, field, theirs, ours;
  friend bool operator<(const deviation_row& a, const deviation_row& b) {
    return std::tie(a.file, a.rows, a.field, a.theirs, a.ours) <
           std::tie(b.file, b.rows, b.field, b.theirs, b.ours);
  }
  friend bool operator==(const deviation_row&, const deviation_row&) = default;
};

std::string markdown(const deviation_row& r) {
  return "| " + r.file + " | " + r.rows + " | " + r.field + " | " + r.theirs + " | " + r.ours +
         " | |";
}

std::string json_text(const json::value& v) {
  if (v.is_null()) return "(null)";
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  return json::serialize(v);
}

std::vector<std::string> recordings_with_json() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(test::shared_fixtures_dir(), ec)) return {""};  // sentinel: skip
  for (const auto& e : fs::directory_iterator(test::shared_fixtures_dir(), ec))
    if (e.path().extension() == ".json" &&
        fs::exists(fs::path(e.path()).replace_extension(".snmprec")))
      out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) return {""};
  return out;
}

std::string supply_current(const s::Supply& o) {
  if (o.remaining_percent()) return std::to_string(*o.remaining_percent());
  if (o.fill_percent()) return "fill " + std::to_string(*o.fill_percent()) + "%";
  return s::EnumNameLevelQuality(o.quality());
}

std::string tray_current(const s::InputTray& o) {
  if (o.percent()) return std::to_string(*o.percent());
  return s::EnumNameLevelQuality(o.quality());
}

template <class T>
std::string opt_text(flatbuffers::Optional<T> v) {
  return v ? std::to_string(*v) : std::string("(absent)");
}

// Every difference between LibreNMS's expectation and our snapshot.
std::vector<difference> compare(const json::object& expected, const s::DeviceSnapshot& snap) {
  std::vector<difference> out;
  std::map<std::uint32_t, const s::Supply*> ours_supplies;
  std::map<std::uint32_t, const s::InputTray*> ours_trays;
  for (const auto* sp : *snap.supplies()) ours_supplies[sp->index()] = sp;
  for (const auto* t : *snap.trays()) ours_trays[t->index()] = t;
  std::set<std::uint32_t> seen_supplies, seen_trays;

  if (const auto* ps = expected.if_contains("printer-supplies")) {
    for (const auto& rv : ps->at("discovery").at("printer_supplies").as_array()) {
      const auto& r = rv.as_object();
      auto index = static_cast<std::uint32_t>(r.at("supply_index").to_number<std::int64_t>());
      bool tray = r.at("supply_type").as_string() == "input";
      std::string theirs_descr = json_text(r.at("supply_descr"));
      std::string theirs_cap = json_text(r.at("supply_capacity"));
      std::string theirs_cur = json_text(r.at("supply_current"));
      if (tray) {
        seen_trays.insert(index);
        auto it = ours_trays.find(index);
        if (it == ours_trays.end()) {
          out.push_back({"tray", index, "row", "present", "(absent)"});
          continue;
        }
        const auto& o = *it->second;
        if (theirs_descr != str(o.name()))
          out.push_back({"tray", index, "description", theirs_descr, str(o.name())});
        if (theirs_cap != opt_text(o.max_capacity()))
          out.push_back({"tray", index, "capacity", theirs_cap, opt_text(o.max_capacity())});
        if (theirs_cur != tray_current(o))
          out.push_back({"tray", index, "current", theirs_cur, tray_current(o)});
      } else {
        seen_supplies.insert(index);
        auto it = ours_supplies.find(index);
        if (it == ours_supplies.end()) {
          out.push_back({"supply", index, "row", "present", "(absent)"});
          continue;
        }
        const auto& o = *it->second;
        if (theirs_descr != str(o.description()))
          out.push_back({"supply", index, "description", theirs_descr, str(o.description())});
        std::string our_type = o.type() ? s::EnumNameSupplyType(*o.type()) : "(absent)";
        if (our_type.empty()) our_type = std::to_string(static_cast<int>(*o.type()));
        std::string theirs_type = json_text(r.at("supply_type"));
        if (theirs_type != our_type)
          out.push_back({"supply", index, "type", theirs_type, our_type});
        if (theirs_cap != opt_text(o.max_capacity()))
          out.push_back({"supply", index, "capacity", theirs_cap, opt_text(o.max_capacity())});
        if (theirs_cur != supply_current(o))
          out.push_back({"supply", index, "current", theirs_cur, supply_current(o)});
      }
    }
    for (const auto& [i, o] : ours_supplies)
      if (!seen_supplies.count(i))
        out.push_back({"supply", i, "row", "(absent)",
                       std::string("quality ") + s::EnumNameLevelQuality(o->quality())});
    for (const auto& [i, o] : ours_trays)
      if (!seen_trays.count(i))
        out.push_back({"tray", i, "row", "(absent)",
                       o->name() ? std::string("quality ") + s::EnumNameLevelQuality(o->quality())
                                 : std::string("no name")});
  }
  const auto& dev = expected.at("os").at("discovery").at("devices").as_array().at(0).as_object();
  std::string model = str(snap.identity()->model()), serial = str(snap.identity()->serial());
  if (model.empty()) model = "(none)";
  if (serial.empty()) serial = "(none)";
  // LibreNMS's null and fleetpoll's absent value say the same: none.
  auto theirs = [](const json::value& v) {
    return v.is_null() ? std::string("(none)") : json_text(v);
  };
  if (theirs(dev.at("hardware")) != model)
    out.push_back({"identity", 0, "model", theirs(dev.at("hardware")), model});
  if (theirs(dev.at("serial")) != serial)
    out.push_back({"identity", 0, "serial", theirs(dev.at("serial")), serial});
  return out;
}

// Why a difference is on purpose; empty when it follows none of fleetpoll's rules.
std::string rule_for(const difference& d, const s::DeviceSnapshot& snap) {
  if (d.kind == "identity") return "identity sources";  // explained per row in the docs
  const s::Supply* sp = nullptr;
  const s::InputTray* tr = nullptr;
  for (const auto* x : *snap.supplies())
    if (x->index() == d.index) sp = x;
  for (const auto* x : *snap.trays())
    if (x->index() == d.index) tr = x;
  auto level = d.kind == "supply" ? (sp ? sp->level() : flatbuffers::nullopt)
                                  : (tr ? tr->current_level() : flatbuffers::nullopt);
  auto max = d.kind == "supply" ? (sp ? sp->max_capacity() : flatbuffers::nullopt)
                                : (tr ? tr->max_capacity() : flatbuffers::nullopt);
  if (d.field == "current" && d.ours == "some_remaining" && level == -3 && d.theirs == "50")
    return "-3";
  if (d.field == "current" && d.ours == "unrestricted" && level == -1 && d.theirs == "0")
    return "-1";
  if (d.field == "current" && d.ours == "no_capacity" && max && *max <= 0 && level &&
      d.theirs == std::to_string(*level))
    return "no capacity";
  if (d.field == "current" && sp && sp->receptacle() && sp->fill_percent() &&
      d.theirs == std::to_string(100 - *sp->fill_percent()))
    return "receptacle";
  if (d.field == "capacity" && d.kind == "supply" && max && *max <= 0 && d.theirs == "100")
    return "raw capacity";
  if (d.field == "type" && d.theirs == "markerSupply" && d.ours == "(absent)") return "type column";
  if (d.field == "row" && d.theirs == "(absent)") {
    if (level == -2) return "-2 row";
    if (tr && !tr->name()) return "nameless tray";
  }
  return {};
}

std::string index_list(std::vector<std::uint32_t> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

std::set<deviation_row> group(const std::string& file, const std::vector<difference>& diffs) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           std::vector<std::uint32_t>>
      g;
  for (const auto& d : diffs) g[{d.kind, d.field, d.theirs, d.ours}].push_back(d.index);
  std::set<deviation_row> out;
  for (const auto& [k, idx] : g) {
    const auto& [kind, field, theirs, ours] = k;
    std::string rows = kind == "identity" ? "identity" : kind + " " + index_list(idx);
    out.insert({file, rows, field, theirs, ours});
  }
  return out;
}

std::string strip_cell(std::string c) {
  c.erase(std::remove(c.begin(), c.end(), '`'), c.end());
  auto b = c.find_first_not_of(' ');
  auto e = c.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : c.substr(b, e - b + 1);
}

// The deviation table of docs/normalization.md: rows after the "## Deviation table" heading.
std::vector<std::pair<deviation_row, std::string>> documented_deviations() {
  std::ifstream in(test::source_dir() / "docs" / "normalization.md");
  std::vector<std::pair<deviation_row, std::string>> out;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line.rfind("## Deviation table", 0) == 0;
    if (!in_section || line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(strip_cell(cell));
    if (cells.size() < 6 || cells[0] == "file" || cells[0].rfind("---", 0) == 0) continue;
    out.push_back({{cells[0], cells[1], cells[2], cells[3], cells[4]}, cells[5]});
  }
  return out;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, MatchesLibreNmsOrIsADocumentedDeviation) {
  const std::string name = GetParam();
  if (name.empty())
    GTEST_SKIP() << "no LibreNMS recordings with .json found in " << test::shared_fixtures_dir();
  const fs::path dir = test::shared_fixtures_dir();

  std::ifstream jf(dir / (name + ".json"));
  std::stringstream js;
  js << jf.rdbuf();
  const json::object expected = json::parse(js.str()).as_object();
  auto buf = test::normalize_checked(test::load_device(dir / (name + ".snmprec")));
  const auto* snap = codecs::snapshot_of(buf);

  const auto diffs = compare(expected, *snap);
  for (const auto& d : diffs)
    EXPECT_FALSE(rule_for(d, *snap).empty())
        << name << ": " << d.kind << " " << d.index << " " << d.field << ": LibreNMS '" << d.theirs
        << "', fleetpoll '" << d.ours << "' follows none of fleetpoll's rules";

  const auto actual = group(name, diffs);
  std::set<deviation_row> documented;
  for (const auto& [row, reason] : documented_deviations())
    if (row.file == name) {
      documented.insert(row);
      EXPECT_FALSE(reason.empty()) << "docs/normalization.md: no reason for " << markdown(row);
    }
  for (const auto& r : actual)
    EXPECT_TRUE(documented.count(r)) << "undocumented deviation; add to docs/normalization.md:\n"
                                     << markdown(r);
  for (const auto& r : documented)
    EXPECT_TRUE(actual.count(r))
        << "documented deviation no longer happens; remove from docs/normalization.md:\n"
        << markdown(r);

  // The rows LibreNMS keeps are all there, with equal descriptions (checked above) — and the
  // count differs only by the documented extra rows.
  if (const auto* ps = expected.if_contains("printer-supplies")) {
    std::size_t theirs = ps->at("discovery").at("printer_supplies").as_array().size();
    std::size_t extra = std::count_if(diffs.begin(), diffs.end(), [](const difference& d) {
      return d.field == "row" && d.theirs == "(absent)";
    });
    EXPECT_EQ(snap->supplies()->size() + snap->trays()->size(), theirs + extra);
  }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  if (info.param.empty()) return "fixtures_absent";
  std::string n = info.param;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(LibreNms, Conformance, ::testing::ValuesIn(recordings_with_json()),
                         param_name);

// Every row of the docs table belongs to a recording that exists (no stale file names).
TEST(ConformanceDocs, DeviationTableNamesExistingRecordings) {
  std::error_code ec;
  if (!fs::is_directory(test::shared_fixtures_dir(), ec))
    GTEST_SKIP() << "no LibreNMS recordings found in " << test::shared_fixtures_dir();
  auto rows = documented_deviations();
  EXPECT_FALSE(rows.empty()) << "no deviation table in docs/normalization.md";
  for (const auto& [r, reason] : rows)
    EXPECT_TRUE(fs::exists(test::shared_fixtures_dir() / (r.file + ".json"))) << markdown(r);
}

}  // namespace
}  // namespace fleetpoll
