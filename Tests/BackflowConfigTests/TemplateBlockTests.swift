import BackflowConfig
import Testing

/// `{% for %}` and `{% if %}` in mapping and request templates: what they render, what they read,
/// and where a template that misuses them is refused.
@Suite("template blocks")
struct TemplateBlockTests {
  static let tags: JSONValue = .array([.string("vip"), .string("beta"), .string("eu")])

  func render(_ text: String, _ row: [String: JSONValue] = [:]) throws -> String {
    try MappingTemplate(text).render(row)
  }

  // MARK: Loops

  @Test func loopsWalkListsWithForloop() throws {
    #expect(try render("{% for t in tags %}{{ t }}{% unless forloop.last %},{% endunless %}{% endfor %}", ["tags": Self.tags]) == "vip,beta,eu")
    #expect(
      try render("{% for t in tags %}{{ forloop.index }}/{{ forloop.length }}{{ forloop.counter0 }}{{ forloop.rindex }} {% endfor %}", ["tags": Self.tags])
        == "1/303 2/312 3/321 ")
    #expect(try render("{% for t in tags reversed limit: 2 %}{{ t | upcase }}{% endfor %}", ["tags": Self.tags]) == "BETAVIP")
    #expect(try render("{% for t in tags offset:1 limit:1 %}{{ t }}{% endfor %}", ["tags": Self.tags]) == "beta")
    // An empty list or NULL renders the else (Liquid) or empty (Stencil) part.
    #expect(try render("{% for t in tags %}{{ t }}{% else %}none{% endfor %}", ["tags": .array([])]) == "none")
    #expect(try render("{% for t in tags %}{{ t }}{% empty %}none{% endfor %}", ["tags": .null]) == "none")
    // Objects in a list, nested loops, the outer variable seen inside.
    let orders: JSONValue = .array([
      .object([("id", .int(7)), ("items", .array([.object([("sku", .string("A"))]), .object([("sku", .string("B"))])]))]),
      .object([("id", .int(8)), ("items", .array([]))]),
    ])
    #expect(
      try render("{% for o in orders %}{{ o.id }}:{% for i in o.items %}{{ i.sku }}{{ o.id }}{% empty %}-{% endfor %};{% endfor %}", ["orders": orders])
        == "7:A7B7;8:-;")
    // A loop variable shadows a column of its name inside the loop only, NULL included.
    #expect(try render("{% for x in xs %}[{{ x }}]{% endfor %}{{ x }}", ["xs": .array([.null, .int(1)]), "x": .string("col")]) == "[][1]col")
  }

  @Test func whitespaceControlTrimsAroundBlockTags() throws {
    let text = "{%- for t in tags -%}\n  {{ t }}\n{%- endfor -%}\n"
    #expect(try render(text, ["tags": Self.tags]) == "vipbetaeu")
    #expect(try render("a {% if x %} b {% endif %} c", ["x": .bool(true)]) == "a  b  c")
  }

  @Test func aLoopOverSomethingElseFailsTheRowSayingWhy() throws {
    let template = try MappingTemplate("id {% for t in tags %}{{ t }}{% endfor %}")
    #expect {
      try template.render(["tags": .string("[\"a\"]")])
    } throws: { error in
      let error = error as? MappingTemplateError
      return error?.message.contains("tags is text") == true && error?.message.contains("json:") == true
        && error?.line == 1 && error?.column == 4
    }
    #expect(throws: MappingTemplateError.self) { try template.render(["tags": .object([])]) }
  }

  // MARK: Conditions

  @Test(arguments: [
    ("{% if plan == \"pro\" %}P{% else %}F{% endif %}", "P"),
    ("{% if plan != \"pro\" %}P{% else %}F{% endif %}", "F"),
    ("{% if score > 9 %}hi{% elsif score > 5 %}mid{% else %}lo{% endif %}", "mid"),
    ("{% if score >= 7 and score <= 7 %}seven{% endif %}", "seven"),
    ("{% if amount < 10 %}small{% endif %}", "small"),
    ("{% if tags contains \"beta\" %}beta{% endif %}", "beta"),
    ("{% if \"eu\" in tags %}eu{% endif %}", "eu"),
    ("{% if plan contains \"r\" %}r{% endif %}", "r"),
    ("{% if missing or plan %}or{% endif %}", "or"),
    ("{% if not missing %}not{% endif %}", "not"),
    ("{% if zero %}t{% else %}f{% endif %}", "f"),
    ("{% if empty_text %}t{% else %}f{% endif %}", "f"),
    ("{% if tags %}t{% endif %}", "t"),
    ("{% if missing == nil %}null{% endif %}", "null"),
    ("{% if score == 7.0 %}same{% endif %}", "same"),
    ("{% if plan | upcase == \"PRO\" %}filtered{% endif %}", "filtered"),
    ("{% unless missing %}u{% else %}x{% endunless %}", "u"),
    ("{% if a %}{% elif plan %}elif{% endif %}", "elif"),
    ("{% if missing %}x{% elsif plan == \"free\" %}y{% endif %}", ""),
  ])
  func conditions(_ text: String, _ expected: String) throws {
    // `amount` is a decimal the database printed: it compares as a number.
    let row: [String: JSONValue] = [
      "plan": .string("pro"), "score": .int(7), "amount": .number("9.50"), "tags": Self.tags, "zero": .int(0),
      "empty_text": .string(""), "missing": .null, "a": .bool(false),
    ]
    #expect(try render(text, row) == expected, "\(text)")
  }

  // MARK: What a template reads

  @Test func columnsAreFoundThroughEveryBranchAndLoop() throws {
    let template = try MappingTemplate(
      "{% if vip and region == home %}{{ a }}{% elsif b %}{% for t in tags %}{{ t.name }}{{ c | default: d }}{% endfor %}{% else %}{{ e }}{% endif %}")
    #expect(template.columns == ["vip", "region", "home", "a", "b", "tags", "c", "d", "e"])
    // The loop variable reads what its list holds; the walked list is kept apart.
    #expect(template.paths.contains(["tags", "[]", "name"]))
    #expect(template.lists == [["tags"]])
  }

  @Test func requestTemplatePathsFollowLoopVariables() throws {
    let template = try MappingTemplate(
      "{% for r in records %}{{ r.row.email }}{% for t in r.row.tags %}{{ t }}{% endfor %}{% endfor %}",
      variables: RequestTemplates.variables)
    #expect(template.columns == ["records"])
    #expect(template.paths == [["records", "[]", "row", "email"], ["records", "[]", "row", "tags", "[]"]])
    #expect(template.lists == [["records"], ["records", "[]", "row", "tags"]])
  }

  // MARK: Refused at parse (MappingTemplateTests.refusesAtParse has the blocks' other cases)

  @Test func aLoopVariableIsKnownInsideItsLoopOnly() throws {
    let variables = RequestTemplates.variables
    #expect(MappingTemplateTests().parseError("{% for r in records %}{{ r.key }}{{ forloop.index }}{% endfor %}", variables: variables) == nil)
    let outside = try #require(MappingTemplateTests().parseError("{% for r in records %}{% endfor %}{{ r.key }}", variables: variables))
    #expect(outside.message.hasPrefix("unknown variable \"r\""), "\(outside.message)")
    #expect(outside.line == 1 && outside.column == 35)
    let forloop = try #require(MappingTemplateTests().parseError("{{ forloop.index }}", variables: variables))
    #expect(forloop.message.hasPrefix("unknown variable \"forloop\""))
    // Inside a loop, "did you mean" knows the loop's variable.
    let typo = try #require(MappingTemplateTests().parseError("{% for item in records %}{% if itme.key %}{% endif %}{% endfor %}", variables: variables))
    #expect(typo.message.contains("unknown variable \"itme\"; did you mean \"item\"?"), "\(typo.message)")
    #expect(typo.column == 26)
    let list = try #require(MappingTemplateTests().parseError("{% for r in recrods %}{% endfor %}", variables: variables))
    #expect(list.message.contains("unknown variable \"recrods\"; did you mean \"records\"?"), "\(list.message)")
  }
}
