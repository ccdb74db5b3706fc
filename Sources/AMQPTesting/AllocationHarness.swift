import Glibc

/// Counts heap allocations of code under test, for "steady state allocates nothing"
/// assertions in Swift Testing suites.
///
/// It re-runs the test binary with glibc's `libc_malloc_debug.so` preloaded, which
/// honours `__malloc_hook`. In that child the hook counts `malloc` calls made on the
/// measuring thread only and forwards to `__libc_malloc`, so it is safe while other
/// threads (the test runner's) allocate. The child runs only the probe test and writes
/// `<scenario> <count>` lines to a file the parent reads.
///
/// Use it as a pair of tests:
/// ```swift
/// @Test(.enabled(if: AllocationHarness.canMeasure)) func allocatesNothing() {
///     guard case .counts(let c) = AllocationHarness.run(probeTestName: "probe") else { return }
///     #expect(c["send"] == 0)
/// }
/// @Test(.enabled(if: AllocationHarness.isProbe)) func probe() {
///     guard AllocationHarness.install() else { return AllocationHarness.finish(unavailable: "no hook") }
///     defer { AllocationHarness.finish() }
///     AllocationHarness.measure("send") { /* the code under test */ }
/// }
/// ```
/// Debug builds allocate in places release builds do not (e.g. `for … in` over
/// arrays), so measure what release code does, or allow for it.
public enum AllocationHarness {
    /// The environment variable that marks the child and names its output file.
    public static let outputVariable = "AMQP_MALLOC_PROBE_OUT"
    /// glibc's debug allocator, which honours `__malloc_hook`.
    #if arch(arm64)
        public static let debugLibrary = "/lib/aarch64-linux-gnu/libc_malloc_debug.so.0"
    #else
        static let debugLibrary = "/lib/x86_64-linux-gnu/libc_malloc_debug.so.0"
    #endif

    /// True inside the child process.
    public static var isProbe: Bool { getenv(outputVariable) != nil }

    /// True in the parent process on a system whose glibc ships the debug allocator
    /// (Debian's libc6 does, from glibc 2.34).
    public static var canMeasure: Bool { !isProbe && access(debugLibrary, R_OK) == 0 }

    // MARK: Parent

    /// What the child measured.
    public enum Outcome: Sendable {
        /// Allocation counts by scenario name.
        case counts([String: Int])
        /// Why nothing could be measured.
        case unavailable(String)
    }

    /// Runs `probeTestName` in a child with the debug allocator, and returns its counts.
    public static func run(probeTestName: String) -> Outcome {
        guard access(debugLibrary, R_OK) == 0 else { return .unavailable("\(debugLibrary) is missing") }
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { return .unavailable("cannot find the test binary") }
        let exePath = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let out = "/tmp/amqp-malloc-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        defer { unlink(out) }

        var env: [String] = []
        var i = 0
        while let entry = environ[i] {
            let s = String(cString: entry)
            if !s.hasPrefix("LD_PRELOAD=") && !s.hasPrefix(outputVariable + "=") { env.append(s) }
            i += 1
        }
        env.append("LD_PRELOAD=\(debugLibrary)")
        env.append("\(outputVariable)=\(out)")
        let args = [exePath, "--testing-library", "swift-testing", "--filter", probeTestName]

        var pid: pid_t = 0
        var devnull = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&devnull)
        defer { posix_spawn_file_actions_destroy(&devnull) }
        posix_spawn_file_actions_addopen(&devnull, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&devnull, 2, "/dev/null", O_WRONLY, 0)
        let rc = withCStrings(args) { argv in
            withCStrings(env) { envp in posix_spawn(&pid, exePath, &devnull, nil, argv, envp) }
        }
        guard rc == 0 else { return .unavailable("posix_spawn failed: \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}

        guard let f = fopen(out, "r") else { return .unavailable("the probe wrote nothing (status \(status))") }
        defer { fclose(f) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let k = fread(&buffer, 1, buffer.count, f)
            if k <= 0 { break }
            text.append(contentsOf: buffer[0..<k])
        }
        var counts: [String: Int] = [:]
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let c = Int(parts[1]) { counts[String(parts[0])] = c }
            if parts.first == "unavailable" { return .unavailable(String(line)) }
        }
        return .counts(counts)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }

    // MARK: Child

    private typealias MallocHook = @convention(c) (Int, UnsafeRawPointer?) -> UnsafeMutableRawPointer?
    private typealias Malloc = @convention(c) (Int) -> UnsafeMutableRawPointer?

    nonisolated(unsafe) private static var libcMalloc: Malloc? = nil
    nonisolated(unsafe) private static var measuredThread: pthread_t = 0
    nonisolated(unsafe) private static var count = 0
    nonisolated(unsafe) private static var lines: [String] = []

    private static let hook: MallocHook = { size, _ in
        if AllocationHarness.measuredThread != 0 && pthread_equal(pthread_self(), AllocationHarness.measuredThread) != 0 {
            AllocationHarness.count &+= 1
        }
        return AllocationHarness.libcMalloc!(size)
    }

    /// Installs the hook; false when the debug allocator is not loaded.
    public static func install() -> Bool {
        // The hook is a compatibility symbol (no default version), which plain dlsym
        // does not see; ask for its version, in the preloaded library.
        // (Swift's Glibc module does not declare the GNU `dlvsym`, so look it up too.)
        typealias DLVSym = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>, UnsafePointer<CChar>) -> UnsafeMutableRawPointer?
        guard let debug = dlopen(debugLibrary, RTLD_NOW | RTLD_NOLOAD),
            let dlvsymAddress = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dlvsym"),
            let slot = unsafeBitCast(dlvsymAddress, to: DLVSym.self)(debug, "__malloc_hook", "GLIBC_2.2.5"),
            let real = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__libc_malloc")
        else { return false }
        libcMalloc = unsafeBitCast(real, to: Malloc.self)
        slot.storeBytes(of: hook, as: MallocHook?.self)
        return true
    }

    /// Runs `body` once to warm up lazy state, then `iterations` times counted, and
    /// records the count under `name`.
    public static func measure(_ name: String, iterations: Int = 100, _ body: () -> Void) {
        body()
        count = 0
        measuredThread = pthread_self()
        for _ in 0..<iterations { body() }
        measuredThread = 0
        lines.append("\(name) \(count)")
    }

    /// Writes the recorded counts for the parent.
    public static func finish(unavailable reason: String? = nil) {
        guard let path = getenv(outputVariable), let f = fopen(path, "w") else { return }
        if let reason { fputs("unavailable \(reason)\n", f) }
        for line in lines { fputs(line + "\n", f) }
        fclose(f)
    }
}
