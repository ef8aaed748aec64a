#include "fleetpoll/uplink/receive_command.hpp"

#include <prometheus/registry.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>

#include "fleetpoll/metrics/http_server.hpp"
#include "fleetpoll/uplink/uplink_metrics.hpp"

#include "fleetpoll/uplink/config.hpp"

namespace fleetpoll::uplink {

void add_receive_command(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("receive",
                         "Provider side: receive sites' batches over XMPP, verify, decrypt, "
                         "deduplicate, acknowledge, and write change records as JSON lines");
  struct args_t {
    std::string config;
    std::string output;
  };
  auto args = std::make_shared<args_t>();
  cmd->add_option("--config", args->config, "provider.toml (see docs/wire-format.md)")->required();
  cmd->add_option("--output", args->output,
                  "JSON lines file, or - for standard output (overrides [output] path)");
  cmd->callback([args, &exit_code] {
    receiver_options options;
    std::string why;
    if (auto ec = load_receiver_config(args->config, options, why)) {
      std::cerr << "fleetpoll receive: " << (why.empty() ? ec.message() : why) << "\n";
      exit_code = 2;
      return;
    }
    if (!args->output.empty()) options.output = args->output;
    boost::asio::io_context io;
    auto registry = std::make_shared<prometheus::Registry>();
    receiver_metrics metrics(*registry);
    receiver r(io, options, &metrics);
    if (auto ec = r.start()) {
      std::cerr << "fleetpoll receive: cannot start: " << ec.message() << "\n";
      exit_code = 2;
      return;
    }
    std::unique_ptr<fleetpoll::metrics::http_server> http;
    if (!options.metrics_listen.empty()) {
      fleetpoll::metrics::http_server_options ho;
      auto colon = options.metrics_listen.rfind(':');
      int port =
          colon == std::string::npos ? -1 : std::atoi(options.metrics_listen.c_str() + colon + 1);
      if (port <= 0 || port > 65535) {
        std::cerr << "fleetpoll receive: [metrics] listen must be ADDRESS:PORT\n";
        exit_code = 2;
        return;
      }
      ho.address = options.metrics_listen.substr(0, colon);
      ho.port = static_cast<std::uint16_t>(port);
      http = std::make_unique<fleetpoll::metrics::http_server>(io, ho);
      http->add_collectable(registry);
      if (auto ec = http->start()) {
        std::cerr << "fleetpoll receive: metrics server on " << options.metrics_listen << ": "
                  << ec.message() << "\n";
        exit_code = 2;
        return;
      }
    }
    boost::asio::steady_timer stats(io);
    std::function<void()> arm = [&] {
      if (options.stats_interval.count() == 0) return;
      stats.expires_after(options.stats_interval);
      stats.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        std::cerr << "fleetpoll receive: " << r.summary() << "\n";
        arm();
      });
    };
    arm();
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      stats.cancel();
      if (http) http->stop();
      r.stop();
      io.stop();
    });
    io.run();
    std::cerr << "fleetpoll receive: " << r.summary() << "\n";
    exit_code = 0;
  });
}

}  // namespace fleetpoll::uplink
