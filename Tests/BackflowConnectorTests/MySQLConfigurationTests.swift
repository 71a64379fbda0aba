import BackflowMySQL
import Testing

@Suite("MySQLConfiguration")
struct MySQLConfigurationTests {
  @Test("a URL gives host, port, percent-decoded user and password, and database")
  func readsURL() throws {
    let configuration = try MySQLConfiguration(
      url: "mysql://app%40corp:p%40ss%3Aw%2Frd@db.example.com:3307/sales")
    #expect(configuration.host == "db.example.com")
    #expect(configuration.port == 3307)
    #expect(configuration.user == "app@corp")
    #expect(configuration.password == "p@ss:w/rd")
    #expect(configuration.database == "sales")
    #expect(configuration.socketPath == nil)
    #expect(configuration.connectTimeout == .seconds(10))
    #expect(configuration.readTimeout == nil)
  }

  @Test("the port defaults to 3306; mariadb:// works; socket and timeouts come from the query")
  func readsDefaultsAndParameters() throws {
    let configuration = try MySQLConfiguration(
      url:
        "mariadb://root@localhost/app?socket=/run/mysqld/mysqld.sock&connect_timeout=3&read_timeout=60&write_timeout=7"
    )
    #expect(configuration.port == 3306)
    #expect(configuration.user == "root")
    #expect(configuration.password == nil)
    #expect(configuration.socketPath == "/run/mysqld/mysqld.sock")
    #expect(configuration.connectTimeout == .seconds(3))
    #expect(configuration.readTimeout == .seconds(60))
    #expect(configuration.writeTimeout == .seconds(7))
    #expect(
      try MySQLConfiguration(url: "mysql:///app?unix_socket=/tmp/m.sock").socketPath
        == "/tmp/m.sock")
    #expect(try MySQLConfiguration(url: "mysql:///app?unix_socket=/tmp/m.sock").host == nil)
    #expect(try MySQLConfiguration(url: "mysql://h").database == nil)
    #expect(try MySQLConfiguration(url: "mysql://[::1]:3310/x").host == "::1")
    #expect(try MySQLConfiguration(url: "mysql://[::1]:3310/x").port == 3310)
  }

  @Test(
    "a URL it cannot read is refused with what is wrong, never the URL",
    arguments: [
      ("postgres://u:hunter2@h/db", "mysql:// or mariadb://"),
      ("mysql://u:hunter2@h/db?pasword=hunter2", "\"pasword\""),
      ("mysql://u:hunter2@h:0/db", "port"),
      ("mysql://u:hunter2@h/a/b", "one database name"),
      ("mysql://u:hunter2@h/db?read_timeout=soon", "read_timeout"),
      ("mysql://u:hunter2@h/db?socket=", "socket"),
      ("u:hunter2@h/db", "starts with mysql://"),
      ("mysql://u:hunter2@h:99999/db", "between 1 and 65535"),
      ("mysql://u:hunter2@[::1/db", "not a valid MySQL URL"),
    ])
  func refusesBadURL(url: String, expected: String) {
    let error = #expect(throws: MySQLError.self) { try MySQLConfiguration(url: url) }
    #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    #expect(error?.description.contains("hunter2") == false)
  }

  @Test("description, debugDescription and dump show the URL with the password masked")
  func descriptionMasksPassword() throws {
    let configuration = try MySQLConfiguration(
      url: "mysql://app:hunter2@db.example.com:3307/sales?socket=/tmp/a%26b.sock&read_timeout=5")
    #expect(
      configuration.description
        == "mysql://app:***@db.example.com:3307/sales?socket=/tmp/a%26b.sock&connect_timeout=10&read_timeout=5"
    )
    #expect(String(reflecting: configuration) == configuration.description)
    var dumped = ""
    dump(configuration, to: &dumped)
    #expect(!dumped.contains("hunter2"))
    #expect(dumped.contains("app:***@"))
    // The masked URL reads back as the same configuration, but for the password.
    var readBack = try MySQLConfiguration(url: configuration.description)
    readBack.password = "hunter2"
    #expect(readBack == configuration)
    #expect(
      MySQLConfiguration(host: "::1", port: 3306).description == "mysql://[::1]/?connect_timeout=10"
    )
  }
}
