import ArgumentParser
import BackflowConfig
import BackflowState

extension Backflow {
  /// `backflow unlock SYNC LOCK_ID`: removes a sync's lock by hand, like `terraform force-unlock`.
  public struct Unlock: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      abstract: "Remove the lock a stopped process left on a sync.",
      discussion: """
        For a lock whose process is gone: the ID is the one a locked apply prints, and a wrong \
        ID is refused with the current one. Locks of processes that stop are normally freed by \
        themselves (PostgreSQL ends their session; on SQLite the next apply on the same host \
        sees the process is gone, and elsewhere its heartbeat goes stale after 30s). On PostgreSQL a process that is still connected keeps its session lock: unlock \
        removes only the record, and the sync stays locked until that process ends. Documented \
        in docs/locking.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("The sync whose lock to remove.", valueName: "sync"))
    var sync: String

    @Argument(help: ArgumentHelp("The lock's ID, as the locked apply printed it.", valueName: "lock-id"))
    var lockID: String

    public init() {}

    public func run() async throws {
      let session = try CommandSession(global: global, writer: BackflowVersion.current)
      let result: UnlockResult
      do {
        result = try session.state.unlock(syncNamed: sync, lockID: lockID)
      } catch let error as StateError {
        throw CommandSession.failure(error.message)
      }
      var lines = ["Removed lock \(result.lock.id) of sync \(sync), held by \(result.lock.holder)."]
      if result.holderStillConnected {
        lines.append(
          "That process is still connected to the PostgreSQL state store and keeps its session lock: applies of \(sync) "
            + "stay locked until it ends. Backflow never terminates another session; stop process \(result.lock.pid) on "
            + "\(Self.host(of: result.lock.who)) to free \(sync).")
      } else {
        lines.append(
          "The next apply of \(sync) takes the lock and marks the runs that process left running as aborted. Had the "
            + "process not stopped, it carries on without the lock, and says so when it finishes.")
      }
      print((global.quiet ? Array(lines.prefix(1)) : lines).joined(separator: "\n"))
    }

    /// The host of `user@host`, or all of it when there is no `@`.
    static func host(of who: String) -> String {
      who.split(separator: "@", maxSplits: 1).last.map(String.init) ?? who
    }
  }
}
