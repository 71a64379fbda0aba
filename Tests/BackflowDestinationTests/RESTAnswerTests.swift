import BackflowConfig
import Testing

@testable import BackflowDestinations

/// Reading per-record outcomes through `result:` paths, without a server.
@Suite("RESTAnswer")
struct RESTAnswerTests {
  static func paths(
    errors: String? = nil, key: String? = nil, index: String? = nil, message: String? = nil, each: String? = nil,
    ok: String? = nil, caseInsensitive: Bool = false
  ) throws -> ResultPaths {
    let at = SourceLocation(file: "s.yaml", line: 1, column: 1)
    func located(_ text: String?) throws -> Located<ResultPath>? { try text.map { Located(try ResultPath($0), at: at) } }
    return ResultPaths(
      errors: try located(errors), errorKey: try located(key), errorIndex: try located(index),
      errorMessage: try located(message), each: try located(each), ok: try located(ok),
      caseInsensitiveKeys: caseInsensitive)
  }

  @Test func errorsNamedByKeyFailThoseRecordsOnly() throws {
    let body = #"{"status":"COMPLETE","errors":[{"message":"bad email","context":{"ids":["B@x"]}}]}"#
    let keys: [JSONValue] = [.string("a@x"), .string("b@x"), .int(3)]
    let exact = try RESTAnswer.outcomes(
      body, paths: try Self.paths(errors: "errors", key: "context.ids[0]", message: "message"), keys: keys, status: 207)
    #expect(exact == [nil, nil, nil])
    let folded = try RESTAnswer.outcomes(
      body, paths: try Self.paths(errors: "errors", key: "context.ids[0]", message: "message", caseInsensitive: true),
      keys: keys, status: 207)
    #expect(folded == [nil, .failed("bad email"), nil])
  }

  /// DESIGN.md: the API's message, at most 500 characters (the HTTP protocol's servers get 200).
  @Test(arguments: [450, 500, 501, 2_000])
  func anAPIsMessageIsQuotedUpTo500Characters(length: Int) throws {
    let message = String(repeating: "x", count: length)
    let body = #"{"errors":[{"index":0,"message":"\#(message)"}]}"#
    let outcomes = try RESTAnswer.outcomes(
      body, paths: try Self.paths(errors: "errors", index: "index", message: "message"), keys: [.int(1)], status: 400)
    #expect(outcomes == [.failed(length <= 500 ? message : String(repeating: "x", count: 500) + "…")])
    // A batch split down to the record at fault fails it with the answer's own message, as long.
    let failure = HTTPAnswer.failure(
      status: 422, reasonPhrase: "Unprocessable Entity", body: #"{"message":"\#(message)"}"#,
      limit: RESTAnswer.messageLimit)
    #expect(failure == "HTTP 422: " + (length <= 500 ? message : String(repeating: "x", count: 500) + "…"))
  }

  @Test func errorsNamedByIndexAndNumbersMatchTheirText() throws {
    let body = #"{"errors":[{"index":2,"why":{"code":7}}],"bad":[{"id":"3"}]}"#
    let keys: [JSONValue] = [.string("a"), .string("b"), .int(3)]
    #expect(
      try RESTAnswer.outcomes(body, paths: try Self.paths(errors: "errors", index: "index", message: "why"), keys: keys, status: 200)
        == [nil, nil, .failed(#"{"code":7}"#)])
    #expect(
      try RESTAnswer.outcomes(body, paths: try Self.paths(errors: "bad", key: "id"), keys: keys, status: 200)
        == [nil, nil, .failed("rejected by the API (HTTP 200)")])
  }

  @Test func eachGivesOneResultPerRecordOrFailsSayingWhatDidNotFit() throws {
    let paths = try Self.paths(message: "errors[0].message", each: "[*]", ok: "success")
    let body = #"[{"id":"001","success":true,"errors":[]},{"success":false,"errors":[{"message":"DUPLICATE_VALUE"}]}]"#
    #expect(
      try RESTAnswer.outcomes(body, paths: paths, keys: [.int(1), .int(2)], status: 200)
        == [.succeeded, .failed("DUPLICATE_VALUE")])
    #expect(throws: RESTAnswer.Mismatch.self) {
      try RESTAnswer.outcomes(body, paths: paths, keys: [.int(1), .int(2), .int(3)], status: 200)
    }
  }

  @Test func aPathThatFindsNothingNamesNothing() throws {
    let outcomes = try RESTAnswer.outcomes(
      #"{"status":"COMPLETE","results":[]}"#, paths: try Self.paths(errors: "errors", key: "id"), keys: [.string("a")],
      status: 200)
    #expect(outcomes == [nil])
  }
}
