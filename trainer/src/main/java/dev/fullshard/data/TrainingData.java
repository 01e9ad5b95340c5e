package dev.fullshard.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Examples as sequences of exactly {@code max_seq_len} tokens, in a deterministic shuffled order per
 * epoch, cut into micro-batches.
 *
 * <p><b>Sequences.</b> Without packing, each example is one sequence, padded with EOS. With packing,
 * examples are placed whole into sequences (best fit: each goes into the fullest sequence that still
 * has room, in a seed-determined order), and each sequence's tail is padded with EOS. An example is
 * never split; one longer than max_seq_len was already truncated at load.
 *
 * <p><b>Attention crosses packed examples.</b> The model has no document masks, so a token attends to
 * the earlier examples in its sequence, as with Hugging Face's default packing. Targets never cross:
 * the last token of each example has target -100, so the model is never trained to predict the next
 * example's first token from this one. The cost is a little context noise; the gain is no padding.
 *
 * <p><b>Order.</b> Sequence order in epoch {@code e} is a Fisher-Yates permutation drawn from SplitMix64
 * seeded with (seed, e), written out here so that it is the same on every machine and JDK. Every
 * sequence appears exactly once per epoch. Micro-batches never span epochs: an epoch's last one is
 * filled up with all-padding rows (no targets), so shapes stay fixed.
 */
public final class TrainingData {
    /**
     * @param microBatchSize sequences per micro-batch
     * @param packing        pack several examples per sequence
     * @param shuffle        shuffle per epoch (off for evaluation: file order)
     * @param seed           the shuffling seed
     */
    public record Options(int microBatchSize, boolean packing, boolean shuffle, long seed) {
        public Options {
            if (microBatchSize < 1) throw new IllegalArgumentException("micro_batch_size must be at least 1, got " + microBatchSize);
        }
    }

    private final TokenizedDataset data;
    private final Options options;
    private final int seqLen;
    private final int[] sequenceStarts; // sequence s holds examples members[sequenceStarts[s], sequenceStarts[s+1])
    private final int[] members;
    private int cachedEpoch = -1;
    private int[] cachedOrder;

    private TrainingData(TokenizedDataset data, Options options) {
        this.data = data;
        this.options = options;
        this.seqLen = data.maxSeqLen();
        int n = data.size();
        if (!options.packing) {
            members = new int[n];
            sequenceStarts = new int[n + 1];
            for (int i = 0; i < n; i++) {
                members[i] = i;
                sequenceStarts[i + 1] = i + 1;
            }
        } else {
            int[] order = options.shuffle ? permutation(n, options.seed, -1) : identity(n);
            List<List<Integer>> bins = pack(order);
            members = new int[n];
            sequenceStarts = new int[bins.size() + 1];
            int k = 0;
            for (int s = 0; s < bins.size(); s++) {
                for (int e : bins.get(s)) members[k++] = e;
                sequenceStarts[s + 1] = k;
            }
        }
    }

    public static TrainingData of(TokenizedDataset data, Options options) {
        return new TrainingData(data, options);
    }

    /** Best fit: each example goes into the open sequence with the least room that still fits it. */
    private List<List<Integer>> pack(int[] order) {
        List<List<Integer>> bins = new ArrayList<>();
        TreeMap<Integer, ArrayDeque<Integer>> byRoom = new TreeMap<>(); // room left -> bins (oldest first)
        for (int e : order) {
            int len = data.length(e);
            Map.Entry<Integer, ArrayDeque<Integer>> fit = byRoom.ceilingEntry(len);
            int bin;
            int room;
            if (fit == null) {
                bin = bins.size();
                bins.add(new ArrayList<>());
                room = seqLen;
            } else {
                room = fit.getKey();
                bin = fit.getValue().pollFirst();
                if (fit.getValue().isEmpty()) byRoom.remove(room);
            }
            bins.get(bin).add(e);
            int left = room - len;
            if (left > 0) byRoom.computeIfAbsent(left, r -> new ArrayDeque<>()).addLast(bin);
        }
        return bins;
    }

    public int seqLen() {
        return seqLen;
    }

    public int microBatchSize() {
        return options.microBatchSize;
    }

    public int sequencesPerEpoch() {
        return sequenceStarts.length - 1;
    }

    /** Micro-batches of this size in one epoch (the last one may be part padding). */
    public int microBatchesPerEpoch() {
        return Math.ceilDiv(sequencesPerEpoch(), options.microBatchSize);
    }

    /** Optimizer steps per epoch with {@code accumulation} micro-batches of {@code microBatch} sequences per step. */
    public long stepsPerEpoch(int microBatch, int accumulation) {
        if (microBatch < 1 || accumulation < 1) throw new IllegalArgumentException("micro batch and accumulation must be positive");
        return Math.ceilDiv((long) sequencesPerEpoch(), (long) microBatch * accumulation);
    }

    /** The examples (indices into the dataset) of one sequence, in their order within it. */
    public int[] examplesOf(int sequence) {
        return Arrays.copyOfRange(members, sequenceStarts[sequence], sequenceStarts[sequence + 1]);
    }

    /** Sequence indices in the order epoch {@code epoch} visits them. */
    public synchronized int[] order(int epoch) {
        if (epoch != cachedEpoch) {
            cachedOrder = options.shuffle ? permutation(sequencesPerEpoch(), options.seed, epoch) : identity(sequencesPerEpoch());
            cachedEpoch = epoch;
        }
        return cachedOrder.clone();
    }

    /** The micro-batch starting at {@code at}; its {@link MicroBatch#next()} is where the following one starts. */
    public MicroBatch microBatch(DataPosition at) {
        DataPosition p = normalize(at);
        int[] order = order(p.epoch());
        int b = options.microBatchSize, n = sequencesPerEpoch();
        int rows = Math.min(b, n - p.sequence());
        long[] tokens = new long[b * seqLen];
        long[] targets = new long[b * seqLen];
        Arrays.fill(tokens, data.eosId());
        Arrays.fill(targets, TokenizedDataset.IGNORE_INDEX);
        long count = 0;
        for (int r = 0; r < rows; r++) count += fill(order[p.sequence() + r], tokens, targets, r * seqLen);
        int nextSeq = p.sequence() + rows;
        DataPosition next = nextSeq >= n ? new DataPosition(p.epoch() + 1, 0) : new DataPosition(p.epoch(), nextSeq);
        return new MicroBatch(b, seqLen, tokens, targets, rows, count, p, next);
    }

    /**
     * The micro-batches of one optimizer step from {@code at}: {@code accumulation} of them, fewer when
     * the epoch ends first (a step never spans epochs). Normalise the step's loss by the sum of their
     * {@link MicroBatch#targetTokens()}.
     */
    public List<MicroBatch> step(DataPosition at, int accumulation) {
        List<MicroBatch> out = new ArrayList<>(accumulation);
        DataPosition p = normalize(at);
        for (int i = 0; i < accumulation; i++) {
            MicroBatch m = microBatch(p);
            out.add(m);
            p = m.next();
            if (p.epoch() != m.position().epoch()) break;
        }
        return out;
    }

    private DataPosition normalize(DataPosition at) {
        if (at.sequence() > sequencesPerEpoch()) {
            throw new IllegalArgumentException("data position " + at + " is past the end of an epoch of " + sequencesPerEpoch()
                    + " sequences: the data or its options changed since it was saved");
        }
        return at.sequence() == sequencesPerEpoch() ? new DataPosition(at.epoch() + 1, 0) : at;
    }

    /** Writes one sequence into a row; returns its target count. */
    private long fill(int sequence, long[] tokens, long[] targets, int rowStart) {
        int at = rowStart;
        long count = 0;
        for (int k = sequenceStarts[sequence]; k < sequenceStarts[sequence + 1]; k++) {
            int e = members[k], len = data.length(e);
            for (int t = 0; t < len; t++) {
                tokens[at + t] = data.token(e, t);
                // Shifted: position t predicts token t+1 of the same example; the last predicts nothing.
                if (t + 1 < len && data.isTarget(e, t + 1)) {
                    targets[at + t] = data.token(e, t + 1);
                    count++;
                }
            }
            at += len;
        }
        return count;
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    /** Fisher-Yates with SplitMix64 (Steele, Lea, Flood 2014), seeded from (seed, stream). */
    static int[] permutation(int n, long seed, long stream) {
        int[] a = identity(n);
        long state = mix64(seed ^ mix64(stream + 0x632BE59BD9B4E019L));
        for (int i = n - 1; i > 0; i--) {
            state += 0x9E3779B97F4A7C15L;
            int j = (int) Long.remainderUnsigned(mix64(state), i + 1L); // modulo bias < n/2^64: negligible
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
        return a;
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
