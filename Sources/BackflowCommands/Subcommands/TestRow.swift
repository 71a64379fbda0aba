import ArgumentParser
import BackflowConfig
import BackflowDestinations
import BackflowEngine
import Foundation

extension RowTest.Operation: ExpressibleByArgument {}

extension Backflow {
  /// `backflow test`: one model row through a sync's mapping and destination, every request
  /// and response printed; state is left alone.
  public struct TestRow: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
      commandName: "test",
      abstract: "Send one model row and print the requests and responses.",
      discussion: """
        Reads the row whose primary key is KEY, applies each --set, maps it as apply does and \
        sends it with apply's destination code as the operation the sync gives an added, \
        changed or removed row. Prints each HTTP request and response (secrets redacted), each \
        SQL statement with its values and result, or the file line written. The snapshot does \
        not move and no run is recorded. --set takes a JSON literal (42, true, null, "42") or \
        else text. Exits 0 when the row succeeded (or nothing was to be sent), 1 when it \
        failed. Documented in docs/steering.md.
        """)

    @OptionGroup(title: "Global options")
    var global: GlobalOptions

    @Argument(help: ArgumentHelp("The sync whose mapping and destination to test.", valueName: "sync"))
    var sync: String

    @Option(help: ArgumentHelp("The row's primary key, as text.", valueName: "key"))
    var row: String

    @Option(name: .customLong("as"), help: "Send the row as added, changed or removed.")
    var operation: RowTest.Operation = .added

    @Option(
      name: .customLong("set"), parsing: .upToNextOption,
      help: ArgumentHelp("Override a column of the row: a JSON literal, or else text.", valueName: "column=value"))
    var overrides: [String] = []

    @Flag(help: "Check the destination and print what would be sent, without sending it.")
    var dryRun = false

    public init() {}

    public func validate() throws {
      for text in overrides where RowTest.Override(parsing: text) == nil {
        throw ValidationError("--set takes column=value, got \"\(text)\"")
      }
    }

    public func run() async throws {
      let session = try CommandSession(global: global)
      let test = RowTest(
        sync: sync, key: row, operation: operation, overrides: overrides.compactMap(RowTest.Override.init(parsing:)))
      let tester = RowTester(project: session.project, directory: global.projectURL, state: session.state)
      let prepared: PreparedRowTest
      do {
        prepared = try tester.prepare(test)
      } catch let error as RowTestError {
        throw CommandSession.failure(error.message)
      }
      let terminal = session.terminal
      print(prepared.redacted(heading(prepared, terminal: terminal).joined(separator: "\n")) + "\n")
      let renderer = TraceRenderer(terminal: terminal)
      let outcome = await tester.send(prepared, dryRun: dryRun) { event in
        print(renderer.lines(event).joined(separator: "\n"))
      }
      print()
      switch outcome {
      case .succeeded:
        print(terminal.paint("Succeeded:", .green) + " \(prepared.destination) accepted the record.")
        print(Self.stateNote)
        if let note = lingering(prepared) { print(note) }
      case .dryRun:
        print(terminal.paint("Dry run:", .bold) + " nothing was sent to \(prepared.destination). " + Self.stateNote)
      case let .notSent(reason):
        print(terminal.paint("Nothing sent:", .bold) + " \(reason). " + Self.stateNote)
      case let .failed(reason):
        print(terminal.paint("Failed:", .red) + " \(reason)")
        print(Self.stateNote)
        throw ExitCode.failure
      }
    }

    static let stateNote = "State is unchanged: the snapshot did not move and no run was recorded."

    /// What the user reads before the traffic: the row, the overrides and the record.
    private func heading(_ prepared: PreparedRowTest, terminal: Terminal) -> [String] {
      let id = prepared.syncID == 0 ? " (not applied yet: sync_id 0)" : " (#\(prepared.syncID))"
      let sent = prepared.operation.map { "\($0.rawValue) to \(prepared.destination)" } ?? "nothing sent"
      var lines = [
        terminal.paint("Testing \(sync)", .bold) + id + ": row \(prepared.primaryKey) = \(row) of model "
          + "\(prepared.model), as \(operation.rawValue) → \(sent)"
      ]
      lines.append("  row: " + prepared.row.rendered(compact: true))
      for override in prepared.test.overrides {
        lines.append("  set: \(override.column) = \(override.value.rendered(compact: true))")
      }
      if let record = prepared.record {
        var text = "  record: key " + record.key.rendered(compact: true)
        if !prepared.fields.isEmpty {
          text += "; " + prepared.fields.map { "\($0.0) = \($0.1.rendered(compact: true))" }.joined(separator: ", ")
        }
        lines.append(text)
      }
      if dryRun { lines.append(terminal.paint("  dry run: the destination is checked, nothing is sent", .dim)) }
      return lines
    }

    /// What the destination holds after a test that apply will not undo on its own.
    private func lingering(_ prepared: PreparedRowTest) -> String? {
      guard !prepared.test.overrides.isEmpty || operation == .removed else { return nil }
      return "The snapshot still holds the row as last sent, so the next apply does not undo this test unless the "
        + "row changes in the model; `backflow resync \(sync)` sends every row again."
    }
  }
}
