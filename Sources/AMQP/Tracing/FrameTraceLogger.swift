public import AMQPEngine
public import Logging

/// Sends the engine's frame traces (`ConnectionEvent.trace`, produced when
/// `ConnectionSettings.debug` is on) to a swift-log `Logger`, at info level by default as
/// the reference logs them:
///
/// ```
/// info amqp.frames : [amqp.container-id=my-app] -> [OPEN]* {my-app,broker,63488}
/// ```
///
/// Lines are built by `FrameTraceFormatter` in uAMQP-C's style; SASL credentials are
/// redacted there.
public struct FrameTraceLogger: Sendable {
    /// Where lines go.
    public var logger: Logger
    /// The level they are logged at.
    public var level: Logger.Level
    /// Added to every line (the connection's container id, host, …).
    public var metadata: Logger.Metadata

    /// Creates an adapter.
    public init(logger: Logger, level: Logger.Level = .info, metadata: Logger.Metadata = [:]) {
        self.logger = logger
        self.level = level
        self.metadata = metadata
    }

    /// An adapter for a connection with these settings: tagged with its container id and
    /// host, or `nil` when `settings.debug` is off.
    public init?(settings: ConnectionSettings, logger: Logger = Logger(label: "amqp.frames"), level: Logger.Level = .info) {
        guard settings.debug else { return nil }
        self.init(
            logger: logger, level: level,
            metadata: ["amqp.container-id": "\(settings.containerID)", "amqp.host": "\(settings.endpoint)"])
    }

    /// Logs `event` if it is a trace; returns whether it was one, so a driver can pass
    /// every event through and handle the rest itself.
    @discardableResult
    public func log(_ event: ConnectionEvent) -> Bool {
        guard case .trace(let line) = event else { return false }
        log(trace: line)
        return true
    }

    /// Logs one trace line.
    public func log(trace line: String) {
        logger.log(level: level, "\(line)", metadata: metadata.isEmpty ? nil : metadata)
    }
}
