import BackflowConfig
import Testing

/// `state:` and `--state`: a SQLite path, a PostgreSQL URL or a libpq key=value string.
@Suite("state locations")
struct StateLocationTests {
  @Test(arguments: [
    ("sqlite:.backflow/state.db", StateLocation.sqlite(path: ".backflow/state.db")),
    ("postgresql:///analytics", .postgres(conninfo: "postgresql:///analytics")),
    ("postgres://bf@db:5432/analytics", .postgres(conninfo: "postgres://bf@db:5432/analytics")),
    ("dbname=analytics", .postgres(conninfo: "dbname=analytics")),
    ("host=db.internal port=5432 dbname=analytics user=backflow", .postgres(conninfo: "host=db.internal port=5432 dbname=analytics user=backflow")),
    // libpq escapes a quote inside a quoted value with a backslash.
    ("  host = db  password='it\\'s a pass' ", .postgres(conninfo: "  host = db  password='it\\'s a pass' ")),
  ])
  func acceptedLocations(text: String, location: StateLocation) {
    #expect(StateLocation(text) == location)
  }

  @Test(arguments: [
    "", "sqlite:", "state.db", "mysql://db/state", "analytics", "host=", "host=db dbname", "=db", "host='db",
    "sqlite://state.db", "sqlite:///state.db",
  ])
  func refusedLocations(text: String) {
    #expect(StateLocation(text) == nil)
  }

  /// A URL habit would otherwise put the state in /state.db.
  @Test func aSQLiteURLIsRefusedSayingHowToWriteThePath() {
    #expect(StateLocation.requirement(for: "sqlite://state.db").contains("sqlite:state.db is relative to backflow.yaml"))
    #expect(StateLocation.requirement(for: "mysql://x") == "must be \(StateLocation.expected)")
  }
}
