extension ProjectValidator {
  /// Every channel an alert notifies, in backflow.yaml and in syncs, is declared.
  mutating func checkAlertChannels() {
    let home = "backflow.yaml under notifications"
    for name in project.alerts.flatMap(\.notify) + syncs.flatMap(\.notify) {
      reference(name, among: notificationNames, kind: "notification channel", declaredIn: home)
    }
  }
}
