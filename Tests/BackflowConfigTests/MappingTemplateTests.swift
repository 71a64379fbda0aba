import BackflowConfig
import BackflowTestSupport
import Testing

@Suite("mapping templates")
struct MappingTemplateTests {
  func render(_ text: String, _ row: [String: JSONValue] = [:]) throws -> String {
    try MappingTemplate(text).render(row)
  }

  func parseError(_ text: String, variables: [String]? = nil) -> MappingTemplateError? {
    do {
      _ = try MappingTemplate(text, variables: variables)
      return nil
    } catch {
      return error as? MappingTemplateError
    }
  }

  // MARK: Columns

  @Test(arguments: [
    ("{{ first_name }} {{ last_name }}", ["first_name", "last_name"]),
    ("{{ nickname | default: first_name }}", ["nickname", "first_name"]),
    ("{{ user.email }} {{ tags.0 }}", ["user", "tags"]),
    ("{{ email | lower }}{{ email }}", ["email"]),
    ("{{ 'x' | default: 3 }}{{ \"a b\" }}{{ true }}{{ 1.5 }}", []),
    ("{{ a | replace: b, \"c\" | append: d }}", ["a", "b", "d"]),
    ("{# {{ hidden }} #}plain text", []),
    ("{{ signed_up_at | date: \"%H:%M, %d %B\" }}", ["signed_up_at"]),
  ])
  func columns(_ text: String, _ expected: [String]) throws {
    #expect(try MappingTemplate(text).columns == expected)
  }

  @Test func spacesAroundPipesAndColonsAreOptional() throws {
    let row: [String: JSONValue] = ["nickname": .null, "first_name": .string("Ada")]
    for text in [
      "{{nickname|default:first_name}}", "{{ nickname | default: first_name }}",
      "{{ nickname | default : first_name }}", "{{ nickname|default: first_name }}",
      "{{  nickname  |  default:   first_name  }}",
    ] {
      let template = try MappingTemplate(text)
      #expect(template.columns == ["nickname", "first_name"], "\(text)")
      #expect(try template.render(row) == "Ada", "\(text)")
    }
  }

  // MARK: Values

  @Test func rendersTheRow() throws {
    let template = try MappingTemplate("{{ first_name }} {{ last_name }}")
    #expect(try template.render(["first_name": .string("Ada"), "last_name": .string("Lovelace")]) == "Ada Lovelace")
    // NULL is empty and the result is not trimmed.
    #expect(try template.render(["first_name": .string("Ada"), "last_name": .null]) == "Ada ")
    #expect(try template.render([:]) == " ")
    #expect(try render("  {{ x }}\n", ["x": .string("y")]) == "  y\n")
  }

  @Test func valuesRenderAsTheDatabasePrintedThem() throws {
    #expect(try render("{{ n }}", ["n": .number("1.50")]) == "1.50")
    #expect(try render("{{ n }}", ["n": .number("123456789012345678901234.5")]) == "123456789012345678901234.5")
    #expect(try render("{{ n }}", ["n": .int(42)]) == "42")
    #expect(try render("{{ n }}", ["n": .double(2)]) == "2")
    #expect(try render("{{ b }} {{ c }}", ["b": .bool(true), "c": .bool(false)]) == "true false")
    #expect(try render("{{ s }}", ["s": .string("{{ not a tag }}")]) == "{{ not a tag }}")
  }

  @Test func bareColumnsRenderAsStencilRendersThem() throws {
    // `{{ v }}` is rendered without Stencil; `{{ v | default: v }}` goes through Stencil's stringify.
    let values: [JSONValue] = [
      .string("a"), .string(""), .int(-3), .number("1.50"), .double(2.5), .bool(true), .bool(false), .null,
      .object([("a", .int(1))]), .array([.string("x")]),
    ]
    for value in values {
      #expect(try render("{{ v }}", ["v": value]) == render("{{ v | default: v }}", ["v": value]), "\(value)")
    }
  }

  @Test func jsonColumnsHaveMembers() throws {
    let user = JSONValue.object([("email", .string("ada@example.com")), ("age", .int(36))])
    let tags = JSONValue.array([.string("a"), .string("b")])
    #expect(try render("{{ user.email }}/{{ user.age }}/{{ user.missing }}", ["user": user]) == "ada@example.com/36/")
    #expect(try render("{{ user }}", ["user": user]) == "{\"email\":\"ada@example.com\",\"age\":36}")
    #expect(try render("{{ tags.1 }} {{ tags.first }} {{ tags.size }}", ["tags": tags]) == "b a 2")
  }

  @Test func strayClosingBracesAreText() throws {
    #expect(try render("a }} b {x} {{ c }}", ["c": .string("C")]) == "a }} b {x} C")
  }

  // MARK: Filters

  @Test(arguments: [
    ("{{ v | lower }}", "Ada LOVELACE", "ada lovelace"),
    ("{{ v | downcase }}", "Ada", "ada"),
    ("{{ v | upper }}", "pro", "PRO"),
    ("{{ v | upcase }}", "pro", "PRO"),
    ("{{ v | capitalize }}", "mY GREAT title", "My great title"),
    ("{{ v | trim }}", "  a b \n", "a b"),
    ("{{ v | strip }}", "\ta ", "a"),
    ("{{ v | lstrip }}|", "  a  ", "a  |"),
    ("|{{ v | rstrip }}", "  a  ", "|  a"),
    ("{{ v | append: \"!\" }}", "hi", "hi!"),
    ("{{ v | prepend: \"Dr. \" }}", "Who", "Dr. Who"),
    ("{{ v | replace: \"-\", \"\" }}", "555-0100", "5550100"),
    ("{{ v | truncate: 5 }}", "abcdefghij", "ab..."),
    ("{{ v | truncate: 5, \"\" }}", "abcdefghij", "abcde"),
    ("{{ v | truncate: 20 }}", "abcdefghij", "abcdefghij"),
    ("{{ v | trim | upper | append: \".\" }}", " x ", "X."),
    // FIPS 180-4's and RFC 1321's "abc"; hashed emails are lower-cased and trimmed first.
    ("{{ v | sha256 }}", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("{{ v | md5 }}", "abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("{{ v | strip | downcase | sha256 }}", " Ada@Example.com ", "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"),
  ])
  func filters(_ text: String, _ input: String, _ expected: String) throws {
    #expect(try render(text, ["v": .string(input)]) == expected)
  }

  @Test func defaultReplacesNullAndEmptyText() throws {
    let template = try MappingTemplate("{{ nickname | default: first_name }}")
    #expect(try template.render(["nickname": .string("Ace"), "first_name": .string("Ada")]) == "Ace")
    #expect(try template.render(["nickname": .null, "first_name": .string("Ada")]) == "Ada")
    #expect(try template.render(["nickname": .string(""), "first_name": .string("Ada")]) == "Ada")
    #expect(try template.render(["first_name": .string("Ada")]) == "Ada")
    #expect(try template.render([:]) == "")
    // false and 0 are values, not blanks.
    #expect(try render("{{ v | default: \"none\" }}", ["v": .bool(false)]) == "false")
    #expect(try render("{{ v | default: \"none\" }}", ["v": .int(0)]) == "0")
    #expect(try render("{{ v | default: \"none\" }}", ["v": .string(" ")]) == " ")
    #expect(try render("{{ v | lower | default: \"none\" }}", ["v": .null]) == "none")
  }

  @Test func textFiltersKeepNull() throws {
    for filter in ["lower", "upper", "capitalize", "trim", "date: \"%Y\""] {
      #expect(try render("[{{ v | \(filter) }}]", ["v": .null]) == "[]", "\(filter)")
    }
    #expect(try render("{{ v | append: \"!\" }}", ["v": .null]) == "!")
  }

  // MARK: date

  @Test(arguments: [
    ("2024-03-01 12:34:56+00", "%Y-%m-%d", "2024-03-01"),
    ("2024-03-01T12:34:56Z", "%d %B %Y, %H:%M:%S", "01 March 2024, 12:34:56"),
    ("2024-03-01", "%A %-d %b %Y %H:%M", "Friday 1 Mar 2024 00:00"),
    ("2024-03-01 12:34:56+00", "%s", "1709296496"),
    ("2024-03-01T12:34:56Z", "%s", "1709296496"),
    ("2024-03-01 04:34:56-08", "%s %z %:z %Z", "1709296496 -0800 -08:00 -08:00"),
    ("2024-03-01 12:34:56.123456+05:30", "%H:%M:%S.%L %N %z", "12:34:56.123 123456000 +0530"),
    ("2024-03-01 12:34:56", "%F %T %z %Z", "2024-03-01 12:34:56 +0000 UTC"),
    ("2024-03-01 12:34", "%R %p %P %I %l", "12:34 PM pm 12 12"),
    ("2024-03-01 00:05:00+00", "%I:%M %p %k|%e", "12:05 AM  0| 1"),
    ("2024-12-31", "%j %u %w %a %y %C %D", "366 2 2 Tue 24 20 12/31/24"),
    ("1969-12-31", "%s %A", "-86400 Wednesday"),
    ("2000-02-29T23:59:60Z", "%S", "60"),
    ("1709296496", "%FT%TZ", "2024-03-01T12:34:56Z"),
    ("2024-03-01", "%^B %^a %_m %-m %%", "MARCH FRI  3 3 %"),
    ("  2024-03-01 ", "%F", "2024-03-01"),
  ])
  func date(_ input: String, _ format: String, _ expected: String) throws {
    #expect(try render("{{ v | date: \"\(format)\" }}", ["v": .string(input)]) == expected)
  }

  @Test func dateReadsEpochSecondsAndEmptyText() throws {
    #expect(try render("{{ v | date: \"%F %T\" }}", ["v": .int(0)]) == "1970-01-01 00:00:00")
    #expect(try render("{{ v | date: \"%F\" }}", ["v": .string("")]) == "")
  }

  @Test(arguments: ["yesterday", "2024-13-01", "2024-02-30", "2024-03-01 25:00:00", "2024-03-01T12:34:56+0", "03/01/2024"])
  func dateRefusesWhatItCannotRead(_ input: String) throws {
    let template = try MappingTemplate("{{ v | date: \"%F\" }}")
    #expect {
      try template.render(["v": .string(input)])
    } throws: { error in
      (error as? MappingTemplateError)?.message.contains("date cannot read \"\(input)\"") == true
    }
  }

  // MARK: Errors

  @Test(arguments: [
    ("{{ email | lowr }}", "unknown filter \"lowr\"; did you mean \"lower\"?", 1, 1),
    ("Hi {{ email | nope }}", "unknown filter \"nope\"", 1, 4),
    ("é {{ email | nope }}", "unknown filter \"nope\"", 1, 3),
    ("a\n  {{ x | nope }}", "unknown filter \"nope\"", 2, 3),
    ("Hi {{ email", "{{ is not closed; end it with }}", 1, 4),
    ("{{ email }", "{{ is not closed", 1, 1),
    ("{% include \"x\" %}", "unknown tag {% include %}", 1, 1),
    ("x {{ }}", "{{ }} is empty", 1, 3),
    ("{{ first_name last_name }}", "is not a column with filters", 1, 1),
    ("{{ a if b else c }}", "is not a column with filters", 1, 1),
    ("{{ first-name }}", "\"first-name\" is not a column name", 1, 1),
    ("{{ x | default }}", "default takes one argument", 1, 1),
    ("{{ x | date }}", "date takes one argument (date: \"%Y-%m-%d\"), got 0", 1, 1),
    ("{{ x | lower: 1 }}", "lower takes no argument", 1, 1),
    ("{{ x | date: \"%Q\" }}", "date format \"%Q\" has unknown directive %Q", 1, 1),
    ("{{ x | date: \"%65d\" }}", "date format \"%65d\" has a width over 64", 1, 1),
    // Found by `make fuzz`: the width overflowed.
    ("{{ x | date: \"%99999999999999999999999d\" }}", "has a width over 64", 1, 1),
    ("{{ x | truncate: \"many\" }}", "truncate needs a length", 1, 1),
    ("{{ x | join: \",\" }}", "unknown filter \"join\"", 1, 1),
    // Blocks: an unclosed or unknown tag where it opens, what is inside where it is.
    ("{% for t in tags %}{% if t %}{{ t | date }}{% endif %}{% endfor %}", "date takes one argument", 1, 30),
    ("{% if x | truncate: \"n\" %}{% endif %}", "truncate needs a length", 1, 1),
    ("a\n{% for t in tags %}{{ t }}", "{% for %} is not closed; end it with {% endfor %}", 2, 1),
    ("{% if x %}a{% else %}b", "{% if %} is not closed; end it with {% endif %}", 1, 1),
    ("x {% if a %}{% for t in b %}{% endif %}", "{% for %} is not closed; end it with {% endfor %}", 1, 13),
    ("{% for t in b %}{% endunless %}{% endfor %}", "{% for %} is not closed", 1, 1),
    ("{% endfor %}", "{% endfor %} has no {% for %} before it", 1, 1),
    ("ab {% else %}", "{% else %} has no {% if %} before it", 1, 4),
    ("{% include \"x\" %}", "unknown tag {% include %}", 1, 1),
    ("{% fro t in tags %}{% endfor %}", "unknown tag {% fro %}; did you mean \"for\"?", 1, 1),
    ("{% for t tags %}{% endfor %}", "is not a loop; write {% for item in list %}", 1, 1),
    ("{% for t.x in tags %}{% endfor %}", "is not a loop", 1, 1),
    ("{% for t in tags limit: many %}{% endfor %}", "limit needs a whole number", 1, 1),
    ("{% if %}a{% endif %}", "{% if %} needs a condition", 1, 1),
    ("{% if a == %}a{% endif %}", "== needs a value on each side", 1, 1),
    ("{% if a and %}a{% endif %}", "need a value on each side", 1, 1),
    ("{% if a %}{% else %}{% elsif b %}{% endif %}", "{% elsif %} cannot follow {% else %}", 1, 21),
    ("{% for t in tags %}{{ t | lowr }}{% endfor %}", "unknown filter \"lowr\"", 1, 20),
    ("{% if a | nope %}{% endif %}", "unknown filter \"nope\"", 1, 1),
    ("{% for t in tags %}\n  {{ first-name }}{% endfor %}", "\"first-name\" is not a column name", 2, 3),
  ])
  func refusesAtParse(_ text: String, _ message: String, _ line: Int, _ column: Int) throws {
    let error = try #require(parseError(text), "\(text) parsed")
    #expect(error.message.contains(message), "\(error.message)")
    #expect(error.line == line && error.column == column, "\(String(describing: error.line)):\(String(describing: error.column))")
    #expect(error.message.first?.isUppercase == false && !error.message.hasSuffix("."), "\(error.message)")
  }
}
