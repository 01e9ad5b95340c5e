package dev.fullshard.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Text from tokens, byte by byte: characters split over byte-fallback tokens are held back until whole,
 * bytes that are no text are shown as \xNN, and nothing is ever shown as U+FFFD.
 */
class TokenTextTest {
    /** The bundled Mistral vocabulary's byte-fallback tokens: {@code <0x00>} is id 3, so byte b is id 3 + b. */
    private static long byteToken(int b) {
        return 3 + b;
    }

    @Test
    void wholeTextDecodesLikeTheTokenizerWithoutItsLeadingSpace(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            for (String text : List.of("Paris", "苹果 苹果", "布宜诺斯艾利斯", "Grüße, 世界! 🙂 tabs\tand\nnewlines", "New Delhi")) {
                assertThat(t.text(t.encode(text))).as(text).isEqualTo(text);
            }
            // Special tokens (<s>, </s>) stand for no text.
            long[] ids = t.encode("Rome");
            assertThat(t.text(new long[]{1, ids[0], 2})).isEqualTo("Rome");
        }
    }

    @Test
    void aCharacterSplitOverTokensIsHeldBackUntilItIsWhole(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            long[] ping = t.encode("苹"); // "▁" and the byte-fallback tokens of E8 8B B9
            assertThat(ping).hasSize(4).endsWith(byteToken(0xE8), byteToken(0x8B), byteToken(0xB9));
            TokenText stream = t.textStream();
            List<String> pieces = new ArrayList<>();
            // 苹 is E8 8B B9 in UTF-8; 果 is one token of its own.
            for (long id : new long[]{byteToken(0xE8), byteToken(0x8B), byteToken(0xB9), t.encode("果")[1]}) pieces.add(stream.append(id));
            assertThat(pieces).containsExactly("", "", "苹", "果");
            assertThat(stream.finish()).isEmpty();
        }
    }

    @Test
    void bytesThatAreNoTextAreShownEscapedNeverAsReplacementCharacters(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            long a = t.encode("a")[0];
            // A lone continuation byte, a byte that never occurs in UTF-8, an overlong lead (C0) and a surrogate (ED A0 80).
            long[] nonsense = {byteToken(0xB9), a, byteToken(0xFF), byteToken(0xC0), byteToken(0xAF), byteToken(0xED), byteToken(0xA0), byteToken(0x80)};
            assertThat(t.text(nonsense)).as("the token is \"▁a\"").isEqualTo("\\xB9 a\\xFF\\xC0\\xAF\\xED\\xA0\\x80");
            // A character cut off by the end of generation: its bytes, escaped.
            assertThat(t.text(new long[]{a, byteToken(0xE8), byteToken(0x8B)})).isEqualTo("a\\xE8\\x8B");
            // The tokenizer's own decoder would have shown these as U+FFFD.
            assertThat(t.decode(nonsense)).contains("\uFFFD");
        }
    }

    /** Byte-level BPE (GPT-2, Llama 3, Qwen): each character of a token is one byte in GPT-2's alphabet. */
    @Test
    void byteLevelVocabulariesMapEachCharacterToOneByte(@TempDir Path dir) throws Exception {
        // 你 is E4 BD A0: 'ä' (E4) and '½' (BD) stand for themselves, A0 is unprintable and becomes 'ł' (U+0142);
        // 'Ġ' (U+0120) is the space and 'Ċ' (U+010A) the newline.
        Path json = Files.writeString(dir.resolve("tokenizer.json"), """
                {"added_tokens": [{"id": 5, "content": "<|endoftext|>", "special": true}],
                 "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
                 "model": {"type": "BPE", "vocab": {"ä½": 0, "ł": 1, "Ġhi": 2, "Ċ": 3, "å¥½": 4}}}
                """);
        TokenBytes bytes = TokenBytes.load(json, id -> { throw new AssertionError("no fallback needed"); });
        assertThat(TokenText.of(bytes, new long[]{0, 1, 4, 2, 3, 5})).isEqualTo("你好 hi\n");
        TokenText stream = new TokenText(bytes);
        assertThat(stream.append(0)).isEmpty();
        assertThat(stream.append(1)).isEqualTo("你");
        assertThat(TokenText.of(bytes, new long[]{0})).isEqualTo("\\xE4\\xBD");
        assertThat(TokenText.of(bytes, new long[]{2})).as("byte-level text keeps its leading space").isEqualTo(" hi");
        assertThat(TokenText.of(bytes, new long[]{99})).isEqualTo("<token 99>");
    }
}
