package dev.fullshard.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.data.DataException.Reason;
import dev.fullshard.data.LoadReport.CacheStatus;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Tokenized examples on disk, at {@code <root>/<key>/tokens.bin}, where the key is the SHA-256 of
 * everything the tokens depend on: each data file's bytes (in order), the {@code tokenizer.json}
 * bytes, the format, the templates that format uses, max_seq_len and {@link #FORMAT_VERSION}. Change
 * any of them and the key changes; nothing is ever invalidated in place.
 *
 * <p>Layout (little-endian):
 * <pre>
 *   0  8 bytes  magic "FSTOKENS"
 *   8  int32    FORMAT_VERSION
 *  12  int32    max_seq_len
 *  16  int32    EOS id
 *  20  int32    R, bytes of the load report (JSON)
 *  24  int64    N, examples
 *  32  int64    T, tokens
 *  40  32 bytes the key (a file copied under another key is refused)
 *  72  R bytes  load report JSON (lines, truncated, dropped, skipped per reason)
 *      (N+1) x int32  example offsets into the tokens: 0, ..., T
 *      T x int32      token ids
 *      ceil(T/64) x int64  target bits: bit t of word t/64 set when token t is a target
 *      32 bytes SHA-256 of everything above
 * </pre>
 * The file is written to a temporary name and renamed into place, so concurrent writers (several
 * ranks) and crashes leave the old file or a complete new one. It is read like an untrusted file:
 * exact size from the header, checksum, monotone offsets within max_seq_len, non-negative ids, no bits
 * past T, a report that matches. Anything off throws {@link CorruptCacheException}, and the caller
 * tokenizes again and overwrites it.
 */
final class TokenCache {
    /**
     * Bump when tokenizing or rendering changes, so that old caches are not reused. 2: a leading BOM and
     * lines with strings over Jackson's 20M-character cap are read; version 1 skipped them as bad lines.
     */
    static final int FORMAT_VERSION = 2;
    static final String FILE_NAME = "tokens.bin";
    private static final byte[] MAGIC = "FSTOKENS".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 72;
    private static final int MAX_REPORT_BYTES = 1 << 20;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static final class CorruptCacheException extends Exception {
        CorruptCacheException(String message) {
            super(message, null, false, false);
        }
    }

    private final Path file;
    private final byte[] key;
    private final int maxSeqLen;

    private TokenCache(Path file, byte[] key, int maxSeqLen) {
        this.file = file;
        this.key = key;
        this.maxSeqLen = maxSeqLen;
    }

    static TokenCache forInputs(List<Path> files, Path tokenizerFile, DataOptions options) {
        MessageDigest sha = sha256();
        update(sha, "fullshard token cache " + FORMAT_VERSION);
        update(sha, options.format().id());
        update(sha, options.format() == DataFormat.INSTRUCTION ? PromptTemplate.of(options.instructionTemplate()).text() : "");
        update(sha, options.format() == DataFormat.CHAT ? options.chatTemplate().cacheKey() : "");
        update(sha, Integer.toString(options.maxSeqLen()));
        updateFile(sha, tokenizerFile);
        // tokenizer_config.json names the end-of-sequence token (see Tokenizer#eosId).
        Path tokenizerConfig = tokenizerFile.resolveSibling(Tokenizer.CONFIG_FILE);
        update(sha, Files.isRegularFile(tokenizerConfig) ? "config" : "no config");
        if (Files.isRegularFile(tokenizerConfig)) updateFile(sha, tokenizerConfig);
        update(sha, Integer.toString(files.size()));
        for (Path f : files) updateFile(sha, f);
        byte[] key = sha.digest();
        Path root = options.cacheDir() != null ? options.cacheDir() : TorchLibrary.cacheRoot().resolve("tokens");
        return new TokenCache(root.resolve(HexFormat.of().formatHex(key)).resolve(FILE_NAME), key, options.maxSeqLen());
    }

    Path file() {
        return file;
    }

    boolean exists() {
        return Files.isRegularFile(file);
    }

    // ---------------------------------------------------------------- write

    void write(TokenizedDataset d) {
        int[] tokens = d.rawTokens(), offsets = d.rawOffsets();
        long[] bits = d.rawTargetBits();
        byte[] report = reportJson(d.report());
        long size = HEADER_BYTES + report.length + 4L * offsets.length + 4L * tokens.length + 8L * bits.length + 32;
        if (size > Integer.MAX_VALUE - 64) {
            System.err.println("fullshard: " + size + " bytes of tokens are too many for one cache file; not caching");
            return;
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(FORMAT_VERSION).putInt(maxSeqLen).putInt(d.eosId()).putInt(report.length)
                .putLong(offsets.length - 1).putLong(tokens.length).put(key).put(report);
        for (int o : offsets) b.putInt(o);
        for (int t : tokens) b.putInt(t);
        for (long w : bits) b.putLong(w);
        MessageDigest sha = sha256();
        sha.update(b.array(), 0, b.position());
        b.put(sha.digest());
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(FILE_NAME + ".tmp-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()));
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    b.flip();
                    while (b.hasRemaining()) ch.write(b);
                    ch.force(true);
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            // The cache only saves time; training goes on without it.
            System.err.println("fullshard: could not write the token cache " + file + ": " + e);
        }
    }

    private static byte[] reportJson(LoadReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lines", r.lines());
        m.put("examples", r.examples());
        m.put("tokens", r.tokens());
        m.put("truncated", r.truncated());
        m.put("dropped_no_targets", r.droppedNoTargets());
        Map<String, Long> skipped = new LinkedHashMap<>();
        r.skipped().forEach((k, v) -> skipped.put(k.name(), v));
        m.put("skipped", skipped);
        try {
            return MAPPER.writeValueAsBytes(m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- read

    TokenizedDataset read() throws CorruptCacheException {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size < HEADER_BYTES + 32 || size > Integer.MAX_VALUE - 64) throw new CorruptCacheException("size " + size + " bytes is impossible");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CorruptCacheException("unreadable: " + e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (!Arrays.equals(bytes, 0, 8, MAGIC, 0, 8)) throw new CorruptCacheException("bad magic");
        b.position(8);
        int version = b.getInt(), seqLen = b.getInt(), eos = b.getInt(), reportLen = b.getInt();
        long n = b.getLong(), t = b.getLong();
        if (version != FORMAT_VERSION) throw new CorruptCacheException("format version " + version + ", expected " + FORMAT_VERSION);
        if (seqLen != maxSeqLen) throw new CorruptCacheException("max_seq_len " + seqLen + ", expected " + maxSeqLen);
        if (eos < 0) throw new CorruptCacheException("EOS id " + eos);
        if (reportLen < 0 || reportLen > MAX_REPORT_BYTES) throw new CorruptCacheException("report length " + reportLen);
        if (n < 1 || n > Integer.MAX_VALUE - 2 || t < 0 || t > Integer.MAX_VALUE - 64) throw new CorruptCacheException("counts " + n + " examples, " + t + " tokens");
        long expected = HEADER_BYTES + reportLen + 4 * (n + 1) + 4 * t + 8 * ((t + 63) / 64) + 32;
        if (expected != bytes.length) throw new CorruptCacheException("size " + bytes.length + " bytes, header says " + expected);
        MessageDigest sha = sha256();
        sha.update(bytes, 0, bytes.length - 32);
        if (!Arrays.equals(sha.digest(), 0, 32, bytes, bytes.length - 32, bytes.length)) throw new CorruptCacheException("checksum mismatch");
        if (!Arrays.equals(bytes, 40, 72, key, 0, 32)) throw new CorruptCacheException("made for another key");

        b.position(HEADER_BYTES);
        byte[] reportBytes = new byte[reportLen];
        b.get(reportBytes);
        int[] offsets = new int[(int) n + 1];
        for (int i = 0; i < offsets.length; i++) offsets[i] = b.getInt();
        if (offsets[0] != 0 || offsets[(int) n] != t) throw new CorruptCacheException("offsets do not span the tokens");
        for (int i = 0; i < n; i++) {
            int len = offsets[i + 1] - offsets[i];
            if (len < 1 || len > maxSeqLen) throw new CorruptCacheException("example " + i + " has length " + len);
        }
        int[] tokens = new int[(int) t];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = b.getInt();
            if (tokens[i] < 0) throw new CorruptCacheException("negative token id at " + i);
        }
        long[] bits = new long[(int) ((t + 63) / 64)];
        for (int i = 0; i < bits.length; i++) bits[i] = b.getLong();
        if (t % 64 != 0 && bits.length > 0 && (bits[bits.length - 1] >>> (t % 64)) != 0) throw new CorruptCacheException("target bits past the end");
        LoadReport report = parseReport(reportBytes, n, t);
        return new TokenizedDataset(tokens, offsets, bits, maxSeqLen, eos, report);
    }

    private static LoadReport parseReport(byte[] json, long n, long t) throws CorruptCacheException {
        JsonNode r;
        try {
            r = MAPPER.readTree(json);
        } catch (IOException e) {
            throw new CorruptCacheException("report is not JSON");
        }
        if (r == null || !r.isObject()) throw new CorruptCacheException("report is not an object");
        long lines = count(r, "lines"), examples = count(r, "examples"), tokens = count(r, "tokens");
        if (examples != n || tokens != t) throw new CorruptCacheException("report counts differ from the header");
        JsonNode s = r.get("skipped");
        if (s == null || !s.isObject()) throw new CorruptCacheException("report has no skipped counts");
        Map<Reason, Long> skipped = new EnumMap<>(Reason.class);
        for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Reason reason;
            try {
                reason = Reason.valueOf(e.getKey());
            } catch (IllegalArgumentException ex) {
                throw new CorruptCacheException("unknown skip reason " + e.getKey());
            }
            if (!e.getValue().canConvertToExactIntegral() || e.getValue().asLong() < 0) throw new CorruptCacheException("bad skip count");
            skipped.put(reason, e.getValue().asLong());
        }
        return new LoadReport(lines, examples, tokens, count(r, "truncated"), count(r, "dropped_no_targets"), skipped, CacheStatus.HIT);
    }

    private static long count(JsonNode r, String field) throws CorruptCacheException {
        JsonNode v = r.get(field);
        if (v == null || !v.isIntegralNumber() || v.asLong() < 0) throw new CorruptCacheException("report field " + field + " missing or negative");
        return v.asLong();
    }

    // ---------------------------------------------------------------- key

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest sha, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(8).putLong(bytes.length).array());
        sha.update(bytes);
    }

    private static void updateFile(MessageDigest sha, Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            sha.update(ByteBuffer.allocate(8).putLong(Files.size(f)).array());
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) sha.update(buf, 0, r);
        } catch (IOException e) {
            throw DataException.unreadable(f, e);
        }
    }
}
