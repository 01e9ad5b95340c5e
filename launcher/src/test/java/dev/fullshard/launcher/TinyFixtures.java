package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.cli.FullshardCommand;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What the launcher's training tests train (the tiny preset made by {@code fullshard init-model}, on the example data) and read back. */
final class TinyFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

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

    /** The tests' regular-task data (trainer/src/test/resources/tiny-tasks; see its README) of the checkout the tests run in. */
    private static final String TASK_DATA = "trainer/src/test/resources/tiny-tasks";

    static Path taskData() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve(TASK_DATA))) dir = dir.getParent();
        assertThat(dir).as(TASK_DATA + " above the working directory").isNotNull();
        return dir.resolve(TASK_DATA);
    }

    /**
     * A process for a launcher command line. This JVM has loaded libtorch (tinyModel), which set
     * OMP_NUM_THREADS to all cores for itself; a launcher inheriting that would pass it on to every rank
     * instead of splitting the cores among them, and oversubscribed ranks run several times slower.
     */
    static ProcessBuilder launcherProcess(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        return pb;
    }

    /** The lines of a run's {@code metrics.jsonl} whose {@code type} is {@code type}, in order. */
    static List<JsonNode> metrics(Path outputDir, String type) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals(type)) found.add(n);
        }
        return found;
    }
}
