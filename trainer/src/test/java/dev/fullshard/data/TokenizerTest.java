package dev.fullshard.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bundled Mistral-7B tokenizer, loaded from a model directory as a user would. */
class TokenizerTest {
    @Test
    void encodesKnownIdsWithoutSpecialTokensAndRoundTrips(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        assertThat(dir.resolve("tokenizer_config.json")).exists();
        try (Tokenizer t = Tokenizer.load(dir)) {
            // Mistral-7B's vocabulary: "▁Hello" is 22557 and "▁world" 1526 (no <s> is added).
            assertThat(t.encode("Hello world")).containsExactly(22557, 1526);
            String text = "Grüße, 世界! 🙂 tabs\tand\nnewlines";
            assertThat(t.decode(t.encode(text))).isEqualTo(text);
            assertThat(t.tokenId("<s>")).isEqualTo(1);
            assertThat(t.tokenId("</s>")).isEqualTo(2);
            assertThat(t.tokenId("not a single token")).isEqualTo(-1);
        }
    }

    @Test
    void longTextIsNotTruncated(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            // The tokenizers library truncates to 512 tokens unless told not to.
            assertThat(t.encode("word ".repeat(2000))).hasSizeGreaterThan(1500);
        }
    }

    @Test
    void missingTokenizerNamesTheFile(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> Tokenizer.load(dir)).hasMessageContaining(dir.resolve("tokenizer.json").toString());
        Path bad = Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
        assertThatThrownBy(() -> Tokenizer.load(bad)).hasMessageContaining(bad.toString());
    }
}
