// The `amqp` command: see Tools/AMQPTool for what each subcommand does.
import AMQPTool

await AMQPCommand.main()
