import BackflowEngine
import Dispatch
import Foundation

/// Turns the first SIGINT or SIGTERM into a cancellation the engine honours (no new batches,
/// everything recorded); a second one ends the process at once, which loses no row either: the
/// next run resends whatever was not recorded.
final class SignalTrap: @unchecked Sendable {
  private let sources: [any DispatchSourceSignal]

  /// `onStop` tells the user, once, what the first signal does.
  init(cancellation: Cancellation, onStop: @escaping @Sendable () -> Void = SignalTrap.applyStopping) {
    let signals = [SIGINT, SIGTERM]
    sources = signals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        if cancellation.isRequested { exit(128 + number) }
        cancellation.request()
        onStop()
      }
      source.resume()
      return source
    }
  }

  @Sendable static func applyStopping() {
    FileHandle.standardError.write(
      Data("\nStopping: no new batches; batches in flight finish and every row is recorded. Again to quit at once.\n".utf8))
  }

  func release() {
    for source in sources { source.cancel() }
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
  }
}
