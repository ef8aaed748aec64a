// Test harness: a real prosody on loopback, started and stopped by the test.
//
// The constructor makes a fresh temporary folder with a CA, a server certificate for
// "localhost" signed by it (openssl), and a prosody config on free loopback ports (a STARTTLS
// c2s port and a direct-TLS port); start() launches `prosody -F` and returns once the c2s port
// accepts connections (bounded; no fixed sleep). The destructor stops prosody (SIGTERM, then
// SIGKILL after a bound), reaps it and removes the folder. Accounts are registered with
// `prosodyctl register` (before or after start). Needs the prosody and openssl binaries.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace fleetpoll::uplink::test {

struct prosody_options {
  // c2s_stanza_size_limit; 0 = prosody's default (256 KiB).
  std::size_t stanza_limit = 0;
  // Start prosody with mod_smacks (XEP-0198). Default: true
  bool stream_management = true;
  // Offer no SCRAM mechanism (disable_sasl_mechanisms), so that only PLAIN is left. Default: false
  bool plain_only = false;
};

class prosody_server {
 public:
  explicit prosody_server(prosody_options options = {});
  ~prosody_server();
  prosody_server(const prosody_server&) = delete;
  prosody_server& operator=(const prosody_server&) = delete;

  // Empty on success, else what went wrong (with the log's tail).
  std::string start();
  // SIGTERM, wait (bounded), SIGKILL. Idempotent.
  void stop();
  bool running() const { return pid_ > 0; }

  // Empty on success, else prosodyctl's output.
  std::string register_user(const std::string& user, const std::string& password);

  std::uint16_t port() const { return port_; }
  std::uint16_t direct_tls_port() const { return direct_port_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_; }
  static constexpr const char* domain = "localhost";
  std::string log_tail() const;
  // Set by the constructor if making certificates or the config failed.
  const std::string& setup_error() const { return setup_error_; }

 private:
  prosody_options opt_;
  std::string dir_;
  std::string config_;
  std::string ca_file_;
  std::string setup_error_;
  std::uint16_t port_ = 0;
  std::uint16_t direct_port_ = 0;
  pid_t pid_ = -1;
};

// A free loopback TCP port (bound to port 0 and released), for servers the test starts.
std::uint16_t free_tcp_port();
// A new mkdtemp folder under /tmp; remove_tree removes it.
std::string make_temp_dir(const char* prefix);
void remove_tree(const std::string& dir);
// Runs a shell command; returns its exit status and captures its output.
int run_command(const std::string& command, std::string* output = nullptr);
// A CA certificate that signed nothing prosody uses (for "unknown CA" tests), in dir.
std::string make_unrelated_ca(const std::string& dir);
// True once a TCP connect to 127.0.0.1:port succeeds.
bool port_accepts(std::uint16_t port);
// Writes `text` to `path` with `mode` (e.g. 0600).
void write_file(const std::string& path, const std::string& text, unsigned mode = 0600);
std::string read_file(const std::string& path);

}  // namespace fleetpoll::uplink::test
