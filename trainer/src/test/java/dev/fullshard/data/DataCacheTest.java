package dev.fullshard.data;

import dev.fullshard.data.DataFixtures.CountingEncoder;
import dev.fullshard.data.LoadReport.CacheStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static dev.fullshard.data.DataFixtures.jsonl;
import static dev.fullshard.data.DataFixtures.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataCacheTest {
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

    @BeforeEach
    void reset() {
        tok.fail = false;
        tok.encodes = 0;
    }

    private static Path data(Path dir) {
        return jsonl(dir, "train.jsonl", IntStream.range(0, 20)
                .mapToObj(i -> "{\"instruction\": \"What comes after " + i + "?\", \"output\": \"" + (i + 1) + "\"}").toList());
    }

    private static Path cacheFile(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("cache"))) {
            List<Path> files = s.filter(p -> p.getFileName().toString().equals(TokenCache.FILE_NAME)).toList();
            assertThat(files).hasSize(1);
            return files.getFirst();
        }
    }

    private static void assertSame(TokenizedDataset a, TokenizedDataset b) {
        assertThat(b.size()).isEqualTo(a.size());
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.tokens(i)).containsExactly(a.tokens(i));
            assertThat(b.labels(i)).containsExactly(a.labels(i));
        }
        assertThat(b.eosId()).isEqualTo(a.eosId());
        assertThat(b.report().withCache(CacheStatus.HIT)).isEqualTo(a.report().withCache(CacheStatus.HIT));
    }

    @Test
    void secondLoadReadsTheCacheWithoutTokenizing(@TempDir Path dir) throws IOException {
        Path f = data(dir);
        DataOptions o = options(dir, DataFormat.INSTRUCTION, 64);
        TokenizedDataset first = TokenizedDataset.load(List.of(f), tok, o);
        assertThat(first.report().cache()).isEqualTo(CacheStatus.BUILT);
        assertThat(tok.encodes).isEqualTo(40);
        Path file = cacheFile(dir);
        assertThat(file.getParent().getParent()).isEqualTo(dir.resolve("cache"));
        assertThat(file.getParent().getFileName().toString()).matches("[0-9a-f]{64}");
        try (Stream<Path> s = Files.list(file.getParent())) {
            assertThat(s.toList()).containsExactly(file); // no temporary files left
        }

        tok.fail = true;
        TokenizedDataset second = TokenizedDataset.load(List.of(f), tok, o);
        assertThat(second.report().cache()).isEqualTo(CacheStatus.HIT);
        assertSame(first, second);
    }

    @Test
    void anyInputChangeChangesTheKey(@TempDir Path dir) throws IOException {
        Path f = data(dir);
        DataOptions o = options(dir, DataFormat.INSTRUCTION, 64);
        TokenizedDataset.load(List.of(f), tok, o);
        assertThat(TokenizedDataset.load(List.of(f), tok, o.withInstructionTemplate("zh")).report().cache()).isEqualTo(CacheStatus.BUILT);
        assertThat(TokenizedDataset.load(List.of(f), tok, options(dir, DataFormat.INSTRUCTION, 63)).report().cache()).isEqualTo(CacheStatus.BUILT);
        // The chat template does not matter for instruction data.
        assertThat(TokenizedDataset.load(List.of(f), tok, o.withChatTemplate(BuiltinChatTemplate.LLAMA2)).report().cache()).isEqualTo(CacheStatus.HIT);
        Files.writeString(f, "{\"instruction\": \"x\", \"output\": \"y\"}\n", java.nio.file.StandardOpenOption.APPEND);
        TokenizedDataset changed = TokenizedDataset.load(List.of(f), tok, o);
        assertThat(changed.report().cache()).isEqualTo(CacheStatus.BUILT);
        assertThat(changed.size()).isEqualTo(21);
    }

    @Test
    void corruptCachesAreRebuiltNotTrusted(@TempDir Path dir) throws IOException {
        Path f = data(dir);
        DataOptions o = options(dir, DataFormat.INSTRUCTION, 64);
        TokenizedDataset good = TokenizedDataset.load(List.of(f), tok, o);
        Path file = cacheFile(dir);
        byte[] original = Files.readAllBytes(file);

        byte[] flipped = original.clone();
        flipped[200] ^= 0x10; // inside the offsets or tokens
        byte[] badCount = original.clone();
        badCount[24] = 5; // N examples
        List<byte[]> corruptions = List.of(flipped, badCount, java.util.Arrays.copyOf(original, original.length - 7),
                java.util.Arrays.copyOf(original, original.length + 8), new byte[0], "FSTOKENS but nothing else".getBytes());
        for (byte[] corrupt : corruptions) {
            Files.write(file, corrupt);
            TokenizedDataset rebuilt = TokenizedDataset.load(List.of(f), tok, o);
            assertThat(rebuilt.report().cache()).isEqualTo(CacheStatus.REBUILT_CORRUPT);
            assertSame(good, rebuilt);
            assertThat(Files.readAllBytes(file)).isEqualTo(original);
        }
    }

    @Test
    void aCacheMadeWhileSkippingDoesNotHideBadLinesFromAStrictRun(@TempDir Path dir) {
        Path f = jsonl(dir, "t.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}", "{bad");
        DataOptions o = options(dir, DataFormat.INSTRUCTION, 64);
        TokenizedDataset skipping = TokenizedDataset.load(List.of(f), tok, o.withSkipBadLines(true));
        assertThat(skipping.report().skippedTotal()).isEqualTo(1);
        assertThat(TokenizedDataset.load(List.of(f), tok, o.withSkipBadLines(true)).report().skippedTotal()).isEqualTo(1);
        assertThatThrownBy(() -> TokenizedDataset.load(List.of(f), tok, o)).hasMessageStartingWith(f + ":2: ");
    }
}
