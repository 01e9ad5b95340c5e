package dev.fullshard.data;

import dev.fullshard.data.DataFixtures.CountingEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The committed test data (tiny-tasks) is exactly what {@link TinyDataGenerator} makes, and it loads cleanly. */
class DataTinyExamplesTest {
    private static Path dataDir() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("trainer/src/test"))) dir = dir.getParent();
        assertThat(dir).as("trainer/src/test above the working directory").isNotNull();
        return dir.resolve("trainer/src/test/resources/tiny-tasks");
    }

    @Test
    void committedFilesMatchTheGenerator() throws IOException {
        List<List<String>> generated = TinyDataGenerator.generate();
        Path train = dataDir().resolve("train.jsonl"), eval = dataDir().resolve("eval.jsonl");
        if (Boolean.getBoolean("fullshard.regenerate")) {
            Files.createDirectories(dataDir());
            Files.writeString(train, String.join("\n", generated.get(0)) + "\n");
            Files.writeString(eval, String.join("\n", generated.get(1)) + "\n");
        }
        assertThat(Files.readAllLines(train)).as("regenerate with -Dfullshard.regenerate=true").isEqualTo(generated.get(0));
        assertThat(Files.readAllLines(eval)).isEqualTo(generated.get(1));
        assertThat(generated.get(0)).hasSizeGreaterThanOrEqualTo(300).doesNotHaveDuplicates();
        assertThat(generated.get(1)).hasSizeGreaterThanOrEqualTo(40);
        assertThat(new HashSet<>(generated.get(0))).doesNotContainAnyElementsOf(generated.get(1));
    }

    @Test
    void everyExampleLoadsAndIsShort(@TempDir Path tmp) {
        try (CountingEncoder tok = new CountingEncoder(tmp)) {
            for (String name : List.of("train.jsonl", "eval.jsonl")) {
                TokenizedDataset d = TokenizedDataset.load(List.of(dataDir().resolve(name)), tok,
                        DataOptions.of(DataFormat.INSTRUCTION, 64).withCacheDir(tmp.resolve("cache")));
                assertThat(d.report().skippedTotal()).isZero();
                assertThat(d.report().truncated()).isZero();
                for (int i = 0; i < d.size(); i++) assertThat(d.length(i)).as("%s example %d", name, i).isLessThan(40);
            }
        }
    }
}
