package dev.fullshard.data;

import dev.fullshard.data.DataException.Reason;
import dev.fullshard.data.DataFixtures.CountingEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.fullshard.data.DataFixtures.concat;
import static dev.fullshard.data.DataFixtures.ignored;
import static dev.fullshard.data.DataFixtures.jsonl;
import static dev.fullshard.data.DataFixtures.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Rendering, tokenizing and label masking with the bundled Mistral tokenizer (BOS 1, EOS 2). */
class DataLoadTest {
    private static final long[] BOS = {1}, EOS = {2};
    @TempDir
    static Path tokenizerDir;
    static CountingEncoder tok;

    @BeforeAll
    static void loadTokenizer() {
        tok = new CountingEncoder(tokenizerDir);
    }

    @AfterAll
    static void closeTokenizer() {
        tok.close();
    }

    private static long[] enc(String s) {
        return tok.tokenizer.encode(s);
    }

    @Test
    void instructionLabelsAreMaskedExactlyOverBosAndPrompt(@TempDir Path dir) {
        Path f = jsonl(dir, "train.jsonl",
                "{\"instruction\": \"Repeat the word: apple\", \"output\": \"apple apple\"}",
                "{\"instruction\": \"把这个词重复两遍\", \"input\": \"苹果\", \"output\": \"苹果 苹果\"}");
        TokenizedDataset d = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.INSTRUCTION, 128));
        assertThat(d.size()).isEqualTo(2);

        long[] prompt = enc("### Instruction\nRepeat the word: apple\n\n### Response\n"), response = enc("apple apple");
        assertThat(d.tokens(0)).containsExactly(concat(BOS, prompt, response, EOS));
        assertThat(d.labels(0)).containsExactly(concat(ignored(1 + prompt.length), response, EOS));

        long[] prompt1 = enc("### Instruction\n把这个词重复两遍\n\n### Input\n苹果\n\n### Response\n"), response1 = enc("苹果 苹果");
        assertThat(d.tokens(1)).containsExactly(concat(BOS, prompt1, response1, EOS));
        assertThat(d.labels(1)).containsExactly(concat(ignored(1 + prompt1.length), response1, EOS));
        assertThat(d.report().examples()).isEqualTo(2);
        assertThat(d.report().tokens()).isEqualTo(d.length(0) + d.length(1));
    }

    @Test
    void zhAndCustomTemplatesRenderIntoTheTokens(@TempDir Path dir) {
        Path f = jsonl(dir, "a.jsonl", "{\"instruction\": \"你好\", \"output\": \"hello\"}");
        TokenizedDataset zh = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.INSTRUCTION, 128).withInstructionTemplate("zh"));
        assertThat(zh.tokens(0)).containsExactly(concat(BOS, enc("### 指令\n你好\n\n### 回答\n"), enc("hello"), EOS));
        TokenizedDataset custom = TokenizedDataset.load(List.of(f), tok,
                options(dir, DataFormat.INSTRUCTION, 128).withInstructionTemplate("Q: {instruction}\nA: {output}"));
        long[] p = enc("Q: 你好\nA: ");
        assertThat(custom.tokens(0)).containsExactly(concat(BOS, p, enc("hello"), EOS));
        assertThat(custom.labels(0)).containsExactly(concat(ignored(1 + p.length), enc("hello"), EOS));
    }

    @Test
    void textTrainsOnEveryTokenAfterBos(@TempDir Path dir) {
        Path f = jsonl(dir, "t.jsonl", "{\"text\": \"The cat sat.\"}");
        TokenizedDataset d = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.TEXT, 64));
        long[] text = enc("The cat sat.");
        assertThat(d.tokens(0)).containsExactly(concat(BOS, text, EOS));
        assertThat(d.labels(0)).containsExactly(concat(ignored(1), text, EOS));
    }

    @Test
    void chatmlTrainsOnEachAssistantTurnOnly(@TempDir Path dir) {
        Path f = jsonl(dir, "c.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
                + " {\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": \"Goodbye\"},"
                + " {\"role\": \"user\", \"content\": \"ignored: after the last assistant turn\"}]}");
        TokenizedDataset d = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.CHAT, 256));
        long[] p1 = enc("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        long[] a1 = enc("Hello<|im_end|>");
        long[] p2 = enc("\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
        long[] a2 = enc("Goodbye<|im_end|>");
        assertThat(d.tokens(0)).containsExactly(concat(BOS, p1, a1, p2, a2, EOS));
        assertThat(d.labels(0)).containsExactly(concat(ignored(1 + p1.length), a1, ignored(p2.length), a2, EOS));
    }

    @Test
    void llama2TrainsOnEachAnswerAndItsEos(@TempDir Path dir) {
        Path f = jsonl(dir, "c.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
                + " {\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": \"Goodbye\"}]}");
        TokenizedDataset d = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.CHAT, 256).withChatTemplate(BuiltinChatTemplate.LLAMA2));
        long[] p1 = enc("[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST]"), a1 = enc("Hello");
        long[] p2 = enc("[INST] Bye [/INST]"), a2 = enc("Goodbye");
        assertThat(d.tokens(0)).containsExactly(concat(BOS, p1, a1, EOS, BOS, p2, a2, EOS));
        assertThat(d.labels(0)).containsExactly(concat(ignored(1 + p1.length), a1, EOS, ignored(1 + p2.length), a2, EOS));
    }

    @Test
    void longExamplesAreTruncatedAndCountedAndThoseLeftWithoutTargetsDropped(@TempDir Path dir) {
        Path f = jsonl(dir, "t.jsonl",
                "{\"instruction\": \"a\", \"output\": \"" + "word ".repeat(50) + "\"}",
                "{\"instruction\": \"" + "long prompt ".repeat(40) + "\", \"output\": \"x\"}",
                "{\"instruction\": \"a\", \"output\": \"b\"}");
        TokenizedDataset d = TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.INSTRUCTION, 24));
        assertThat(d.report().truncated()).isEqualTo(2);
        assertThat(d.report().droppedNoTargets()).isEqualTo(1);
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.length(0)).isEqualTo(24);
        long[] prompt = enc("### Instruction\na\n\n### Response\n");
        assertThat(d.tokens(0)).startsWith(concat(BOS, prompt));
        assertThat(d.labels(0)[23]).isNotEqualTo(2); // cut before EOS: the last label is a word token
        assertThat(d.tokens(1)).containsExactly(concat(BOS, prompt, enc("b"), EOS));
    }

    @Test
    void badLinesNameFileAndLine(@TempDir Path dir) {
        String good = "{\"instruction\": \"a\", \"output\": \"b\"}";
        Map<String, String> cases = Map.of(
                "{not json", "not valid JSON",
                "[1, 2]", "expected a JSON object",
                "{\"instruction\": \"a\"}", "missing field \"output\"",
                "{\"instruction\": \"  \", \"output\": \"b\"}", "field \"instruction\" is blank",
                "{\"instruction\": 3, \"output\": \"b\"}", "field \"instruction\" must be a string, got the number 3",
                "{\"instruction\": \"a\", \"input\": [], \"output\": \"b\"}", "field \"input\" must be a string, got an array",
                "{\"instruction\": \"a\", \"output\": \"b\", \"output\": \"c\"}", "Duplicate field");
        for (var c : cases.entrySet()) {
            Path f = jsonl(dir, "bad.jsonl", good, "", c.getKey(), good);
            assertThatThrownBy(() -> TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.INSTRUCTION, 64)))
                    .isInstanceOf(DataException.class)
                    .hasMessageStartingWith(f + ":3: ")
                    .hasMessageContaining(c.getValue());
        }
    }

    @Test
    void badChatLinesNameTheProblem(@TempDir Path dir) {
        Map<String, String> cases = Map.of(
                "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}", "messages[0] has unknown role \"bot\"",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}", "no assistant turn",
                "{\"messages\": {}}", "\"messages\" must be an array",
                "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}", "messages[0]: missing field \"content\"",
                "{\"text\": \"x\"}", "missing field \"messages\"");
        for (var c : cases.entrySet()) {
            Path f = jsonl(dir, "chat.jsonl", c.getKey());
            assertThatThrownBy(() -> TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.CHAT, 64)))
                    .isInstanceOf(DataException.class)
                    .hasMessageStartingWith(f + ":1: ")
                    .hasMessageContaining(c.getValue());
        }
        Path order = jsonl(dir, "order.jsonl", "{\"messages\": [{\"role\": \"assistant\", \"content\": \"y\"}]}");
        assertThatThrownBy(() -> TokenizedDataset.load(List.of(order), tok, options(dir, DataFormat.CHAT, 64).withChatTemplate(BuiltinChatTemplate.LLAMA2)))
                .hasMessageStartingWith(order + ":1: ").hasMessageContaining("alternating");
    }

    @Test
    void skippedLinesAreCountedPerReason(@TempDir Path dir) throws Exception {
        String good = "{\"instruction\": \"a\", \"output\": \"b\"}";
        Path f = jsonl(dir, "mixed.jsonl", good, "{oops", "{\"instruction\": \"a\"}", good, "{\"output\": \"b\"}", "{broken");
        Path bin = dir.resolve("latin1.jsonl");
        Files.write(bin, new byte[] {'{', '"', 't', (byte) 0xE9, '"', '}', '\n'});
        TokenizedDataset d = TokenizedDataset.load(List.of(f, bin), tok, options(dir, DataFormat.INSTRUCTION, 64).withSkipBadLines(true));
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.report().skipped()).containsOnly(Map.entry(Reason.INVALID_JSON, 2L), Map.entry(Reason.MISSING_FIELD, 2L),
                Map.entry(Reason.NOT_UTF8, 1L));
        assertThat(d.report().lines()).isEqualTo(7);
        assertThatThrownBy(() -> TokenizedDataset.load(List.of(bin), tok, options(dir, DataFormat.INSTRUCTION, 64)))
                .hasMessage(bin + ":1: not valid UTF-8");
    }

    @Test
    void aByteOrderMarkStartingAFileIsDroppedAsPythonsUtf8SigDoes(@TempDir Path dir) throws Exception {
        String a = "{\"instruction\": \"a\", \"output\": \"b\"}", b = "{\"instruction\": \"c\", \"output\": \"d\"}";
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        Path plain = jsonl(dir, "plain.jsonl", a, b);
        Path marked = dir.resolve("marked.jsonl");
        Files.write(marked, concatBytes(bom, Files.readAllBytes(plain)));
        Path second = dir.resolve("second.jsonl");
        Files.write(second, concatBytes(bom, (b + "\n").getBytes(StandardCharsets.UTF_8)));

        TokenizedDataset expected = TokenizedDataset.load(List.of(plain), tok, options(dir, DataFormat.INSTRUCTION, 64));
        TokenizedDataset d = TokenizedDataset.load(List.of(marked, second), tok, options(dir, DataFormat.INSTRUCTION, 64));
        assertThat(d.size()).isEqualTo(3);
        assertThat(d.tokens(0)).containsExactly(expected.tokens(0));
        assertThat(d.tokens(1)).containsExactly(expected.tokens(1));
        assertThat(d.tokens(2)).containsExactly(expected.tokens(1));
        assertThat(d.report().lines()).isEqualTo(3);

        // The cache is keyed by the bytes, so the marked file has its own entry, read back as tokenized.
        TokenizedDataset cached = TokenizedDataset.load(List.of(marked, second), tok, options(dir, DataFormat.INSTRUCTION, 64));
        assertThat(cached.report().cache()).isEqualTo(LoadReport.CacheStatus.HIT);
        assertThat(cached.tokens(0)).containsExactly(expected.tokens(0));

        // Only the start of a file may carry the mark, as with utf-8-sig; inside, it is a stray character.
        Path inside = dir.resolve("inside.jsonl");
        Files.write(inside, concatBytes((a + "\n").getBytes(StandardCharsets.UTF_8), bom, (b + "\n").getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(() -> TokenizedDataset.load(List.of(inside), tok, options(dir, DataFormat.INSTRUCTION, 64)))
                .hasMessageStartingWith(inside + ":2: not valid JSON");
    }

    @Test
    void linesLongerThanJacksonsStringCapAreReadAndThoseOverTheLimitNamedWithTheirSize(@TempDir Path dir) throws Exception {
        String good = "{\"instruction\": \"a\", \"output\": \"b\"}";
        // 30 MB in a field the renderer does not use: Jackson's default cap is 20M characters per string.
        Path big = dir.resolve("big.jsonl");
        Files.write(big, concatBytes((good + "\n").getBytes(StandardCharsets.UTF_8), line(30_000_000)));
        TokenizedDataset d = TokenizedDataset.load(List.of(big), tok, options(dir, DataFormat.INSTRUCTION, 64));
        assertThat(d.size()).isEqualTo(2);
        assertThat(d.tokens(1)).containsExactly(d.tokens(0));

        Path huge = dir.resolve("huge.jsonl");
        Files.write(huge, concatBytes((good + "\n").getBytes(StandardCharsets.UTF_8), line(TokenizedDataset.MAX_LINE_BYTES + 2),
                (good + "\n").getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(() -> TokenizedDataset.load(List.of(huge), tok, options(dir, DataFormat.INSTRUCTION, 64)))
                .isInstanceOf(DataException.class)
                .hasMessage(huge + ":2: the line is 64.0 MiB, longer than the limit of 64 MiB for one JSONL line");
        TokenizedDataset skipped = TokenizedDataset.load(List.of(huge), tok, options(dir, DataFormat.INSTRUCTION, 64).withSkipBadLines(true));
        assertThat(skipped.size()).isEqualTo(2);
        assertThat(skipped.report().skipped()).containsOnly(Map.entry(Reason.LINE_TOO_LONG, 1L));
        assertThat(skipped.report().lines()).isEqualTo(3);
    }

    /** A valid instruction line of exactly {@code bytes} bytes with its newline, padded by an unused field. */
    private static byte[] line(int bytes) {
        byte[] head = "{\"instruction\": \"a\", \"output\": \"b\", \"meta\": \"".getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[bytes];
        System.arraycopy(head, 0, out, 0, head.length);
        Arrays.fill(out, head.length, bytes - 3, (byte) 'x');
        out[bytes - 3] = '"';
        out[bytes - 2] = '}';
        out[bytes - 1] = '\n';
        return out;
    }

    private static byte[] concatBytes(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
