// The benchmark server: Apache Thrift C++ serving idl/bench.thrift in every wire format the
// benchmarks measure, one process, one thread per connection.
//
//   bench_server BASE_PORT UNIX_SOCKET CERT_PEM KEY_PEM
//
// BASE_PORT+0 binary buffered    +1 binary framed    +2 compact framed    +3 json buffered
//          +4 binary zlib         +5 binary buffered TLS                    +6 binary HTTP
// UNIX_SOCKET: binary buffered.
//
// libthrift 0.17 counts every byte a connection ever receives against its 100 MiB maximum
// message size and then drops the connection; the transports below reset that count for each
// frame or buffer refill, so long benchmark runs keep their connections.

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/protocol/TJSONProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/THttpServer.h>
#include <thrift/transport/TSSLServerSocket.h>
#include <thrift/transport/TSSLSocket.h>
#include <thrift/transport/TServerSocket.h>
#include <thrift/transport/TZlibTransport.h>

#include "Bench.h"

using namespace apache::thrift;
using namespace apache::thrift::protocol;
using namespace apache::thrift::server;
using namespace apache::thrift::transport;

namespace {

class Handler : public bench::BenchIf {
 public:
  void ping() override {}
  void echo(std::string& out, const std::string& s) override { out = s; }
  void echo_bin(std::string& out, const std::string& b) override { out = b; }
  void batch(std::vector<bench::Item>& out, const std::vector<bench::Item>& items) override {
    out = items;
  }
  void echo_item(bench::Item& out, const bench::Item& item) override { out = item; }
};

class FramedPerFrame : public TFramedTransport {
 public:
  explicit FramedPerFrame(std::shared_ptr<TTransport> trans) : TFramedTransport(trans) {}

 protected:
  bool readFrame() override {
    resetConsumedMessageSize();
    return TFramedTransport::readFrame();
  }
};

class BufferedPerRefill : public TBufferedTransport {
 public:
  explicit BufferedPerRefill(std::shared_ptr<TTransport> trans) : TBufferedTransport(trans) {}
  uint32_t readSlow(uint8_t* buf, uint32_t len) override {
    resetConsumedMessageSize();
    return TBufferedTransport::readSlow(buf, len);
  }
};

class FramedFactory : public TTransportFactory {
 public:
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return std::make_shared<FramedPerFrame>(trans);
  }
};

class BufferedFactory : public TTransportFactory {
 public:
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return std::make_shared<BufferedPerRefill>(trans);
  }
};

// THttpServer counts every byte of a keep-alive connection against the 100 MiB limit too (its
// flush does not reset the count as THttpTransport's does): reset it after each reply.
class HttpPerRequest : public THttpServer {
 public:
  explicit HttpPerRequest(std::shared_ptr<TTransport> trans) : THttpServer(trans) {}
  void flush() override {
    THttpServer::flush();
    resetConsumedMessageSize();
  }
};

class HttpFactory : public TTransportFactory {
 public:
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return std::make_shared<HttpPerRequest>(trans);
  }
};

class ZlibFactory : public TTransportFactory {
 public:
  std::shared_ptr<TTransport> getTransport(std::shared_ptr<TTransport> trans) override {
    return std::make_shared<TZlibTransport>(trans);
  }
};

std::shared_ptr<TProcessor> processor() {
  return std::make_shared<bench::BenchProcessor>(std::make_shared<Handler>());
}

void run(std::shared_ptr<TServerTransport> socket, std::shared_ptr<TTransportFactory> transports,
         std::shared_ptr<TProtocolFactory> protocols) {
  TThreadedServer server(processor(), socket, transports, protocols);
  server.serve();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BASE_PORT UNIX_SOCKET CERT_PEM KEY_PEM\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  int base = std::stoi(argv[1]);
  std::string unix_path = argv[2];
  auto binary = std::make_shared<TBinaryProtocolFactory>();
  auto compact = std::make_shared<TCompactProtocolFactory>();
  auto json = std::make_shared<TJSONProtocolFactory>();
  auto buffered = std::make_shared<BufferedFactory>();
  auto framed = std::make_shared<FramedFactory>();

  auto ssl = std::make_shared<TSSLSocketFactory>();
  ssl->server(true);
  ssl->loadCertificate(argv[3]);
  ssl->loadPrivateKey(argv[4]);
  ssl->authenticate(false);

  std::vector<std::thread> threads;
  // 4 MiB socket buffers: a 1 MiB message then arrives in a few reads, not dozens (libthrift
  // polls before every recv), so the server stays out of the way of the clients measured.
  auto tcp = [](int port) {
    auto socket = std::make_shared<TServerSocket>("127.0.0.1", port);
    socket->setTcpRecvBuffer(4 << 20);
    socket->setTcpSendBuffer(4 << 20);
    return socket;
  };
  threads.emplace_back(run, tcp(base + 0), buffered, binary);
  threads.emplace_back(run, tcp(base + 1), framed, binary);
  threads.emplace_back(run, tcp(base + 2), framed, compact);
  threads.emplace_back(run, tcp(base + 3), buffered, json);
  threads.emplace_back(run, tcp(base + 4), std::make_shared<ZlibFactory>(), binary);
  threads.emplace_back(run, std::make_shared<TSSLServerSocket>("127.0.0.1", base + 5, ssl),
                       buffered, binary);
  threads.emplace_back(run, tcp(base + 6), std::make_shared<HttpFactory>(), binary);
  threads.emplace_back(run, std::make_shared<TServerSocket>(unix_path), buffered, binary);
  std::printf("ready\n");
  std::fflush(stdout);
  for (auto& thread : threads) thread.join();
  return 0;
}
