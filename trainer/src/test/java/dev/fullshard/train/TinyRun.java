package dev.fullshard.train;

import dev.fullshard.cli.FullshardCommand;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What the whole-run tests train: the tiny preset made by {@code fullshard init-model}, on the example data. */
public final class TinyRun {
    private TinyRun() {
    }

    /** {@code fullshard init-model --preset tiny --seed 0 --out dir}, as a user makes it. */
    public static Path tinyModel(Path dir) {
        StringWriter err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(new StringWriter(), true)).setErr(new PrintWriter(err, true))
                .execute("init-model", "--preset", "tiny", "--seed", "0", "--out", dir.toString());
        assertThat(code).as(err.toString()).isZero();
        return dir;
    }

    /** The tests' regular-task data (trainer/src/test/resources/tiny-tasks; see its README) of the checkout the tests run in. */
    private static final String TASK_DATA = "trainer/src/test/resources/tiny-tasks";

    public static Path taskData() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve(TASK_DATA))) dir = dir.getParent();
        assertThat(dir).as(TASK_DATA + " above the working directory").isNotNull();
        return dir.resolve(TASK_DATA);
    }
}
