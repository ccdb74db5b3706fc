// The `amqp` command: see Tools/AMQPTool for what each subcommand does.
import AMQPTool

// In top-level code the compiler picks the synchronous `ParsableCommand.main()`, which
// refuses an async root command; inside an async function it picks the async one.
func runCommand() async { await AMQPCommand.main() }
await runCommand()
