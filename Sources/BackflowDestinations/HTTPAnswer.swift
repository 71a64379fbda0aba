import BackflowConfig
import Foundation

/// Reads a protocol server's answer: per-record results of a 2xx, the message of anything else.
enum HTTPAnswer {
  /// Server text quoted in a message is cut to about this many characters: the protocol's
  /// servers are ours to fix. `RESTAnswer.messageLimit` is the rest destination's.
  static let messageLimit = 200

  /// One outcome per record of a batch answered with 2xx: succeeded, except the records named in
  /// `{"results": [{"key": …, "error": "reason"}]}`. A body that is empty, not JSON or without
  /// `results` means every record succeeded; a result for a key not in the batch is ignored.
  static func outcomes(
    for records: [DestinationRecord], body: String, redact: (String) -> String = { $0 }
  ) -> [RecordOutcome] {
    var outcomes = Array(repeating: RecordOutcome.succeeded, count: records.count)
    guard case let .array(results)? = (try? JSONValue.parse(body))?["results"] else { return outcomes }
    let keys = records.map { RecordKey($0.key) }
    for result in results {
      guard let key = result["key"], let reason = errorText(result["error"]) else { continue }
      let wanted = RecordKey(key)
      var matches = keys.indices.filter { keys[$0].text == wanted.text }
      if matches.isEmpty, let number = wanted.number {
        matches = keys.indices.filter { keys[$0].number == number }
      }
      for index in matches { outcomes[index] = .failed(redact(shortened(reason))) }
    }
    return outcomes
  }

  /// `HTTP 503: <message>`, the message being the body's `error` or `message` when the body is
  /// JSON (also `{"error": {"message": …}}`), else the body text, shortened; the status's reason
  /// phrase when the body says nothing.
  static func failure(
    status: Int, reasonPhrase: String, body: String, limit: Int = messageLimit, redact: (String) -> String = { $0 }
  ) -> String {
    var message = shortened(body, limit: limit)
    if let json = try? JSONValue.parse(body) {
      if let text = errorText(json["error"]?["message"]) ?? errorText(json["error"])
        ?? errorText(json["message"])
      {
        message = shortened(text, limit: limit)
      }
    }
    if message.isEmpty { message = reasonPhrase }
    return redact(message.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(message)")
  }

  /// A result's `error` as text: strings as they are, other JSON compact; `null`, `false` and an
  /// empty string say "no error".
  private static func errorText(_ value: JSONValue?) -> String? {
    switch value {
    case nil, .null?, .bool(false)?: return nil
    case let .string(text)?: return text.isEmpty ? nil : text
    case let value?: return value.rendered(compact: true)
    }
  }

  /// Whitespace runs as one space, cut to `limit` characters with an ellipsis.
  static func shortened(_ text: String, limit: Int = messageLimit) -> String {
    let words = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline })
    let collapsed = words.joined(separator: " ")
    guard collapsed.count > limit else { return collapsed }
    return String(collapsed.prefix(limit)) + "…"
  }

  /// A record key as the protocol compares them: by text, so that the number 42 and the string
  /// "42" are one record; numbers also by value, so that 42, 42.0 and "42.00" are too.
  private struct RecordKey {
    var text: String
    var number: Double?

    init(_ value: JSONValue) {
      switch value {
      case let .string(string):
        text = string
        number = Self.finite(Double(string.trimmingCharacters(in: .whitespaces)))
      case let .number(string):
        text = string
        number = Self.finite(Double(string))
      case let .int(integer):
        text = String(integer)
        number = Double(integer)
      default:
        text = value.rendered(compact: true)
        if case let .double(double) = value { number = Self.finite(double) }
      }
    }

    private static func finite(_ value: Double?) -> Double? {
      guard let value, value.isFinite else { return nil }
      return value
    }
  }
}
