import Foundation

/// A local server's answers in the manner of some API: each request answered from one state
/// behind a lock, which tests read and change behind Backflow's back.
public final class APIStandIn<State>: @unchecked Sendable {
  private let lock = NSLock()
  private var state: State
  private let answer: (inout State, ProtocolServer.Request) -> ProtocolServer.Answer

  public init(_ state: State, _ answer: @escaping (inout State, ProtocolServer.Request) -> ProtocolServer.Answer) {
    self.state = state
    self.answer = answer
  }

  public var current: State {
    lock.lock()
    defer { lock.unlock() }
    return state
  }

  public func callAsFunction(_ request: ProtocolServer.Request) -> ProtocolServer.Answer {
    lock.lock()
    defer { lock.unlock() }
    return answer(&state, request)
  }

  /// Changes the API's records behind Backflow's back.
  public func update(_ change: (inout State) -> Void) {
    lock.lock()
    defer { lock.unlock() }
    change(&state)
  }
}
