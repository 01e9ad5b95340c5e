package dev.fullshard.data;

import dev.fullshard.data.DataException.Reason;
import dev.fullshard.data.ExampleRenderer.BadLine;
import dev.fullshard.data.ExampleRenderer.Segment;
import dev.fullshard.data.LoadReport.CacheStatus;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Tokenized examples: for each, its token ids and which of them are targets (labels). Labels follow
 * Hugging Face: the token id where the model is trained to produce it, {@code -100} where it is not
 * (BOS, prompt, system and user turns).
 *
 * <p>Every example is BOS (when the tokenizer has {@code <s>}) + prompt + response + EOS ({@code </s>}),
 * cut to {@code max_seq_len}. Prompt and response are tokenized <em>separately</em> and their ids
 * concatenated: tokenizing the joined text could merge the prompt's last characters and the
 * response's first into one token, so the mask boundary would fall inside a token; and at inference
 * the prompt is encoded alone, so the model should learn to continue exactly those prompt tokens.
 * Chat data in a model's own Jinja template is the exception: the template decides BOS and EOS, and
 * the rendered conversation is tokenized whole, as {@code transformers} does ({@link JinjaChatTemplate}).
 *
 * <p>{@link #load} keeps the result in a token cache (see {@link TokenCache}); a second load of the same
 * files with the same tokenizer and options reads it back without tokenizing.
 */
public final class TokenizedDataset {
    public static final int IGNORE_INDEX = -100;
    /**
     * The longest JSONL line read, in bytes. An example is cut to max_seq_len tokens anyway, so this only
     * bounds what one line costs: the line, its text, Jackson's copy and the tokenizer's output for all of
     * it (the bundled tokenizer took ~3 minutes and ~5 GB for a 50 MB text field), so that a runaway line
     * is named instead of ending the run out of memory.
     */
    public static final int MAX_LINE_BYTES = 64 << 20;
    private static final byte[] UTF8_BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private final int[] tokens;
    private final int[] offsets; // example i is tokens[offsets[i], offsets[i+1])
    private final long[] targetBits; // bit t set: token t is a target
    private final int maxSeqLen;
    private final int eos;
    private final LoadReport report;

    TokenizedDataset(int[] tokens, int[] offsets, long[] targetBits, int maxSeqLen, int eos, LoadReport report) {
        this.tokens = tokens;
        this.offsets = offsets;
        this.targetBits = targetBits;
        this.maxSeqLen = maxSeqLen;
        this.eos = eos;
        this.report = report;
    }

    /**
     * Reads, validates and tokenizes {@code files} (JSONL, UTF-8), or reads the token cache when it
     * holds them already.
     *
     * @throws DataException for the first bad line (file:line: problem) unless {@code skipBadLines}
     */
    public static TokenizedDataset load(List<Path> files, TextEncoder tokenizer, DataOptions options) {
        if (files.isEmpty()) throw new IllegalArgumentException("no data files given");
        TokenCache cache = TokenCache.forInputs(files, tokenizer.file(), options);
        CacheStatus status = CacheStatus.BUILT;
        if (cache.exists()) {
            try {
                TokenizedDataset cached = cache.read();
                // A cache made while skipping bad lines must not hide them from a run that wants them reported.
                if (options.skipBadLines() || cached.report.skippedTotal() == 0) return cached.withCache(CacheStatus.HIT);
            } catch (TokenCache.CorruptCacheException e) {
                System.err.println("fullshard: token cache " + cache.file() + " is unusable (" + e.getMessage() + "); tokenizing again");
                status = CacheStatus.REBUILT_CORRUPT;
            }
        }
        TokenizedDataset built = tokenize(files, tokenizer, options).withCache(status);
        cache.write(built);
        return built;
    }

    private TokenizedDataset withCache(CacheStatus status) {
        return new TokenizedDataset(tokens, offsets, targetBits, maxSeqLen, eos, report.withCache(status));
    }

    // ---------------------------------------------------------------- access

    public int size() {
        return offsets.length - 1;
    }

    public int length(int example) {
        return offsets[example + 1] - offsets[example];
    }

    public int token(int example, int position) {
        return tokens[offsets[example] + checkPosition(example, position)];
    }

    public boolean isTarget(int example, int position) {
        int at = offsets[example] + checkPosition(example, position);
        return (targetBits[at >>> 6] & (1L << at)) != 0;
    }

    /** Token ids of one example. */
    public long[] tokens(int example) {
        long[] out = new long[length(example)];
        for (int t = 0; t < out.length; t++) out[t] = tokens[offsets[example] + t];
        return out;
    }

    /** Labels of one example, unshifted: the token id where it is a target, else -100. */
    public long[] labels(int example) {
        long[] out = new long[length(example)];
        for (int t = 0; t < out.length; t++) out[t] = isTarget(example, t) ? token(example, t) : IGNORE_INDEX;
        return out;
    }

    public int maxSeqLen() {
        return maxSeqLen;
    }

    /** The EOS id, also used to pad sequences. */
    public int eosId() {
        return eos;
    }

    public LoadReport report() {
        return report;
    }

    int[] rawTokens() {
        return tokens;
    }

    int[] rawOffsets() {
        return offsets;
    }

    long[] rawTargetBits() {
        return targetBits;
    }

    /**
     * {@code examples} sequences of {@code length} random token ids below {@code vocabSize}, every token a
     * target: what {@code fullshard bench} trains on, so that no data pipeline is measured.
     */
    public static TokenizedDataset synthetic(int examples, int length, int vocabSize, long seed) {
        int[] tokens = new int[Math.multiplyExact(examples, length)];
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(vocabSize);
        int[] offsets = new int[examples + 1];
        for (int e = 0; e <= examples; e++) offsets[e] = e * length;
        long[] targets = new long[(tokens.length + 63) / 64];
        Arrays.fill(targets, -1L);
        LoadReport report = new LoadReport(0, examples, tokens.length, 0, 0, Map.of(), CacheStatus.BUILT);
        return new TokenizedDataset(tokens, offsets, targets, length, 0, report);
    }

    private int checkPosition(int example, int position) {
        if (position < 0 || position >= length(example)) {
            throw new IndexOutOfBoundsException("position " + position + " of example " + example + " (length " + length(example) + ")");
        }
        return position;
    }

    // ---------------------------------------------------------------- tokenizing

    private static TokenizedDataset tokenize(List<Path> files, TextEncoder tokenizer, DataOptions options) {
        long eos = tokenizer.eosId();
        if (eos < 0) {
            throw new IllegalArgumentException("the tokenizer " + tokenizer.file() + " has no end-of-sequence token to end examples with: "
                    + "set eos_token in tokenizer_config.json next to it");
        }
        ExampleRenderer renderer = new ExampleRenderer(options.format(), PromptTemplate.of(options.instructionTemplate()),
                options.chatTemplate(), tokenizer);
        Builder b = new Builder(options.maxSeqLen());
        for (Path file : files) {
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                long lineNo = 0, lineBytes = 0;
                int c;
                boolean more = true;
                while (more) {
                    c = in.read();
                    if (c != '\n' && c != -1) {
                        // Past the limit only the length is counted, for the message.
                        if (lineBytes++ < MAX_LINE_BYTES) line.write(c);
                        continue;
                    }
                    more = c != -1;
                    lineNo++;
                    if (lineBytes > MAX_LINE_BYTES) {
                        b.tooLong(file, lineNo, lineBytes, options.skipBadLines());
                    } else if (lineBytes > 0 || more) {
                        byte[] bytes = line.toByteArray();
                        // Editors on Windows start UTF-8 files with a byte-order mark; Python's utf-8-sig drops it too.
                        if (lineNo == 1 && startsWithBom(bytes)) bytes = Arrays.copyOfRange(bytes, UTF8_BOM.length, bytes.length);
                        b.line(file, lineNo, bytes, renderer, tokenizer, options.skipBadLines());
                    }
                    line.reset();
                    lineBytes = 0;
                }
            } catch (IOException e) {
                throw DataException.unreadable(file, e);
            }
        }
        if (b.examples == 0) {
            throw new DataException("no usable examples in " + files + " (" + b.report(CacheStatus.BUILT) + ")", null);
        }
        return b.build((int) eos);
    }

    private static boolean startsWithBom(byte[] line) {
        return Arrays.equals(line, 0, Math.min(line.length, UTF8_BOM.length), UTF8_BOM, 0, UTF8_BOM.length);
    }

    /** Appends examples to flat arrays. */
    private static final class Builder {
        final int maxSeqLen;
        int[] tokens = new int[1 << 12];
        long[] bits = new long[(1 << 12) / 64];
        int[] offsets = new int[1 << 8];
        int size; // tokens used
        int examples;
        long lines, truncated, droppedNoTargets;
        final Map<Reason, Long> skipped = new EnumMap<>(Reason.class);

        Builder(int maxSeqLen) {
            this.maxSeqLen = maxSeqLen;
        }

        void line(Path file, long lineNo, byte[] bytes, ExampleRenderer renderer, TextEncoder tokenizer, boolean skipBad) {
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                lines++;
                bad(file, lineNo, Reason.NOT_UTF8, "not valid UTF-8", skipBad);
                return;
            }
            if (text.isBlank()) return;
            lines++;
            List<Segment> segments;
            try {
                segments = renderer.render(text);
            } catch (BadLine e) {
                bad(file, lineNo, e.reason, e.getMessage(), skipBad);
                return;
            }
            add(segments, tokenizer);
        }

        void tooLong(Path file, long lineNo, long bytes, boolean skipBad) {
            lines++;
            bad(file, lineNo, Reason.LINE_TOO_LONG, String.format(Locale.ROOT, "the line is %.1f MiB, longer than the limit of %d MiB "
                    + "for one JSONL line", bytes / (double) (1 << 20), MAX_LINE_BYTES >> 20), skipBad);
        }

        void bad(Path file, long lineNo, Reason reason, String message, boolean skipBad) {
            if (!skipBad) throw new DataException(file, lineNo, reason, message);
            skipped.merge(reason, 1L, Long::sum);
        }

        void add(List<Segment> segments, TextEncoder tokenizer) {
            int start = size;
            boolean cut = false;
            for (Segment s : segments) {
                long[] ids = s.text() == null ? s.ids() : tokenizer.encode(s.text());
                for (long id : ids) {
                    if (size - start == maxSeqLen) {
                        cut = true;
                        break;
                    }
                    append((int) id, s.trainable());
                }
                if (cut) break;
            }
            if (cut) truncated++;
            // Position 0 is never a target after the shift; an example needs a target after it.
            boolean anyTarget = false;
            for (int t = start + 1; t < size && !anyTarget; t++) anyTarget = (bits[t >>> 6] & (1L << t)) != 0;
            if (!anyTarget) {
                for (int t = start; t < size; t++) bits[t >>> 6] &= ~(1L << t);
                size = start;
                droppedNoTargets++;
                return;
            }
            if (examples + 2 > offsets.length) offsets = Arrays.copyOf(offsets, offsets.length * 2);
            offsets[++examples] = size;
        }

        void append(int id, boolean target) {
            if (size == tokens.length) {
                if (size > Integer.MAX_VALUE / 2 - 64) throw new IllegalStateException("more than ~1e9 tokens in one dataset are not supported");
                tokens = Arrays.copyOf(tokens, size * 2);
                bits = Arrays.copyOf(bits, size * 2 / 64);
            }
            tokens[size] = id;
            if (target) bits[size >>> 6] |= 1L << size;
            size++;
        }

        LoadReport report(CacheStatus status) {
            return new LoadReport(lines, examples, size, truncated, droppedNoTargets, skipped, status);
        }

        TokenizedDataset build(int eos) {
            return new TokenizedDataset(Arrays.copyOf(tokens, size), Arrays.copyOf(offsets, examples + 1),
                    Arrays.copyOf(bits, (size + 63) / 64), maxSeqLen, eos, report(CacheStatus.BUILT));
        }
    }
}
