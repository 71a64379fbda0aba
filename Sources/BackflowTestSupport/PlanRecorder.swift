import BackflowConfig
import BackflowPlanner
import BackflowState
import Foundation

/// Records a plan file into state as an apply in which every row succeeded would: what the tests
/// of `plan` need to set up a previous run before `apply` exists to make one.
public enum PlanRecorder {
  public static func record(planFile: URL, into state: StateStore) throws {
    let reader = try PlanFileReader(url: planFile)
    guard case let .array(syncs)? = reader.header["syncs"] else { return }
    var ids: [String: Int] = [:]
    var replaced = Set<String>()
    for sync in syncs {
      guard case let .string(name)? = sync["name"] else { continue }
      var id: Int? = if case let .int(number)? = sync["id"] { number } else { nil }
      switch sync["config_action"] {
      case .string("retire")?:
        if let id { try state.retire(syncID: id) }
        continue
      case .string("create")?:
        id = try state.register(syncNamed: name)
      default:
        break
      }
      guard let id, let config = sync["config"] else { continue }
      let configuration = SyncConfiguration(json: config)
      try state.recordApplied(
        syncID: id, config: configuration.text, configHash: configuration.hash,
        primaryKey: configuration.primaryKey ?? "", gitCommit: nil)
      if sync["pending"] != .null { try state.setPending(nil, syncID: id) }
      ids[name] = id
      if sync["basis"] == .string("replaced") { replaced.insert(name) }
    }
    var entries: [String: [SnapshotEntry]] = [:]
    var removed: [String: [String]] = [:]
    while let row = try reader.next() {
      guard case let .string(sync)? = row["sync"], case let .string(operation)? = row["op"],
        case let .string(key)? = row["key"]
      else { continue }
      switch operation {
      case "add", "change", "record":
        if case let .string(fingerprint)? = row["fingerprint"] {
          entries[sync, default: []].append(SnapshotEntry(key: key, fingerprint: fingerprint))
        }
      case "remove": removed[sync, default: []].append(key)
      default: break
      }
    }
    for (name, id) in ids {
      try state.updateSnapshot(
        syncID: id, entries: entries[name] ?? [], removedKeys: removed[name] ?? [], replacing: replaced.contains(name))
    }
  }
}
