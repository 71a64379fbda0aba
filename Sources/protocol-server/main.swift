// The test suite's HTTP protocol server (`ProtocolServer`) as a process, for `make bench`.
//
// Prints its URL (`http://127.0.0.1:PORT`) on the first line, then answers commands read from
// standard input, one per line, with one line each:
//   count OBJECT   how many records OBJECT holds
// It stops when standard input ends. Requests are not kept, so memory holds only the records.
//
// With `--rest` it is a batch-upsert REST API instead, for the rest destination's benchmark:
// `POST /v1/{object}/batch/upsert` with `{"inputs": [{"id": …, "properties": {…}}]}` keeps each
// id and answers 200 with `{"status": "COMPLETE"}`, as HubSpot's batch upsert does; `count`
// counts the ids.
import BackflowConfig
import BackflowTestSupport
import Foundation

/// The ids upserted per object, behind a lock: the server's event loops answer concurrently.
final class BatchUpsertAPI: @unchecked Sendable {
  private let lock = NSLock()
  private var ids: [String: Set<String>] = [:]

  func answer(_ request: ProtocolServer.Request) -> ProtocolServer.Answer {
    let steps = request.path.split(separator: "/")
    guard request.method == "POST", steps.count == 4, steps[0] == "v1", steps[2] == "batch",
      case let .array(inputs)? = request.body?["inputs"]
    else { return ProtocolServer.Answer(status: 400, body: #"{"status":"error","message":"Invalid input JSON"}"#) }
    let object = String(steps[1])
    lock.lock()
    defer { lock.unlock() }
    for input in inputs {
      guard let id = input["id"].flatMap(ResultPath.text(of:)) else { continue }
      if steps[3] == "archive" { ids[object]?.remove(id) } else { ids[object, default: []].insert(id) }
    }
    return ProtocolServer.Answer(status: 200, body: #"{"status":"COMPLETE"}"#)
  }

  func count(_ object: String) -> Int {
    lock.lock()
    defer { lock.unlock() }
    return ids[object]?.count ?? 0
  }
}

/// One line on standard output, unbuffered: the reader waits for it.
func say(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let rest = CommandLine.arguments.dropFirst().contains("--rest") ? BatchUpsertAPI() : nil
let server =
  if let rest {
    try await ProtocolServer.start(keepingRequests: false) { rest.answer($0) }
  } else {
    try await ProtocolServer.start(keepingRequests: false)
  }
say(server.url)
while let line = readLine() {
  let words = line.split(separator: " ", maxSplits: 1).map(String.init)
  if words.count == 2, words[0] == "count" {
    say(String(rest?.count(words[1]) ?? server.records(in: words[1]).count))
  } else {
    say("unknown command: \(line)")
  }
}
try await server.stop()
