package dev.fullshard.cli;

import dev.fullshard.bindings.TorchLibrary;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code fullshard} command: the trainer's entry point. */
@Command(name = "fullshard", mixinStandardHelpOptions = true, version = "fullshard 0.1.0",
        description = "Full-parameter fine-tuning of decoder LLMs on libtorch, from Java.",
        subcommands = {DoctorCommand.class, CommandLine.HelpCommand.class})
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
        System.exit(new CommandLine(new FullshardCommand()).execute(args));
    }
}
