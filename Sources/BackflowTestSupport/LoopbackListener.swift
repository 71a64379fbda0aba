import NIOCore
import NIOPosix

/// Listens on 127.0.0.1 on a port the system picks, setting up each connection with `configure`
/// (on its event loop): what the tests' HTTP and SMTP servers share.
func listenOnLoopback(
  _ configure: @escaping @Sendable (any Channel) throws -> Void
) async throws -> (channel: any Channel, port: Int) {
  let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
      channel.eventLoop.makeCompletedFuture { try configure(channel) }
    }
    .bind(host: "127.0.0.1", port: 0)
    .get()
  guard let port = channel.localAddress?.port else {
    try? await channel.close()
    throw ProtocolServerError("the server has no local port")
  }
  return (channel, port)
}
