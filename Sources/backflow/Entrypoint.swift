import BackflowCommands

@main
struct Entrypoint {
  static func main() async {
    await Backflow.main()
  }
}
