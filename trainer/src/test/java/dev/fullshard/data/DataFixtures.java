package dev.fullshard.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.LongStream;
import java.util.zip.GZIPInputStream;

/**
 * The bundled tokenizer in a temporary directory, the real Llama 3.1 and Qwen3 tokenizers, JSONL files,
 * and a tokenizer that counts its calls.
 */
public final class DataFixtures {
    private DataFixtures() {
    }

    /** Wraps the real tokenizer; counts encode calls, or throws on any when {@code fail}. */
    static final class CountingEncoder implements TextEncoder, AutoCloseable {
        final Tokenizer tokenizer;
        int encodes;
        boolean fail;

        CountingEncoder(Path dir) {
            Tokenizer.writeBundled(dir);
            tokenizer = Tokenizer.load(dir);
        }

        @Override
        public long[] encode(String text) {
            if (fail) throw new AssertionError("the tokenizer must not be called (text: " + text + ")");
            encodes++;
            return tokenizer.encode(text);
        }

        @Override
        public long tokenId(String token) {
            if (fail) throw new AssertionError("the tokenizer must not be called (token: " + token + ")");
            return tokenizer.tokenId(token);
        }

        @Override
        public Path file() {
            return tokenizer.file();
        }

        @Override
        public void close() {
            tokenizer.close();
        }
    }

    /**
     * Writes the test tokenizer {@code name} (llama3_1 or qwen3: see tokenizers/SOURCE.md in the test
     * resources) into {@code dir} as tokenizer.json and tokenizer_config.json, and returns {@code dir}.
     */
    public static Path realTokenizer(String name, Path dir) {
        String base = "/dev/fullshard/tokenizers/" + name + "/";
        try (InputStream gz = DataFixtures.class.getResourceAsStream(base + "tokenizer.json.gz");
             InputStream config = DataFixtures.class.getResourceAsStream(base + Tokenizer.CONFIG_FILE)) {
            if (gz == null || config == null) throw new IllegalStateException("no test tokenizer " + name);
            Files.createDirectories(dir);
            Files.copy(new GZIPInputStream(gz), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(config, dir.resolve(Tokenizer.CONFIG_FILE), StandardCopyOption.REPLACE_EXISTING);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path jsonl(Path dir, String name, String... lines) {
        try {
            return Files.writeString(dir.resolve(name), String.join("\n", lines) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path jsonl(Path dir, String name, List<String> lines) {
        return jsonl(dir, name, lines.toArray(String[]::new));
    }

    static long[] concat(long[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToLong(LongStream::of).toArray();
    }

    static long[] ignored(int n) {
        return LongStream.generate(() -> TokenizedDataset.IGNORE_INDEX).limit(n).toArray();
    }

    static DataOptions options(Path dir, DataFormat format, int maxSeqLen) {
        return DataOptions.of(format, maxSeqLen).withCacheDir(dir.resolve("cache"));
    }
}
