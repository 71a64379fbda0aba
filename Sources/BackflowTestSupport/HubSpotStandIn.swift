import BackflowConfig
import Foundation

/// HubSpot's CRM contacts as its public API reference documents them, for the rest presets'
/// tests: contacts by lower-cased email, and the id HubSpot gave each.
public struct HubSpotStandIn: Sendable {
  public var contacts: [String: JSONValue] = [:]
  public var ids: [String: String] = [:]
  public var lastID = 500
  /// Archive and read requests are refused with this status while it is set.
  public var refusing: Int?

  /// Adds a contact as another tool would: HubSpot gives it the next id.
  public mutating func add(_ email: String, _ properties: JSONValue) {
    lastID += 1
    contacts[email] = properties
    ids[email] = String(lastID)
  }

  public func email(ofID id: String) -> String? { ids.first { $0.value == id }?.key }

  /// A contact as HubSpot answers one: its id and its properties, email among them.
  public func object(_ email: String) -> JSONValue {
    var properties: [(String, JSONValue)] = [("email", .string(email))]
    if case let .object(members)? = contacts[email] { properties += members }
    return .object([("id", .string(ids[email] ?? "")), ("properties", .object(properties)), ("archived", .bool(false))])
  }

  public init() {}

  /// developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
  /// (200, or 207 Multi-Status with `errors[].context.ids`, emails lower-cased; `results[]` with
  /// each contact's `id` and `properties`, email among them), .../batch/archive (204 No Content
  /// whether or not the ids exist), .../batch/read with `idProperty` (`results[]` as upsert's,
  /// 207 with an `OBJECT_NOT_FOUND` error naming the ids it did not find) and the list
  /// `GET /crm/v3/objects/contacts?limit=&after=` (`paging.next.after`, absent on the last page).
  public static func api(token: String) -> APIStandIn<HubSpotStandIn> {
    APIStandIn(HubSpotStandIn()) { hubspot, request in
      guard request.header("Authorization") == "Bearer \(token)" else {
        return ProtocolServer.Answer(
          status: 401, json: .object([("status", .string("error")), ("category", .string("INVALID_AUTHENTICATION"))]))
      }
      let inputs: [JSONValue] = if case let .array(list)? = request.body?["inputs"] { list } else { [] }
      if let status = hubspot.refusing, request.path.hasSuffix("/archive") || request.path.hasSuffix("/read") {
        return ProtocolServer.Answer(status: status, json: .object([("status", .string("error")), ("message", .string("internal error"))]))
      }
      switch request.path {
      case "/crm/v3/objects/contacts/batch/archive":
        for input in inputs {
          guard case let .string(id)? = input["id"], let email = hubspot.email(ofID: id) else { continue }
          hubspot.contacts[email] = nil
          hubspot.ids[email] = nil
        }
        return ProtocolServer.Answer(status: 204, body: "")
      case "/crm/v3/objects/contacts/batch/read":
        var results: [JSONValue] = []
        var missing: [JSONValue] = []
        for input in inputs {
          guard case let .string(email)? = input["id"] else { continue }
          if hubspot.contacts[email.lowercased()] != nil {
            results.append(hubspot.object(email.lowercased()))
          } else {
            missing.append(.string(email))
          }
        }
        var body: [(String, JSONValue)] = [("status", .string("COMPLETE")), ("results", .array(results))]
        if !missing.isEmpty {
          body += [
            ("numErrors", .int(1)),
            ("errors", .array([.object([
              ("status", .string("error")), ("category", .string("OBJECT_NOT_FOUND")),
              ("message", .string("Could not get some CONTACT objects, they may be deleted or not exist.")),
              ("context", .object([("ids", .array(missing))])),
            ])])),
          ]
        }
        return ProtocolServer.Answer(status: missing.isEmpty ? 200 : 207, json: .object(body))
      case "/crm/v3/objects/contacts" where request.method == "GET":
        let query = URLComponents(string: "?" + request.query)?.queryItems ?? []
        let limit = query.first { $0.name == "limit" }?.value.flatMap(Int.init) ?? 10
        let after = query.first { $0.name == "after" }?.value.flatMap(Int.init) ?? 0
        let ordered = hubspot.ids.compactMap { email, id in Int(id).map { ($0, email) } }.sorted { $0.0 < $1.0 }
        let page = ordered.filter { $0.0 > after }
        var body: [(String, JSONValue)] = [("results", .array(page.prefix(limit).map { hubspot.object($0.1) }))]
        if page.count > limit, let last = page.prefix(limit).last {
          body.append(("paging", .object([("next", .object([("after", .string(String(last.0))), ("link", .string("?after=\(last.0)"))]))])))
        }
        return ProtocolServer.Answer(status: 200, json: .object(body))
      default:
        break
      }
      var results: [JSONValue] = []
      var errors: [JSONValue] = []
      for input in inputs {
        guard case let .string(email)? = input["id"] else { continue }
        guard email.contains(".") else {
          errors.append(
            .object([
              ("status", .string("error")), ("category", .string("VALIDATION_ERROR")),
              ("message", .string("Email address \(email.lowercased()) is invalid")),
              ("context", .object([("ids", .array([.string(email.lowercased())]))])),
            ]))
          continue
        }
        if hubspot.ids[email.lowercased()] == nil {
          hubspot.add(email.lowercased(), input["properties"] ?? .null)
        } else {
          hubspot.contacts[email.lowercased()] = input["properties"]
        }
        results.append(hubspot.object(email.lowercased()))
      }
      var body: [(String, JSONValue)] = [("status", .string("COMPLETE")), ("results", .array(results))]
      if !errors.isEmpty { body += [("numErrors", .int(errors.count)), ("errors", .array(errors))] }
      return ProtocolServer.Answer(status: errors.isEmpty ? 200 : 207, json: .object(body))
    }
  }
}
