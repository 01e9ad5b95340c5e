package dev.fullshard.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** The rank launcher. Not implemented yet: it refuses to run rather than pretend. */
@Command(name = "launcher", mixinStandardHelpOptions = true,
        description = "Starts fullshard ranks on one or many nodes (torchrun-compatible). Not implemented yet.")
public final class LauncherCommand implements Callable<Integer> {
    /** Exit code for "this command exists but does not work yet". */
    static final int NOT_IMPLEMENTED = 2;

    @Parameters(arity = "0..*", description = "Options and train.yaml, as for torchrun.")
    List<String> args = List.of();

    @Override
    public Integer call() {
        System.err.println("launcher: not implemented yet; nothing was started. For now run one process with"
                + " `fullshard` (see `fullshard --help`).");
        return NOT_IMPLEMENTED;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new LauncherCommand()).setUnmatchedOptionsArePositionalParams(true).execute(args));
    }
}
