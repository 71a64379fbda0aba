import BackflowConfig
import Foundation

/// Reads files as they are at a git commit, by running `git` in a directory of the repository.
struct GitRepository {
  /// Why git could not answer; `message` is what the user sees after `error:`.
  struct Failure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  /// A file of the tree at a commit, its path relative to `directory`.
  struct Entry {
    var path: String
    var object: String
  }

  /// Any directory inside the working tree; paths are relative to it.
  let directory: URL

  /// The full SHA of the commit `ref` names.
  func commit(_ ref: String) throws -> String {
    // A ref starting with "-" would be read as an option by older gits.
    guard !ref.isEmpty, !ref.hasPrefix("-") else {
      throw Failure(message: "--base: \"\(ref)\" is not a git ref; give a branch, a tag or a commit")
    }
    _ = try run(["rev-parse", "--show-prefix"]) { status, stderr in
      status == 128 && stderr.contains("not a git repository")
        ? "--base needs the project to be in a git repository, and \(directory.path) is not in one"
        : "--base: git failed: \(stderr)"
    }
    let output = try run(["rev-parse", "--verify", "--quiet", "--end-of-options", "\(ref)^{commit}"]) { _, _ in
      "--base: no commit named \"\(ref)\" in the repository at \(directory.path); give a branch, a tag or a "
        + "commit (in CI, fetch it first: actions/checkout with fetch-depth: 0)"
    }
    let sha = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard !sha.isEmpty else { throw Failure(message: "--base: git named no commit for \"\(ref)\"") }
    return sha
  }

  /// The regular files under `paths` (relative to `directory`) at `commit`, recursively.
  func files(at commit: String, under paths: [String]) throws -> [Entry] {
    let output = try run(["ls-tree", "-r", "-z", commit, "--"] + paths) { _, stderr in
      "--base: cannot list the files at \(commit.prefix(12)): \(stderr)"
    }
    return output.split(separator: 0).compactMap { record -> Entry? in
      // "<mode> <type> <object>\t<path>"; symbolic links (120000) and submodules are not config.
      let text = String(decoding: record, as: UTF8.self)
      guard let tab = text.firstIndex(of: "\t") else { return nil }
      let fields = text[..<tab].split(separator: " ")
      guard fields.count == 3, fields[1] == "blob", fields[0] != "120000" else { return nil }
      return Entry(path: String(text[text.index(after: tab)...]), object: String(fields[2]))
    }
  }

  /// The contents of `objects`, in order, read by one `git cat-file --batch`.
  func contents(of objects: [String]) throws -> [Data] {
    guard !objects.isEmpty else { return [] }
    // The object names go through a file, not a pipe, so git can never block writing its answer
    // while this process is still writing the question.
    let input = TemporaryFiles.url("git")
    defer { try? FileManager.default.removeItem(at: input) }
    try Data(objects.map { $0 + "\n" }.joined().utf8).write(to: input)
    let output = try run(["cat-file", "--batch"], input: input) { _, stderr in
      "--base: cannot read files from git: \(stderr)"
    }
    var blobs: [Data] = []
    var cursor = output.startIndex
    for object in objects {
      guard let newline = output[cursor...].firstIndex(of: UInt8(ascii: "\n")) else { break }
      let header = String(decoding: output[cursor..<newline], as: UTF8.self).split(separator: " ")
      guard header.count == 3, let size = Int(header[2]), newline + 1 + size <= output.endIndex else {
        throw Failure(message: "--base: git could not read object \(object)")
      }
      blobs.append(Data(output[(newline + 1)..<(newline + 1 + size)]))
      cursor = newline + 1 + size + 1
    }
    guard blobs.count == objects.count else { throw Failure(message: "--base: git answered for too few files") }
    return blobs
  }

  /// Runs `git arguments…` in `directory`; a non-zero exit throws `failure(status, stderr)`.
  private func run(_ arguments: [String], input: URL? = nil, failure: (Int32, String) -> String) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", directory.path] + arguments
    let output = Pipe()
    let errors = TemporaryFiles.url("git")
    defer { try? FileManager.default.removeItem(at: errors) }
    _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errors)
    process.standardInput = try input.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      throw Failure(message: "--base needs git, which could not be started: \(error.localizedDescription)")
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
      throw Failure(
        message: failure(process.terminationStatus, stderr.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
    return data
  }
}
