import BackflowConfig
import BackflowConnectors
import BackflowPlanner
import Foundation

/// The parsers that read untrusted text, each as one entry point that takes any bytes: the fuzz
/// targets in Fuzz/ call them under libFuzzer, and `make test` replays Fuzz/Corpus through them.
/// An entry point may reject its input; it must never crash, hang or break an invariant.
public enum FuzzEntry: String, CaseIterable, Sendable {
  /// backflow.yaml, a sync file and a model file, split at NUL bytes, loaded and validated.
  case project
  /// A mapping template, compiled and rendered against a row of its columns.
  case template
  /// The JSON reader (`JSONValue.parse`), whose rendering must read back the same.
  case json
  /// A cron expression, and its next slot after a fixed date.
  case cron
  /// A plan file's header and every row of its first sync.
  case planFile = "plan-file"
  /// A rest destination's `result:` path (the input up to its first NUL byte) looked up in a JSON
  /// answer (the rest).
  case resultPath = "result-path"

  public func run(_ bytes: [UInt8]) {
    switch self {
    case .project: Self.loadProject(bytes)
    case .template: Self.renderTemplate(String(decoding: bytes, as: UTF8.self))
    case .json: Self.readJSON(bytes)
    case .cron: Self.parseCron(String(decoding: bytes, as: UTF8.self))
    case .planFile: Self.readPlanFile(bytes)
    case .resultPath: Self.readResult(bytes)
    }
  }

  /// A directory of this process's own, reused by every input.
  private static let scratch: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "backflow-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.createDirectory(
      at: url.appendingPathComponent(ProjectLoader.modelsDirectory), withIntermediateDirectories: true)
    return url
  }()

  private static func loadProject(_ bytes: [UInt8]) {
    let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let files = [ProjectLoader.projectFile, "\(ProjectLoader.syncsDirectory)/fuzz.yaml", "\(ProjectLoader.modelsDirectory)/fuzz.yaml"]
    for (index, file) in files.enumerated() {
      let url = scratch.appendingPathComponent(file)
      if index < parts.count {
        try? Data(parts[index]).write(to: url)
      } else {
        try? FileManager.default.removeItem(at: url)
      }
    }
    let loaded = ProjectLoader(directory: scratch, environment: ["FUZZ": "value"]).load()
    _ = loaded.diagnostics.sorted.map(\.description)
  }

  private static func renderTemplate(_ text: String) {
    guard let template = try? MappingTemplate(text) else { return }
    // Lists and objects too, so loops walk something and members are found.
    let values: [JSONValue] = [
      .string("x"), .array([.string("a"), .int(2), .null]), .object([("k", .array([.object([("v", .int(1))])]))]),
      .int(0), .null,
    ]
    let row = Dictionary(
      template.columns.enumerated().map { ($1, values[$0 % values.count]) }, uniquingKeysWith: { first, _ in first })
    _ = try? template.render(row)
    _ = try? template.value(row)
  }

  private static func readJSON(_ bytes: [UInt8]) {
    guard let value = bytes.withUnsafeBufferPointer({ try? JSONValue.parse(utf8: $0) }) else { return }
    let rendered = value.rendered(compact: true)
    guard let again = try? JSONValue.parse(rendered) else {
      preconditionFailure("JSON that was read renders as JSON that is not: \(rendered)")
    }
    precondition(again.rendered(compact: true) == rendered, "JSON reads back differently: \(rendered)")
  }

  private static func parseCron(_ text: String) {
    guard case let .success(expression) = CronExpression.parse(text) else { return }
    _ = Schedule.cron(expression, timeZone: Schedule.defaultTimeZone).nextTime(after: Date(timeIntervalSince1970: 1_767_225_600))
  }

  private static func readResult(_ bytes: [UInt8]) {
    let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    guard let path = try? ResultPath(String(decoding: parts[0], as: UTF8.self)) else { return }
    let answer = (parts.count > 1 ? parts[1].withUnsafeBufferPointer { try? JSONValue.parse(utf8: $0) } : nil) ?? .null
    let found = path.values(in: answer)
    precondition(path.value(in: answer) == found.first, "value(in:) is not the first of values(in:)")
    _ = found.map(ResultPath.text(of:))
  }

  private static func readPlanFile(_ bytes: [UInt8]) {
    let url = scratch.appendingPathComponent("fuzz.plan")
    guard (try? Data(bytes).write(to: url)) != nil, let reader = try? PlanFileReader(url: url) else { return }
    guard case let .array(syncs)? = reader.header["syncs"], case let .string(name)? = syncs.first?["name"],
      let rows = try? PlanFileRows(url: url, sync: name)
    else { return }
    while let row = try? rows.next() { _ = row }
  }
}
