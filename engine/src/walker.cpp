#include "fleetpoll/engine/walker.hpp"

#include <algorithm>

namespace fleetpoll::engine {

namespace {

using codecs::oid;
using codecs::pdu_type;
using codecs::snmp_version;

constexpr std::int32_t err_too_big = 1;
constexpr std::int32_t err_no_such_name = 2;

class walk_op : public std::enable_shared_from_this<walk_op> {
 public:
  walk_op(snmp_client& c, device& d, walk_state& s, const walk_plan& plan, const walk_options& o,
          walk_completion done)
      : client_(c), dev_(d), state_(s), opts_(o), done_(std::move(done)) {
    pending_scalars_ = plan.scalars;
    for (const auto& col : plan.columns) columns_.push_back({col, col, 0, false});
    cols_per_request_ = std::max<std::size_t>(1, opts_.columns_per_request);
  }

  void start() { next_step(); }

 private:
  struct column {
    oid root;
    oid last;  // the last OID returned for this column (starts at the root)
    std::size_t rows;
    bool done;
  };

  void next_step() {
    if (!pending_scalars_.empty()) return get_scalars();
    selected_.clear();
    for (std::size_t i = 0; i < columns_.size() && selected_.size() < cols_per_request_; ++i)
      if (!columns_[i].done) selected_.push_back(i);
    if (selected_.empty()) return finish({});
    walk_columns();
  }

  void account(const request_stats& st) {
    ++result_.stats.requests;
    result_.stats.attempts += st.attempts;
    result_.stats.bytes_sent += std::uint64_t{st.request_bytes} * st.attempts;
    result_.stats.bytes_received += st.reply_bytes;
  }

  // ---- scalars: GET in chunks ----------------------------------------------------------
  void get_scalars() {
    const std::size_t n = std::min(pending_scalars_.size(), std::max<std::size_t>(1, scalar_chunk()));
    request_spec spec;
    spec.type = pdu_type::get;
    spec.names.assign(pending_scalars_.begin(), pending_scalars_.begin() + static_cast<std::ptrdiff_t>(n));
    client_.async_request(dev_, spec, [self = shared_from_this(), n](std::error_code ec,
                                                                       codecs::snmp_response&& r,
                                                                       const request_stats& st) {
      self->account(st);
      self->on_scalars(ec, std::move(r), n);
    });
  }

  std::size_t scalar_chunk() const { return scalar_chunk_ ? scalar_chunk_ : opts_.scalars_per_request; }

  void on_scalars(std::error_code ec, codecs::snmp_response&& r, std::size_t n) {
    auto chunk_begin = pending_scalars_.begin();
    if (ec == error::agent_error && r.error_status == err_too_big) {
      ++result_.stats.too_big;
      if (n == 1) return finish(error::too_big);
      scalar_chunk_ = std::max<std::size_t>(1, n / 2);
      return next_step();
    }
    if (ec == error::agent_error && r.error_status == err_no_such_name && r.error_index >= 1 &&
        static_cast<std::size_t>(r.error_index) <= n) {
      // SNMPv1: one name does not exist; drop it and ask again for the rest.
      pending_scalars_.erase(chunk_begin + (r.error_index - 1));
      return next_step();
    }
    if (ec) return finish(ec);
    for (auto& vb : r.varbinds) {
      ++result_.stats.varbinds;
      if (vb.val.is_exception() || vb.val.type == codecs::value_type::null) continue;
      result_.view.add(std::move(vb));
    }
    pending_scalars_.erase(chunk_begin, chunk_begin + static_cast<std::ptrdiff_t>(n));
    next_step();
  }

  // ---- columns: GETBULK (v2c) or GETNEXT (v1) over several columns ---------------------
  std::int32_t repetitions_for(std::size_t ncols) const {
    double per_row = state_.bytes_per_varbind * static_cast<double>(ncols);
    auto budget = static_cast<std::int32_t>(static_cast<double>(opts_.reply_budget_bytes) / std::max(1.0, per_row));
    return std::clamp(std::min(state_.max_repetitions, budget), 1, std::max(1, opts_.max_repetitions_cap));
  }

  void walk_columns() {
    request_spec spec;
    const bool bulk = dev_.version != snmp_version::v1;
    spec.type = bulk ? pdu_type::get_bulk : pdu_type::get_next;
    for (auto i : selected_) spec.names.push_back(columns_[i].last);
    spec.non_repeaters = 0;
    spec.max_repetitions = bulk ? repetitions_for(selected_.size()) : 0;
    const std::int32_t asked = spec.max_repetitions;
    client_.async_request(dev_, std::move(spec),
                          [self = shared_from_this(), asked](std::error_code ec, codecs::snmp_response&& r,
                                                             const request_stats& st) {
                            self->account(st);
                            self->on_columns(ec, std::move(r), st, asked);
                          });
  }

  void on_columns(std::error_code ec, codecs::snmp_response&& r, const request_stats& st,
                  std::int32_t asked) {
    const std::size_t n = selected_.size();
    if (ec == error::agent_error && r.error_status == err_too_big) {
      ++result_.stats.too_big;
      if (asked > 1) {
        state_.max_repetitions = std::max(1, asked / 2);
      } else if (cols_per_request_ > 1) {
        cols_per_request_ = std::max<std::size_t>(1, n / 2);
      } else {
        return finish(error::too_big);
      }
      return next_step();
    }
    if (ec == error::agent_error && r.error_status == err_no_such_name &&
        dev_.version == snmp_version::v1 && r.error_index >= 1 &&
        static_cast<std::size_t>(r.error_index) <= n) {
      // SNMPv1 end of MIB view for that column.
      columns_[selected_[static_cast<std::size_t>(r.error_index - 1)]].done = true;
      return next_step();
    }
    if (ec == error::timeout) state_.max_repetitions = std::max(1, state_.max_repetitions / 2);
    if (ec) return finish(ec);

    const auto& vbs = r.varbinds;
    if (!vbs.empty() && st.reply_bytes > 0) {
      double bpv = static_cast<double>(st.reply_bytes) / static_cast<double>(vbs.size());
      state_.bytes_per_varbind = 0.75 * state_.bytes_per_varbind + 0.25 * bpv;
    }
    if (dev_.version != snmp_version::v1 && asked >= state_.max_repetitions)
      state_.max_repetitions = std::min(opts_.max_repetitions_cap,
                                        std::max(state_.max_repetitions + 1, state_.max_repetitions * 5 / 4));

    const std::size_t rows = n == 0 ? 0 : (vbs.size() + n - 1) / n;
    for (std::size_t c = 0; c < n; ++c) {
      column& col = columns_[selected_[c]];
      bool progressed = false;
      for (std::size_t row = 0; row < rows && !col.done; ++row) {
        const std::size_t k = row * n + c;
        if (k >= vbs.size()) break;
        const auto& vb = vbs[k];
        ++result_.stats.varbinds;
        if (vb.val.is_exception() || !vb.name.starts_with(col.root) || vb.name == col.root) {
          col.done = true;
          break;
        }
        if (vb.name <= col.last) {  // repeated or backwards: skip it, count it
          ++result_.stats.out_of_order;
          continue;
        }
        result_.view.add(vb);
        col.last = vb.name;
        progressed = true;
        if (++col.rows >= opts_.max_rows_per_column) {
          col.done = true;
          result_.column_errors.push_back({col.root, make_error_code(error::walk_runaway)});
        }
      }
      if (!col.done && !progressed) {
        col.done = true;
        result_.column_errors.push_back({col.root, make_error_code(error::walk_loop)});
      }
    }
    next_step();
  }

  void finish(std::error_code ec) {
    result_.ec = ec;
    result_.view.seal();
    auto done = std::move(done_);
    done(std::move(result_));
  }

  snmp_client& client_;
  device& dev_;
  walk_state& state_;
  walk_options opts_;
  walk_completion done_;
  walk_result result_;
  std::vector<oid> pending_scalars_;
  std::size_t scalar_chunk_ = 0;
  std::vector<column> columns_;
  std::vector<std::size_t> selected_;
  std::size_t cols_per_request_ = 1;
};

}  // namespace

void async_walk(snmp_client& client, device& dev, walk_state& state, const walk_plan& plan,
                const walk_options& opts, walk_completion done) {
  std::make_shared<walk_op>(client, dev, state, plan, opts, std::move(done))->start();
}

}  // namespace fleetpoll::engine
