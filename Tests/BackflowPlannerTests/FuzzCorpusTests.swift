import BackflowFuzzing
import Foundation
import Testing

/// Every input kept in Fuzz/Corpus (seeds, and the inputs of crashes `make fuzz` found, since
/// fixed) goes through its fuzz entry point again, without libFuzzer: a crash that comes back
/// crashes this test.
@Suite("fuzz corpus")
struct FuzzCorpusTests {
  static let corpus = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fuzz/Corpus")

  @Test(arguments: FuzzEntry.allCases)
  func everyKeptInputRunsThroughItsEntryPoint(entry: FuzzEntry) throws {
    let directory = Self.corpus.appendingPathComponent(entry.rawValue)
    let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
    #expect(!files.isEmpty, "no corpus in \(directory.path)")
    for file in files.sorted(by: { $0.path < $1.path }) {
      entry.run(Array(try Data(contentsOf: file)))
    }
  }
}
