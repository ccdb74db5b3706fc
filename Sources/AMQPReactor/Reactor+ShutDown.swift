// Ending a reactor for good while connections are still on it.
//
// A reactor's handlers, acceptors and queued jobs usually hold the objects that own the
// reactor (the public API's connection cores hold their `ConnectionReactor`, which holds
// this reactor): a reference cycle that nothing breaks once the thread driving the
// reactor has stopped. `shutDownAll` ends every connection the way a lost transport
// does, so each owner hears `.closed` and its waiters wake, and then lets go of every
// closure, so the cycle comes apart and the reactor is released (its `deinit` frees the
// rings and kernel objects).

extension Reactor {
    /// Ends everything on this reactor at once, on the thread that owns it now (nothing
    /// else may be driving it): closes every listener, closes every connection without a
    /// protocol goodbye (its handler gets `.closed(error)`), runs the jobs already queued
    /// (the connections they name are closed by then), and finally drops every handler,
    /// acceptor and job it still holds. Handlers called here may queue more jobs; those
    /// run too, for a few rounds, and what is queued after that is dropped unrun.
    ///
    /// After this the reactor has no connections and no listeners; it may still be
    /// used, but it is meant to be released.
    package func shutDownAll(error: ReactorError) {
        precondition(!inCallback, "shutDownAll called from an event handler or job")
        for case let listener? in listeners { stopListening(listener.id) }
        for case let record? in records where record.phase != .closed {
            close(record, error: error)
        }
        // Deliver the `.closed` events and run queued jobs; a handler may queue more, and
        // io_uring completions of the closed sockets arrive over a few ticks.
        for _ in 0..<8 {
            try? runOnce(timeout: .zero)
            if connectionCount == 0 && inbox.isEmpty { break }
        }
        cancelAllRequests()
        let silent: Handler = { _, _, _ in }
        for case let record? in records { record.handler = silent }
        _ = inbox.take()
    }
}
