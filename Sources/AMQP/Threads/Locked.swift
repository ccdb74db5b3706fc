import AMQPReactor

/// A value behind a pthread mutex: the reactor's lock (see `PthreadLocked` for why not
/// Synchronization's `Mutex`), under the name the API's code uses.
typealias Locked = PthreadLocked
