package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Until the launcher exists it must refuse to run, visibly, rather than pretend. */
class LauncherCommandTest {
    @Test
    void refusesWithExitCode2AndSaysWhy() {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new LauncherCommand()).setUnmatchedOptionsArePositionalParams(true)
                    .execute("--nnodes", "1", "--nproc", "2", "train.yaml");
        } finally {
            System.setErr(saved);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("not implemented yet").contains("nothing was started");
    }
}
