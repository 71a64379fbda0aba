import BackflowConfig
import BackflowDestinations
import BackflowSQLite
import BackflowTestSupport
import Foundation
import Testing

/// Destinations say what kind of trouble they met, so the engine acts on the kind, not the text.
@Suite("failure kinds")
struct FailureKindTests {
  let target = DestinationTarget(
    syncName: "s", syncID: 1, runID: 1, type: .object, mode: .upsert, object: "contacts", matchField: "email",
    fields: ["name"], concurrency: 1)

  func kind(of destination: any DestinationConnector) async -> (FailureKind, String)? {
    do {
      try await destination.prepare()
      return nil
    } catch {
      return (FailureKind.of(error), FailureKind.message(of: error))
    }
  }

  @Test func anUnreachableServerIsAConnectionFailure() async throws {
    // Port 1 on loopback: nothing listens there.
    let failure = try #require(
      await kind(of: PostgresDestination(conninfo: "host=127.0.0.1 port=1 dbname=x connect_timeout=2", target: target)))
    #expect(failure.0 == .connection, "\(failure.1)")
    #expect(failure.1.hasPrefix("cannot connect to PostgreSQL"))
  }

  @Test func aMissingTableOrColumnIsAConfigurationFailure() async throws {
    try await withTemporaryDirectory { directory in
      let path = directory.appendingPathComponent("crm.db").path
      try SQLiteDatabase(path: path).execute("create table people (email text primary key)")
      let missingTable = try #require(await kind(of: SQLiteDestination(path: path, target: target)))
      #expect(missingTable.0 == .configuration && missingTable.1.contains("table contacts does not exist"))

      try SQLiteDatabase(path: path).execute("create table contacts (email text primary key)")
      let missingColumn = try #require(await kind(of: SQLiteDestination(path: path, target: target)))
      #expect(missingColumn.0 == .configuration && missingColumn.1.contains("has no column name"))
    }
  }

  @Test func anErrorThatIsNotAFailureIsARefusalWithItsOwnText() {
    struct Other: Error, CustomStringConvertible { var description: String { "other trouble" } }
    #expect(FailureKind.of(Other()) == .refused && FailureKind.message(of: Other()) == "other trouble")
  }
}
