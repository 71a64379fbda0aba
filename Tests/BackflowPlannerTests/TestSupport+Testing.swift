import BackflowTestSupport
import Testing

extension Backend: CustomTestStringConvertible {
  public var testDescription: String { rawValue }
}
