// The test suite's HTTP protocol server (`ProtocolServer`) as a process, for `make bench`.
//
// Prints its URL (`http://127.0.0.1:PORT`) on the first line, then answers commands read from
// standard input, one per line, with one line each:
//   count OBJECT   how many records OBJECT holds
// It stops when standard input ends. Requests are not kept, so memory holds only the records.
import BackflowTestSupport
import Foundation

/// One line on standard output, unbuffered: the reader waits for it.
func say(_ line: String) {
  FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let server = try await ProtocolServer.start(keepingRequests: false)
say(server.url)
while let line = readLine() {
  let words = line.split(separator: " ", maxSplits: 1).map(String.init)
  if words.count == 2, words[0] == "count" {
    say(String(server.records(in: words[1]).count))
  } else {
    say("unknown command: \(line)")
  }
}
try await server.stop()
