package dev.fullshard.train;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ConfigDocsTest {
    /** The committed reference, found from the trainer module's folder (where Maven runs the tests). */
    private static final Path DOCS = Path.of("").toAbsolutePath().resolveSibling("docs").resolve("config.md");

    private static final String REGENERATE = "mvn -B -ntp -q -pl trainer -am test -Dtest=ConfigDocsTest "
            + "-Dsurefire.failIfNoSpecifiedTests=false -Dfullshard.writeConfigDocs=true";

    @Test
    void committedDocsMatchTheKeyDeclarations() throws IOException {
        if (Boolean.getBoolean("fullshard.writeConfigDocs")) Files.writeString(DOCS, ConfigDocs.markdown());
        assertThat(Files.exists(DOCS)).as("%s is missing; write it with:%n  %s", DOCS, REGENERATE).isTrue();
        assertThat(Files.readString(DOCS)).as("%s is stale (a key declaration in ConfigKeys changed); regenerate it with:%n  %s",
                DOCS, REGENERATE).isEqualTo(ConfigDocs.markdown());
    }

    @Test
    void everyDeclaredKeyIsDocumentedWithItsDefaultAndRange() {
        String md = ConfigDocs.markdown();
        assertThat(md).contains("| `optimizer.lr` | number | `2.0E-5` | a number > 0 | AdamW peak learning rate, reached after warmup; "
                + "Hugging Face / torchtune: `learning_rate` |");
        assertThat(md).contains("| `model.path` | path | required |");
        assertThat(md).contains("| `distributed.reduce_dtype` | fp32 \\| bf16 \\| fp16 | `fp32` |  |");
        for (ConfigKeys.Setting<?> s : ConfigKeys.ALL) assertThat(md).contains("| `" + s.key().name() + "` |");
    }
}
