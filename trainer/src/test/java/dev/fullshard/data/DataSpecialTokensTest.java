package dev.fullshard.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Examples begin and end with the tokenizer's own special tokens: the bundled Mistral tokenizer adds
 * {@code <s>} and ends with {@code </s>}; a Qwen-style tokenizer adds no BOS and names its EOS
 * ({@code <|im_end|>}) in tokenizer_config.json.
 */
class DataSpecialTokensTest {
    @TempDir
    Path tmp;

    /** A small word-level tokenizer.json like Qwen's: no post-processor (so no BOS), special tokens 0 and 1. */
    private Path qwenStyleTokenizer() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("qwen-style"));
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [
                   {"id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                   {"id": 1, "content": "<|im_end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"<|endoftext|>": 0, "<|im_end|>": 1, "hello": 2, "world": 3, "say": 4, "[UNK]": 5},
                           "unk_token": "[UNK]"}}
                """);
        Files.writeString(dir.resolve(Tokenizer.CONFIG_FILE), "{\"eos_token\": \"<|im_end|>\", \"bos_token\": null}");
        return dir;
    }

    @Test
    void theBundledTokenizerStartsWithBosAndEndsWithEos() {
        Tokenizer.writeBundled(tmp);
        try (Tokenizer t = Tokenizer.load(tmp)) {
            assertThat(t.bosId()).isEqualTo(1);
            assertThat(t.eosId()).isEqualTo(2);
        }
    }

    @Test
    void aQwenStyleTokenizerAddsNoBosAndEndsWithItsConfiguredEos() throws Exception {
        Path dir = qwenStyleTokenizer();
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertThat(t.bosId()).isEqualTo(-1);
            assertThat(t.eosId()).isEqualTo(1);
            Path data = DataFixtures.jsonl(tmp, "d.jsonl", "{\"instruction\": \"say\", \"output\": \"hello world\"}");
            TokenizedDataset d = TokenizedDataset.load(List.of(data), t,
                    DataOptions.of(DataFormat.INSTRUCTION, 64).withInstructionTemplate("{instruction} {output}").withCacheDir(tmp.resolve("cache")));
            long[] tokens = d.tokens(0), labels = d.labels(0);
            assertThat(tokens).containsExactly(4, 2, 3, 1);           // say | hello world <|im_end|>: no BOS
            assertThat(labels).containsExactly(-100, 2, 3, 1);        // loss on the response and the EOS
        }
    }
}
