// The `scratchnet` command. Each subcommand lives in its own file under Commands/ (see CliApp).
return ScratchNet.Cli.CliApp.Run(args);
