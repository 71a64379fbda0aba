/// Every key the config language accepts, per kind of mapping; the keys of a source or
/// destination entry are its driver's (`DriverCatalog.sourceKeys`, `.destinationKeys`).
///
/// The decoder checks mappings against these lists (unknown keys get "did you mean"), and a test
/// checks that `schemas/*.schema.json` describe exactly the same keys, so the two cannot drift.
public enum ConfigKeys {
  /// `backflow.yaml`
  public static let project = ["version", "state", "sources", "destinations", "sync_logs", "error_categories", "notifications", "alerts", "dbt"]
  /// An entry under `notifications:`
  public static let notification = ["type", "webhook", "url", "secret", "smtp", "from", "to"]
  /// An item of `alerts:`, in backflow.yaml or a sync
  public static let alert = ["when", "threshold", "runs", "notify", "recovery"]
  /// `sync_logs:`
  public static let syncLogs = ["source", "schema"]
  /// An adbc source's `planning:`
  public static let planning = ["schema"]
  /// `dbt:`
  public static let dbt = ["project", "manifest", "source"]
  /// A model file under `syncs/models/`, or a sync's inline `model:` mapping
  public static let model = ["source", "primary_key", "query", "table", "dbt", "json"]
  /// A sync file under `syncs/`
  public static let sync = [
    "name", "model", "destination", "type", "object", "mode", "match", "mappings", "batch",
    "on_delete", "max_remove", "schedule", "enabled", "alerts", "requests",
  ]
  /// One operation's request under a sync's `requests:` (rest destinations)
  public static let request = [
    "method", "path", "query", "headers", "batch", "body", "body_text", "content_type", "result", "clear_value",
    "offset",
  ]
  /// A request's `result:`
  public static let result = [
    "errors", "error_key", "error_index", "error_message", "each", "ok", "keys", "ids", "id_key", "id",
  ]
  /// The `result:` of a `read` or `list` request, which returns records
  public static let recordsResult = ["records", "key", "fields", "id", "next", "next_url", "keys"]
  /// A `list` request's `offset:`
  public static let offset = ["param", "size_param", "size"]
  /// An item of a sync's `mappings:`
  public static let mapping = ["from", "value", "template", "to"]
  /// A sync's `batch:`
  public static let batch = ["size", "concurrency", "rate"]
  /// A sync's `schedule:` when it is a mapping
  public static let schedule = ["every", "cron", "timezone", "weekly", "after", "after_failure", "manual"]
  /// A schedule's `weekly:`
  public static let weekly = ["days", "at", "timezone"]
}
