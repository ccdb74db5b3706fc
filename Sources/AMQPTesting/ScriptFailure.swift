/// A test script did not go as expected: an expectation failed, or a pump or clock
/// advance hit its bound. Thrown (never trapped) so any test framework reports it, with
/// the place in the test that made the call.
public struct ScriptFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was expected, what happened instead, and the engine's state.
    public var message: String
    /// The test file that made the failing call.
    public var fileID: String
    /// The line of the failing call.
    public var line: Int

    /// Creates a failure.
    public init(_ message: String, fileID: String = #fileID, line: Int = #line) {
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `<file>:<line>: <message>`.
    public var description: String { "\(fileID):\(line): \(message)" }
}
