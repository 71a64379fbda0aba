import BackflowConfig
import Testing

/// The one masking of credentials every output and every stored config goes through.
@Suite("redaction")
struct RedactionTests {
  @Test(
    "passwords, tokens and keys are masked in user info, query parameters and key=value strings, also in text that is no valid URL",
    arguments: [
      ("mysql://u:hunter2@h:3306/db", "mysql://u:***@h:3306/db"),
      ("failed: mysql://u:hunter2@h/db (timeout)", "failed: mysql://u:***@h/db (timeout)"),
      ("mysql://u:hun@ter2@h/db", "mysql://u:***@h/db"),
      ("mysql://u:hun/ter2@h/db", "mysql://u:***@h/db"),
      ("mysql://u:hunter2%zz@[::1/db", "mysql://u:***@[::1/db"),
      (
        "url 'mysql://u:hunter2@h/db' and \"postgres://v:hunter2@h\"",
        "url 'mysql://u:***@h/db' and \"postgres://v:***@h\""
      ),
      ("mysql://u@h/db?password=hunter2&x=1", "mysql://u@h/db?password=***&x=1"),
      ("host=h password=hunter2 user=u", "host=h password=*** user=u"),
      ("host=h password = 'hun ter2' user=u", "host=h password=*** user=u"),
      ("Server=h;Pwd=hunter2;Uid=u", "Server=h;Pwd=***;Uid=u"),
      (
        "mysql://h/db?sslpassword=hunter2&access_token=hunter2",
        "mysql://h/db?sslpassword=***&access_token=***"
      ),
      ("mysql://u@h/db", "mysql://u@h/db"),
      ("Duplicate entry 'a' for key 'email'", "Duplicate entry 'a' for key 'email'"),
      ("postgres://app:hunter2@db.internal:5432/crm", "postgres://app:***@db.internal:5432/crm"),
      ("host=db password=hunter2 dbname=crm", "host=db password=*** dbname=crm"),
      ("https://api.example.com/v1?access_token=hunter2&x=1", "https://api.example.com/v1?access_token=***&x=1"),
      ("sslpassword='hunter 2' key=abc", "sslpassword=*** key=***"),
      ("\"url\": \"${CRM_DB_URL}\", \"token=${TOKEN}\"", "\"url\": \"${CRM_DB_URL}\", \"token=${TOKEN}\""),
      ("postgresql://user@host/db?password=hunter2", "postgresql://user@host/db?password=***"),
      ("postgresql://user@host:54x32/db?sslmode=bogus&password=hunter2", "postgresql://user@host:54x32/db?sslmode=bogus&password=***"),
      ("http://user:hunter2@crm.example.com/api", "http://user:***@crm.example.com/api"),
      ("{\"url\":\"postgresql://h/db?password=hunter2\",\"n\":1}", "{\"url\":\"postgresql://h/db?password=***\",\"n\":1}"),
      ("https://h/x?api_key=hunter2&secret=hunter2", "https://h/x?api_key=***&secret=***"),
      ("dbname=crm user=app password=hunter2", "dbname=crm user=app password=***"),
      ("postgres://u:${DB_PASSWORD}@h/db", "postgres://u:${DB_PASSWORD}@h/db"),
      ("host=h port=54x32 password=hunter2 sslmode=bogus", "host=h port=54x32 password=*** sslmode=bogus"),
    ])
  func redacts(text: String, expected: String) {
    #expect(Redaction.redact(text) == expected)
  }
}
