package dev.fullshard.cli;

import dev.fullshard.bindings.TorchLibrary;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code fullshard} command: the trainer's entry point. */
@Command(name = "fullshard", mixinStandardHelpOptions = true, version = "fullshard 0.1.0",
        description = "Full-parameter fine-tuning of decoder LLMs on libtorch, from Java.",
        subcommands = {DoctorCommand.class, InitModelCommand.class, TrainCommand.class, EvalCommand.class, GenerateCommand.class, AnswerCommand.class,
                DataCommand.class, BenchCommand.class, PlanCommand.class,
                CommandLine.HelpCommand.class})
public final class FullshardCommand implements Runnable {
    @Option(names = "--torch-lib", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "Folder holding libtorch_cpu.so (e.g. .../site-packages/torch/lib), or 'bundled' for the "
                    + "CPU build that ships with fullshard. Default: $FULLSHARD_TORCH_LIB, else an installed "
                    + "PyTorch 2.10+, else bundled.")
    void torchLib(String dir) {
        TorchLibrary.useDirectory(dir);
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with fullshard's error reporting: a failing command prints one line naming the
     * command and the problem (the stack trace too when FULLSHARD_DEBUG=1) and exits with 1.
     */
    public static CommandLine commandLine() {
        return new CommandLine(new FullshardCommand()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (e instanceof java.nio.file.FileAlreadyExistsException) message = message + " already exists";
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + message);
            if ("1".equals(System.getenv("FULLSHARD_DEBUG"))) e.printStackTrace(cmd.getErr());
            return 1;
        });
    }
}
