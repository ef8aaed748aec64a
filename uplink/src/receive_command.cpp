#include "fleetpoll/uplink/receive_command.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

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
    receiver r(io, std::move(options));
    if (auto ec = r.start()) {
      std::cerr << "fleetpoll receive: cannot start: " << ec.message() << "\n";
      exit_code = 2;
      return;
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      r.stop();
      io.stop();
    });
    io.run();
    std::cerr << "fleetpoll receive: " << r.summary() << "\n";
    exit_code = 0;
  });
}

}  // namespace fleetpoll::uplink
