package dev.fullshard.launcher;

import dev.fullshard.cli.FullshardCommand;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** What the launcher's training tests train: the tiny preset made by {@code fullshard init-model}, on the example data. */
final class TinyFixtures {
    private TinyFixtures() {
    }

    /** {@code fullshard init-model --preset tiny --seed 0 --out dir}, as a user makes it. */
    static Path tinyModel(Path dir) {
        StringWriter err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(new StringWriter(), true)).setErr(new PrintWriter(err, true))
                .execute("init-model", "--preset", "tiny", "--seed", "0", "--out", dir.toString());
        assertThat(code).as(err.toString()).isZero();
        return dir;
    }

    /** {@code examples/tiny/data} of the checkout the tests run in. */
    static Path exampleData() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("examples/tiny/data"))) dir = dir.getParent();
        assertThat(dir).as("examples/tiny/data above the working directory").isNotNull();
        return dir.resolve("examples/tiny/data");
    }
}
