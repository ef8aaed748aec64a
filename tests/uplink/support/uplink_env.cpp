#include "uplink_env.hpp"

#include <openssl/rand.h>

#include <vector>

namespace fleetpoll::uplink::test {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (unsigned char b : raw) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

uplink_env::uplink_env(prosody_options options)
    : prosody_(std::make_unique<prosody_server>(options)),
      dir_(make_temp_dir("fleetpoll-uplink")) {}

uplink_env::~uplink_env() {
  prosody_.reset();
  remove_tree(dir_);
}

std::string uplink_env::setup() {
  site_password_ = random_hex(12);
  provider_password_ = random_hex(12);
  if (auto e = prosody_->register_user("site", site_password_); !e.empty()) return e;
  if (auto e = prosody_->register_user("provider", provider_password_); !e.empty()) return e;
  key_file_ = dir_ + "/site.keys";
  write_file(key_file_, "# test keys, generated per run\n" + generate_key_line(1), 0600);
  if (auto ec = load_key_file(key_file_, keys_)) return "key file: " + ec.message();
  return prosody_->start();
}

xmpp_options uplink_env::account(const std::string& user, const std::string& password) const {
  xmpp_options x;
  x.jid = user + "@localhost";
  x.password = password;
  x.host = "127.0.0.1";
  x.port = prosody_->port();
  x.direct_tls_port = prosody_->direct_tls_port();
  x.ca_file = prosody_->ca_file();
  x.connect_timeout = std::chrono::seconds(5);
  x.login_timeout = std::chrono::seconds(10);
  x.backoff_initial = std::chrono::milliseconds(100);
  x.backoff_max = std::chrono::milliseconds(1000);
  return x;
}

sender_options uplink_env::sender_opts() const {
  sender_options s;
  s.xmpp = account("site", site_password_);
  s.receiver_jid = "provider@localhost";
  s.site = "acme-hq";
  s.max_delay = std::chrono::milliseconds(50);
  s.routine_delay = std::chrono::milliseconds(50);
  s.ack_timeout = std::chrono::seconds(5);
  return s;
}

receiver_options uplink_env::receiver_opts(const std::string& output) const {
  receiver_options r;
  r.xmpp = account("provider", provider_password_);
  r.xmpp.resource = "receiver";
  receiver_site site;
  site.id = "acme-hq";
  site.jid = "site@localhost";
  site.keys = keys_;
  r.sites.push_back(site);
  r.output = output;
  r.state_path = output + ".ledger";
  r.sync = false;
  return r;
}

}  // namespace fleetpoll::uplink::test
