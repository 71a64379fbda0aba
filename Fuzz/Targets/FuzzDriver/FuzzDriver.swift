import BackflowFuzzing

/// What every fuzz target shares: handing bytes to its entry point, and starting libFuzzer.
public enum FuzzDriver {
  /// One input for `entry`; libFuzzer wants 0 back.
  public static func input(_ data: UnsafePointer<UInt8>, _ size: Int, _ entry: FuzzEntry) -> Int32 {
    entry.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
  }

  /// libFuzzer's own `main`. SwiftPM links an executable's `main` to `<module>_main`, which
  /// `-parse-as-library` (needed so libFuzzer supplies the entry point) never emits; each target
  /// defines that symbol and comes here.
  public static func main(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ input: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
  ) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, input)
  }
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
  _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ input: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32
