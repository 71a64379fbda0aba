/// How one sync's destination records compare with what Backflow last wrote to them: the data
/// half of `backflow drift`.
///
/// Backflow keeps fingerprints, not the values it sent. A snapshot row whose fingerprint still
/// equals the model row's was last written as the current row maps, so those rows are compared;
/// rows whose fingerprint differs, rows not sent yet and rows that left the model are pending
/// changes (`backflow plan` shows them), not drift.
public struct DriftData: Sendable, Equatable {
  public enum Status: Sendable, Equatable {
    /// The records were read and compared.
    case checked
    /// Nothing was read, for the reason given (the destination cannot be read back, …).
    case notChecked(String)
    /// Reading failed with this message; the counts cover what was compared before.
    case failed(String)
  }

  /// One drifted record: the model row's key, its match value as text, and for differing
  /// records the fields that differ.
  public struct Record: Sendable, Equatable {
    public var key: String
    public var match: String?
    public var fields: [Field]

    public init(key: String, match: String?, fields: [Field] = []) {
      self.key = key
      self.match = match
      self.fields = fields
    }
  }

  /// One field that differs: what the destination holds and what Backflow wrote, each as text
  /// as the destination prints it (`nil` for NULL), truncated.
  public struct Field: Sendable, Equatable {
    public var name: String
    public var destination: String?
    public var written: String?

    public init(name: String, destination: String?, written: String?) {
      self.name = name
      self.destination = destination
      self.written = written
    }
  }

  public var status: Status
  /// `destination/object`, as plans show it.
  public var destination: String
  /// Records looked up and compared.
  public var compared = 0
  /// Records whose mapped fields differ from what Backflow last wrote.
  public var differing = 0
  /// Records Backflow wrote that the destination no longer holds.
  public var missing = 0
  /// Mirror syncs: records whose match value no model row and no snapshot row has; `nil` when
  /// not checked (`extraNote` says why, if it matters).
  public var extra: Int?
  public var extraNote: String?
  /// Model rows planned as added or changed, and snapshot rows planned as removed: pending
  /// changes, not compared.
  public var pending = 0
  /// Model rows with a NULL or repeated key, which never reach the destination.
  public var rejected = 0
  /// The first few drifted records of each kind.
  public var differingSample: [Record] = []
  public var missingSample: [Record] = []
  /// Match values of extra records, as text.
  public var extraSample: [String] = []
  /// With `--repair`: how many snapshot rows were dropped so the next run sends them again.
  public var repaired: Int?

  public init(status: Status, destination: String) {
    self.status = status
    self.destination = destination
  }

  /// Whether any record drifted.
  public var hasDrift: Bool { differing + missing + (extra ?? 0) > 0 }

  /// Whether the check failed.
  public var failed: Bool {
    if case .failed = status { true } else { false }
  }
}
