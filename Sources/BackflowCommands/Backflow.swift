import ArgumentParser

/// The `backflow` command: config-as-code reverse ETL.
public struct Backflow: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "backflow",
    abstract: "Keep destinations in step with warehouse models, declared as YAML in git.",
    version: BackflowVersion.current,
    subcommands: [
      Validate.self, Plan.self, Apply.self, Runs.self, Errors.self, Resync.self, ResetCDC.self, TestRow.self, Init.self,
      ScheduleCommand.self, DaemonCommand.self, Unlock.self, Drift.self, Serve.self, Alerts.self, Notify.self, Version.self,
    ])

  public init() {}
}

/// The version `backflow --version` prints and state records.
public enum BackflowVersion {
  public static let current = "0.1.0"
}
