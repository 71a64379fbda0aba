/// The frame every page shares: title, navigation and the style sheet, inline so pages work offline.
enum PageLayout {
  static func page(title: String, project: String, body: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(HTML.escape(title)) · Backflow</title>
    <style>\(style)</style>
    </head>
    <body>
    <header><a class="brand" href="/">Backflow</a> <span class="project">\(HTML.escape(project))</span>
    <nav><a href="/">Syncs</a> <a href="/errors">Errors</a> <a href="/locks">Locks</a> <a href="/metrics">Metrics</a></nav>
    </header>
    <main>
    \(body)
    </main>
    </body>
    </html>

    """
  }

  /// Links to the pages before and after `page` (1-based) of `pages`.
  static func pager(path: String, page: Int, pages: Int) -> String {
    guard pages > 1 else { return "" }
    var html = "<p class=\"pager\">"
    if page > 1 {
      html += "<a href=\"\(HTML.escape(path))?page=1\">« first</a> "
      html += "<a rel=\"prev\" href=\"\(HTML.escape(path))?page=\(page - 1)\">‹ newer</a> "
    }
    html += "page \(page) of \(pages)"
    if page < pages {
      html += " <a rel=\"next\" href=\"\(HTML.escape(path))?page=\(page + 1)\">older ›</a>"
      html += " <a href=\"\(HTML.escape(path))?page=\(pages)\">last »</a>"
    }
    return html + "</p>\n"
  }

  static let style = """
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
    header{background:#24292f;color:#fff;padding:10px 24px;display:flex;gap:16px;align-items:baseline}
    header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:16px}
    header .project{color:#9da5ae}header nav{margin-left:auto;display:flex;gap:16px}
    main{padding:16px 24px;max-width:1200px}
    h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:24px 0 8px}
    table{border-collapse:collapse;background:#fff;border:1px solid #d0d7de;margin:4px 0 12px}
    th,td{padding:5px 10px;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:top}
    th{background:#f0f2f4;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    td.red{color:#cf222e;font-weight:600}td.amber{color:#9a6700;font-weight:600}td.green{color:#1a7f37}
    table.runs td{white-space:nowrap}table.runs td:last-child{white-space:normal}
    a{color:#0969da}.muted{color:#656d76}
    .status{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eaeef2}
    .status.succeeded{background:#dafbe1;color:#1a7f37}.status.failed{background:#ffebe9;color:#cf222e}
    .status.aborted{background:#fff8c5;color:#9a6700}.status.running{background:#ddf4ff;color:#0969da}
    dl.facts{display:grid;grid-template-columns:max-content auto;gap:4px 16px;background:#fff;border:1px solid #d0d7de;padding:10px 14px}
    dl.facts dt{color:#656d76}dl.facts dd{margin:0}
    pre{background:#fff;border:1px solid #d0d7de;padding:10px;overflow:auto;max-height:480px}
    pre.error{border-color:#ff8182;background:#fff5f5;white-space:pre-wrap}
    .chart{background:#fff;border:1px solid #d0d7de;padding:6px}.pager{margin:6px 0}
    .legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
    """
}
