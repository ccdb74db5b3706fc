// The `amqp` command: see Tools/AMQPTool for what each subcommand does.
import AMQPTool
import Glibc

// A process started from a libdispatch or Swift concurrency worker thread (a test runner,
// a service manager written in Swift) inherits that thread's mask, which blocks nearly
// every signal. `receive` and `peer` turn SIGINT and SIGTERM into a clean stop, and the
// other commands want their default action, so both must be deliverable.
var deliverable = sigset_t()
sigemptyset(&deliverable)
sigaddset(&deliverable, SIGINT)
sigaddset(&deliverable, SIGTERM)
pthread_sigmask(SIG_UNBLOCK, &deliverable, nil)

// In top-level code the compiler picks the synchronous `ParsableCommand.main()`, which
// refuses an async root command; inside an async function it picks the async one.
func runCommand() async { await AMQPCommand.main() }
await runCommand()
