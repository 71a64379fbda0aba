import BackflowConfig
import BackflowState
import Foundation

/// What one request gets: a status, a content type and a body.
struct WebAnswer: Sendable {
  var status: Int
  var contentType: String
  var body: String

  static func html(_ body: String, status: Int = 200) -> WebAnswer {
    WebAnswer(status: status, contentType: "text/html; charset=utf-8", body: body)
  }

  static func json(_ value: JSONValue, status: Int = 200) -> WebAnswer {
    WebAnswer(status: status, contentType: "application/json; charset=utf-8", body: value.rendered() + "\n")
  }
}

/// The pages and the JSON API under `/api/`, read from the state store for each request.
struct WebPages: Sendable {
  static let runsPerPage = 50
  static let failedRowsPerPage = 100
  /// Changes only when a field is removed or changes meaning; new fields may appear.
  static let formatVersion = 1

  let catalog: WebCatalog

  /// One line of the syncs page.
  struct SyncLine {
    var name: String
    var record: SyncRecord?
    var info: WebCatalog.Sync?
    var lastRun: RunRecord?
    var next: (words: String, at: String?)?
    /// The conditions of the sync's open alerts (failure, rejected_rows, …).
    var openAlerts: [String]
  }

  /// The project's syncs by name, then syncs state knows that left the project; retired last.
  func syncLines(_ state: StateStore) throws -> [SyncLine] {
    let records = try state.syncs()
    let alerts = Dictionary(grouping: try state.openAlerts(), by: \.syncID)
    var lines: [SyncLine] = []
    func line(_ name: String, _ record: SyncRecord?, _ info: WebCatalog.Sync?) throws -> SyncLine {
      let lastRun = try record.flatMap { try state.runs(syncID: $0.id, limit: 1).first }
      let next = info != nil && record?.retiredAt == nil ? catalog.nextRun(name, lastRun) : nil
      return SyncLine(
        name: name, record: record, info: info, lastRun: lastRun, next: next,
        openAlerts: record.map { (alerts[$0.id] ?? []).map(\.alert) } ?? [])
    }
    let active = records.filter { $0.retiredAt == nil }
    for info in catalog.syncs.sorted(by: { $0.name < $1.name }) {
      lines.append(try line(info.name, active.first { $0.name == info.name }, info))
    }
    let projectNames = Set(catalog.syncs.map(\.name))
    for record in active where !projectNames.contains(record.name) {
      lines.append(try line(record.name, record, nil))
    }
    for record in records where record.retiredAt != nil {
      lines.append(try line(record.name, record, nil))
    }
    return lines
  }

  func names(_ state: StateStore) throws -> [Int: String] {
    Dictionary(try state.syncs().map { ($0.id, $0.name) }) { first, _ in first }
  }

  /// One page of `total` items, `size` a page: `number` clamped to the pages there are.
  struct Page<Item> {
    var number: Int
    var count: Int
    var total: Int
    var items: [Item]
    var more: Bool { number < count }

    init(_ number: Int, size: Int, total: Int, read: (_ offset: Int, _ limit: Int) throws -> [Item]) rethrows {
      count = max((total + size - 1) / size, 1)
      self.number = min(max(number, 1), count)
      self.total = total
      items = try read((self.number - 1) * size, size)
    }
  }

  func runsPage(_ state: StateStore, syncID: Int, page: Int) throws -> Page<RunRecord> {
    try Page(page, size: Self.runsPerPage, total: try state.runCount(syncID: syncID)) {
      try state.runs(syncID: syncID, offset: $0, limit: $1)
    }
  }

  func failuresPage(_ state: StateStore, runID: Int, page: Int) throws -> Page<FailedRow> {
    try Page(page, size: Self.failedRowsPerPage, total: try state.failureCount(runID: runID)) {
      try state.failures(runID: runID, offset: $0, limit: $1)
    }
  }

  // MARK: Syncs

  func syncsPage(_ state: StateStore) throws -> WebAnswer {
    let lines = try syncLines(state)
    var html = HTML()
    html.element("h1", "Syncs")
    guard !lines.isEmpty else {
      html.element("p", "No syncs in the project and none in the state store.")
      return .html(PageLayout.page(title: "Syncs", project: catalog.title, body: html.text))
    }
    let titles = ["Sync", "ID", "Model → destination", "Schedule", "Last run", "Status", "Started", "Next run", "Open alerts"]
    html.raw("<table class=\"syncs\">" + HTML.header(titles, numeric: ["ID", "Last run"]) + "<tbody>\n")
    for line in lines {
      let id = line.record?.id
      var cells = [
        id.map { HTML.linkCell("/syncs/\($0)", line.name) } ?? HTML.cell(line.name),
        id.map { HTML.number($0) } ?? HTML.cell("-", class: "num"),
        HTML.cell(route(line)),
        HTML.cell(line.info?.schedule ?? (line.record?.retiredAt != nil ? "retired" : "not in the project")),
        line.lastRun.map { "<td class=\"num\"><a href=\"/runs/\($0.id)\">\($0.id)</a></td>" } ?? HTML.cell("never"),
        line.lastRun.map { "<td>" + HTML.status($0.status.rawValue) + "</td>" } ?? HTML.cell(""),
        HTML.cell(line.lastRun?.startedAt ?? ""),
        HTML.cell(line.next?.words ?? "-"),
      ]
      cells.append(HTML.cell(line.openAlerts.joined(separator: ", "), class: line.openAlerts.isEmpty ? nil : "red"))
      html.row(cells)
    }
    html.raw("</tbody></table>\n")
    return .html(PageLayout.page(title: "Syncs", project: catalog.title, body: html.text))
  }

  private func route(_ line: SyncLine) -> String {
    guard let info = line.info else { return "-" }
    return "\(info.model) → \(info.destination).\(info.object) (\(info.mode))"
  }

  func syncsJSON(_ state: StateStore) throws -> WebAnswer {
    .json(.object([("format_version", .int(Self.formatVersion)), ("syncs", .array(try syncLines(state).map(json)))]))
  }

  private func json(_ line: SyncLine) -> JSONValue {
    func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    let id: JSONValue = line.record.map { .int($0.id) } ?? .null
    let lastRun: JSONValue = line.lastRun.map { $0.json(sync: line.name) } ?? .null
    let alerts = JSONValue.array(line.openAlerts.map(JSONValue.string))
    return .object([
      ("name", .string(line.name)), ("id", id), ("retired_at", text(line.record?.retiredAt)),
      ("model", text(line.info?.model)), ("destination", text(line.info?.destination)),
      ("object", text(line.info?.object)), ("mode", text(line.info?.mode)), ("schedule", text(line.info?.schedule)),
      ("next_run", text(line.next?.words)), ("next_run_at", text(line.next?.at)), ("last_run", lastRun),
      ("open_alerts", alerts),
    ])
  }

  // MARK: One sync

  func syncPage(_ state: StateStore, id: Int, page: Int) throws -> WebAnswer {
    guard let record = try state.syncs().first(where: { $0.id == id }) else {
      return notFound("There is no sync with ID \(id) in the state store.")
    }
    let runs = try runsPage(state, syncID: id, page: page)
    let info = record.retiredAt == nil ? catalog.syncs.first { $0.name == record.name } : nil
    let lastRun = runs.number == 1 ? runs.items.first : try state.runs(syncID: id, limit: 1).first

    var html = HTML()
    html.raw("<h1>Sync " + HTML.escape(record.name) + " <span class=\"muted\">ID \(record.id)</span></h1>\n")
    var facts: [(String, String)] = []
    if let info {
      facts += [
        ("model", info.model), ("destination", "\(info.destination).\(info.object)"), ("mode", info.mode),
        ("schedule", info.schedule),
      ]
      if record.retiredAt == nil { facts.append(("next run", catalog.nextRun(record.name, lastRun).words)) }
    } else {
      facts.append(("in the project", record.retiredAt == nil ? "no: removed from the repository" : "no"))
    }
    facts += [("registered", record.createdAt), ("applied", record.appliedAt ?? "never")]
    if let commit = record.gitCommit { facts.append(("git commit", commit)) }
    if let retired = record.retiredAt { facts.append(("retired", retired)) }
    if let pending = record.pending {
      facts.append(("next run will", "\(pending.action.rawValue) (asked by \(pending.requestedBy) at \(pending.requestedAt))"))
    }
    facts.append(("runs", String(runs.total)))
    html.raw(Self.facts(facts))

    html.element("h2", "Run history")
    html.raw(RunChart.svg(runs.items.reversed()))
    html.raw(RunChart.legend)
    html.raw(runsTable(runs.items))
    html.raw(PageLayout.pager(path: "/syncs/\(id)", page: runs.number, pages: runs.count))

    html.element("h2", "Applied config")
    if let config = record.config {
      let pretty = (try? JSONValue.parse(config).rendered()) ?? config
      html.raw("<pre class=\"config\">" + HTML.escape(Redaction.redact(pretty)) + "</pre>\n")
      html.raw("<p class=\"muted\">Secrets appear as the <code>${NAME}</code> they were read through, never their values.</p>\n")
    } else {
      html.element("p", "Never applied.")
    }
    return .html(PageLayout.page(title: record.name, project: catalog.title, body: html.text))
  }

  /// One sync's runs, with the columns of `backflow runs`.
  func runsTable(_ runs: [RunRecord]) -> String {
    guard !runs.isEmpty else { return "<p>No runs yet.</p>\n" }
    let numeric = ["Run", "Queried", "Added", "Changed", "Removed", "Succeeded", "Rejected", "Aborted"]
    var html = HTML()
    html.raw(
      "<table class=\"runs\">"
        + HTML.header(
          ["Run", "Status", "Started", "Duration", "Queried", "Added", "Changed", "Removed", "Succeeded",
           "Rejected", "Aborted", "Error"], numeric: Set(numeric)) + "<tbody>\n")
    for run in runs {
      html.row([
        "<td class=\"num\"><a href=\"/runs/\(run.id)\">\(run.id)</a></td>",
        "<td>" + HTML.status(run.status.rawValue) + "</td>",
        HTML.cell(run.startedAt), HTML.cell(run.durationText ?? "-"), HTML.number(run.rowsQueried),
        HTML.number(run.planned.add), HTML.number(run.planned.change), HTML.number(run.planned.remove),
        HTML.number(run.succeeded.total, class: "green"), HTML.number(run.failed.total, class: "red"),
        HTML.number(run.aborted.total, class: "amber"),
        HTML.cell(run.error.map { String($0.split(separator: "\n").first ?? "").prefix(120).description } ?? ""),
      ])
    }
    html.raw("</tbody></table>\n")
    return html.text
  }

  /// `backflow runs SYNC --format json`, a page at a time, with the page's place in the whole.
  func syncRunsJSON(_ state: StateStore, id: Int, page: Int) throws -> WebAnswer {
    guard let record = try state.syncs().first(where: { $0.id == id }) else {
      return .json(.object([("error", .string("there is no sync with ID \(id)"))]), status: 404)
    }
    let runs = try runsPage(state, syncID: id, page: page)
    return .json(
      .object([
        ("format_version", .int(Self.formatVersion)),
        ("sync", .string(record.name)),
        ("truncated", .bool(runs.more)),
        ("runs", .array(runs.items.map { $0.json(sync: record.name) })),
        ("page", .int(runs.number)), ("pages", .int(runs.count)), ("total", .int(runs.total)),
      ]))
  }

  // MARK: One run

  func runPage(_ state: StateStore, id: Int, page: Int) throws -> WebAnswer {
    guard let run = try state.run(id: id) else { return notFound("There is no run \(id) in the state store.") }
    let name = try names(state)[run.syncID] ?? "sync \(run.syncID)"
    let rows = try failuresPage(state, runID: id, page: page)

    var html = HTML()
    html.raw(
      "<h1>Run \(run.id) of <a href=\"/syncs/\(run.syncID)\">\(HTML.escape(name))</a> "
        + HTML.status(run.status.rawValue) + "</h1>\n")
    html.raw(
      Self.facts([
        ("status", run.status.rawValue), ("started", run.startedAt),
        ("finished", run.finishedAt ?? "not finished: still running, or stopped before it could record its end"),
        ("duration", run.durationText ?? "-"), ("rows queried", String(run.rowsQueried)),
        ("git commit", run.gitCommit ?? "none"), ("sync ID", String(run.syncID)),
      ]))
    html.element("h2", "Rows per operation")
    html.raw(
      "<table class=\"operations\">"
        + HTML.header(
          ["Operation", "Planned", "Attempted", "Succeeded", "Failed", "Aborted"],
          numeric: ["Planned", "Attempted", "Succeeded", "Failed", "Aborted"]) + "<tbody>\n")
    let operations: [(String, KeyPath<OperationCounts, Int>)] = [
      ("add", \.add), ("change", \.change), ("remove", \.remove), ("total", \.total),
    ]
    for (operation, path) in operations {
      html.row([
        HTML.cell(operation), HTML.number(run.planned[keyPath: path]), HTML.number(run.attempted[keyPath: path]),
        HTML.number(run.succeeded[keyPath: path], class: "green"), HTML.number(run.failed[keyPath: path], class: "red"),
        HTML.number(run.aborted[keyPath: path], class: "amber"),
      ])
    }
    html.raw("</tbody></table>\n")
    if let error = run.error {
      html.element("h2", "Error")
      html.raw("<pre class=\"error\">" + HTML.escape(error) + "</pre>\n")
    }
    html.element("h2", "Failed rows (\(rows.total))")
    if rows.total == 0 {
      html.element("p", "No failed rows.")
    } else {
      html.raw("<table class=\"failed\">" + HTML.header(["#", "Operation", "Key", "Reason"], numeric: ["#"]) + "<tbody>\n")
      for (index, row) in rows.items.enumerated() {
        html.row([
          HTML.number((rows.number - 1) * Self.failedRowsPerPage + index + 1), HTML.cell(row.operation),
          HTML.cell(row.key ?? "NULL"), HTML.cell(row.reason),
        ])
      }
      html.raw("</tbody></table>\n")
      html.raw(PageLayout.pager(path: "/runs/\(id)", page: rows.number, pages: rows.count))
      html.raw("<p class=\"muted\">Failed rows are retried by the next run. <a href=\"/errors\">Errors</a> groups them by reason.</p>\n")
    }
    return .html(PageLayout.page(title: "Run \(run.id)", project: catalog.title, body: html.text))
  }

  /// `backflow runs show RUN --format json`, with a page of failed rows as its sample.
  func runJSON(_ state: StateStore, id: Int, page: Int) throws -> WebAnswer {
    guard let run = try state.run(id: id) else {
      return .json(.object([("error", .string("there is no run \(id)"))]), status: 404)
    }
    let name = try names(state)[run.syncID] ?? "sync \(run.syncID)"
    let rows = try failuresPage(state, runID: id, page: page)
    return .json(
      .object([
        ("format_version", .int(Self.formatVersion)),
        ("run", run.json(sync: name)),
        (
          "failed_rows",
          .object([
            ("total", .int(rows.total)), ("sample", .array(rows.items.map(\.json))), ("page", .int(rows.number)),
            ("pages", .int(rows.count)),
          ])
        ),
      ]))
  }

  // MARK: Errors and locks

  func errorsPage(_ state: StateStore) throws -> WebAnswer {
    let view = try catalog.errors(state, try names(state))
    var html = HTML()
    html.element("h1", "Errors")
    guard !view.runs.isEmpty else {
      html.element("p", "No finished runs yet, so no failed rows.")
      return .html(PageLayout.page(title: "Errors", project: catalog.title, body: html.text))
    }
    html.element("p", "Failed rows in the latest finished run of each sync: the rows the next runs retry.")
    html.raw(
      "<table class=\"read\">" + HTML.header(["Sync", "Run", "Status", "Finished", "Failed rows"], numeric: ["Run", "Failed rows"])
        + "<tbody>\n")
    for entry in view.runs {
      html.row([
        HTML.linkCell("/syncs/\(entry.run.syncID)", entry.sync),
        "<td class=\"num\"><a href=\"/runs/\(entry.run.id)\">\(entry.run.id)</a></td>",
        "<td>" + HTML.status(entry.run.status.rawValue) + "</td>", HTML.cell(entry.run.finishedAt ?? ""),
        HTML.number(entry.failedRows, class: "red"),
      ])
    }
    html.raw("</tbody></table>\n")
    for category in view.categories where !(category.reasons.isEmpty && category.pattern == nil) {
      let pattern = category.pattern.map { " <code>/" + HTML.escape($0) + "/</code>" } ?? ""
      html.raw("<h2>" + HTML.escape(category.name) + pattern + " <span class=\"muted\">\(category.count) \(category.count == 1 ? "row" : "rows")</span></h2>\n")
      guard !category.reasons.isEmpty else {
        html.element("p", "No failed rows.", class: "muted")
        continue
      }
      html.raw("<table class=\"reasons\">" + HTML.header(["Rows", "Reason", "Sync", "Run", "Keys"], numeric: ["Rows", "Run"]) + "<tbody>\n")
      for reason in category.reasons {
        for (index, share) in reason.shares.enumerated() {
          let keys = share.sample.map { $0.key ?? "NULL" }.joined(separator: ", ")
          let more = share.count > share.sample.count ? " …" : ""
          html.row([
            index == 0 ? HTML.number(reason.count, class: "red") : "<td></td>",
            index == 0 ? HTML.cell(reason.text) : "<td></td>",
            HTML.linkCell("/syncs/\(view.runs.first { $0.run.id == share.runID }?.run.syncID ?? 0)", share.sync),
            "<td class=\"num\"><a href=\"/runs/\(share.runID)\">\(share.runID)</a></td>",
            HTML.cell(keys + more),
          ])
        }
      }
      html.raw("</tbody></table>\n")
    }
    return .html(PageLayout.page(title: "Errors", project: catalog.title, body: html.text))
  }

  func errorsJSON(_ state: StateStore) throws -> WebAnswer {
    .json(try catalog.errors(state, try names(state)).json)
  }

  func locksPage(_ state: StateStore) throws -> WebAnswer {
    let locks = try state.locks()
    var html = HTML()
    html.element("h1", "Locks")
    if locks.isEmpty {
      html.element("p", "No sync is locked: no apply or daemon is running a sync now.")
    } else {
      html.raw(
        "<table class=\"locks\">"
          + HTML.header(["Sync", "Lock ID", "Operation", "Who", "PID", "Since", "Heartbeat"], numeric: ["PID"])
          + "<tbody>\n")
      for lock in locks {
        html.row([
          lock.syncID.map { HTML.linkCell("/syncs/\($0)", lock.syncName) } ?? HTML.cell(lock.syncName),
          HTML.cell(lock.id), HTML.cell(lock.operation), HTML.cell(lock.who), HTML.number(lock.pid),
          HTML.cell(lock.since), HTML.cell(lock.heartbeatAt),
        ])
      }
      html.raw("</tbody></table>\n")
      html.raw("<p class=\"muted\"><code>backflow unlock SYNC LOCK_ID</code> removes a lock whose holder has stopped.</p>\n")
    }
    return .html(PageLayout.page(title: "Locks", project: catalog.title, body: html.text))
  }

  func locksJSON(_ state: StateStore) throws -> WebAnswer {
    let locks = try state.locks().map { lock -> JSONValue in
      .object([
        ("sync", .string(lock.syncName)), ("sync_id", lock.syncID.map(JSONValue.int) ?? .null),
        ("lock_id", .string(lock.id)), ("operation", .string(lock.operation)), ("who", .string(lock.who)),
        ("pid", .int(lock.pid)), ("backflow_version", .string(lock.backflowVersion)), ("since", .string(lock.since)),
        ("heartbeat_at", .string(lock.heartbeatAt)),
      ])
    }
    return .json(.object([("format_version", .int(Self.formatVersion)), ("locks", .array(locks))]))
  }

  // MARK: Pieces

  func notFound(_ message: String) -> WebAnswer {
    var html = HTML()
    html.element("h1", "Not found")
    html.element("p", message)
    html.raw("<p><a href=\"/\">All syncs</a></p>\n")
    return .html(PageLayout.page(title: "Not found", project: catalog.title, body: html.text), status: 404)
  }

  static func facts(_ facts: [(String, String)]) -> String {
    "<dl class=\"facts\">" + facts.map { "<dt>\(HTML.escape($0.0))</dt><dd>\(HTML.escape($0.1))</dd>" }.joined()
      + "</dl>\n"
  }
}
