// fleetpoll::engine::udp_transport — one unconnected UDP socket with batched I/O.
//
// Sends are queued and leave in one sendmmsg() per event-loop turn (or as soon as a batch
// fills); receives drain the socket with recvmmsg() whenever it is readable and hand each
// datagram to the receive handler with its source endpoint and the time the batch was read.
// One socket serves every device of a shard: replies are told apart above this layer, by
// (source address, request-id). When the socket buffer is full, sending resumes once the socket
// is writable; nothing queued is dropped unless the kernel refuses a datagram outright (counted
// in send_errors). Datagrams the kernel dropped because the receive buffer overflowed are counted
// from SO_RXQ_OVFL (receive_overflows).
//
// Ownership: owns the socket; the io_context must outlive it. Handlers run on the io_context.
// Thread safety: none; use from the io_context's thread only (one transport per shard).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

namespace fleetpoll::engine {

class udp_transport {
 public:
  using endpoint = boost::asio::ip::udp::endpoint;
  using clock = std::chrono::steady_clock;
  // `received_at` is taken once per recvmmsg() batch.
  using receive_handler = std::function<void(
      const endpoint& from, std::span<const std::uint8_t> bytes, clock::time_point received_at)>;

  struct options {
    int receive_buffer_bytes = 8 << 20;  // Default: 8 MiB SO_RCVBUF (the kernel may clamp it)
    int send_buffer_bytes = 4 << 20;     // Default: 4 MiB SO_SNDBUF
    std::size_t batch = 32;              // Default: 32 datagrams per sendmmsg/recvmmsg call
    std::size_t max_datagram = 16384;    // Default: 16 KiB per received datagram; larger ones are
                                         // counted as truncated and dropped
  };

  struct stats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t bytes_sent = 0;   // UDP payload bytes
    std::uint64_t send_errors = 0;  // datagrams the kernel refused (dropped)
    std::uint64_t send_calls = 0;   // sendmmsg calls
    std::uint64_t datagrams_received = 0;
    std::uint64_t bytes_received = 0;     // UDP payload bytes
    std::uint64_t receive_calls = 0;      // recvmmsg calls
    std::uint64_t truncated = 0;          // datagrams larger than max_datagram (dropped)
    std::uint64_t receive_overflows = 0;  // datagrams the kernel dropped (SO_RXQ_OVFL)

    stats& operator+=(const stats& o) noexcept;  // adds every counter
  };

  udp_transport(boost::asio::io_context& io, const options& opts);
  ~udp_transport();
  udp_transport(const udp_transport&) = delete;
  udp_transport& operator=(const udp_transport&) = delete;

  // Opens and binds the socket (its family follows `local`); port 0 picks a free port.
  std::error_code open(const endpoint& local);
  endpoint local_endpoint() const;
  bool is_open() const noexcept;

  // Starts draining the socket into `on_receive`. Call once after open().
  void start(receive_handler on_receive);

  // Queues one datagram (copied). It leaves in the next flush, which is posted automatically.
  void send(const endpoint& to, std::span<const std::uint8_t> bytes);

  // Datagrams queued and not yet handed to the kernel.
  std::size_t queued() const noexcept;

  // Stops receiving and closes the socket; queued datagrams are dropped. Idempotent.
  void close();

  const stats& counters() const noexcept;

 private:
  struct impl;  // shared with in-flight handlers, so a late completion never touches freed memory
  std::shared_ptr<impl> impl_;
};

}  // namespace fleetpoll::engine
