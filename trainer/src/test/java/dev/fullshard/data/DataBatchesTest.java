package dev.fullshard.data;

import dev.fullshard.data.DataFixtures.CountingEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static dev.fullshard.data.DataFixtures.jsonl;
import static dev.fullshard.data.DataFixtures.options;
import static dev.fullshard.data.TokenizedDataset.IGNORE_INDEX;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Sequences, shifted targets, shuffling and resuming, checked against a plain rebuild from the examples. */
class DataBatchesTest {
    static final int SEQ = 128;
    @TempDir
    static Path dir;
    static TokenizedDataset data;

    @BeforeAll
    static void load() {
        try (CountingEncoder tok = new CountingEncoder(dir)) {
            // 37 examples of ~20 to ~45 tokens: three or four to a packed sequence.
            List<String> lines = IntStream.range(0, 37).mapToObj(i -> "{\"instruction\": \"Repeat " + (1 + i % 7) + " times: w" + i
                    + "\", \"output\": \"" + ("w" + i + " ").repeat(1 + i % 7).strip() + "\"}").toList();
            data = TokenizedDataset.load(List.of(jsonl(dir, "train.jsonl", lines)), tok, options(dir, DataFormat.INSTRUCTION, SEQ));
        }
        assertThat(data.size()).isEqualTo(37);
        assertThat(data.report().truncated()).isZero();
    }

    @AfterAll
    static void release() {
        data = null;
    }

    private static TrainingData training(boolean packing, int micro, long seed) {
        return TrainingData.of(data, new TrainingData.Options(micro, packing, true, seed));
    }

    /** The row a sequence must become, built independently: examples back to back, labels shifted within each. */
    private static long[][] expectedRow(TrainingData td, int sequence) {
        long[] tokens = new long[SEQ], targets = new long[SEQ];
        Arrays.fill(tokens, data.eosId());
        Arrays.fill(targets, IGNORE_INDEX);
        int at = 0;
        for (int e : td.examplesOf(sequence)) {
            long[] t = data.tokens(e), l = data.labels(e);
            System.arraycopy(t, 0, tokens, at, t.length);
            System.arraycopy(l, 1, targets, at, l.length - 1); // targets[t] = labels[t+1]; the last stays -100
            at += t.length;
        }
        return new long[][] {tokens, targets};
    }

    private static List<MicroBatch> epoch(TrainingData td, int epoch) {
        List<MicroBatch> out = new ArrayList<>();
        DataPosition p = new DataPosition(epoch, 0);
        do {
            MicroBatch m = td.microBatch(p);
            out.add(m);
            p = m.next();
        } while (p.epoch() == epoch);
        return out;
    }

    @ParameterizedTest(name = "packing {0}")
    @ValueSource(booleans = {true, false})
    void rowsAreTheExamplesOfEachSequenceWithShiftedTargets(boolean packing) {
        TrainingData td = training(packing, 4, 7);
        List<Integer> seen = new ArrayList<>();
        for (int s = 0; s < td.sequencesPerEpoch(); s++) {
            int[] ex = td.examplesOf(s);
            if (!packing) assertThat(ex).hasSize(1);
            assertThat(Arrays.stream(ex).map(data::length).sum()).isLessThanOrEqualTo(SEQ);
            for (int e : ex) seen.add(e);
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(IntStream.range(0, data.size()).boxed().toList());
        if (packing) assertThat(td.sequencesPerEpoch()).isLessThan(data.size() / 2);
        else assertThat(td.sequencesPerEpoch()).isEqualTo(data.size());

        int[] order = td.order(0);
        List<MicroBatch> batches = epoch(td, 0);
        assertThat(batches).hasSize(td.microBatchesPerEpoch());
        int row = 0;
        for (MicroBatch m : batches) {
            assertThat(m.tokens()).hasSize(4 * SEQ);
            assertThat(m.targets()).hasSize(4 * SEQ);
            for (int r = 0; r < 4; r++, row++) {
                long[] tokens = Arrays.copyOfRange(m.tokens(), r * SEQ, (r + 1) * SEQ);
                long[] targets = Arrays.copyOfRange(m.targets(), r * SEQ, (r + 1) * SEQ);
                if (row < order.length) {
                    long[][] want = expectedRow(td, order[row]);
                    assertThat(tokens).containsExactly(want[0]);
                    assertThat(targets).containsExactly(want[1]);
                } else {
                    // Filler rows of the epoch's last micro-batch: padding, nothing to learn.
                    assertThat(tokens).containsOnly(data.eosId());
                    assertThat(targets).containsOnly(IGNORE_INDEX);
                }
            }
            assertThat(m.targetTokens()).isEqualTo(Arrays.stream(m.targets()).filter(t -> t != IGNORE_INDEX).count());
        }
        assertThat(batches.getLast().sequences()).isEqualTo(order.length - 4 * (batches.size() - 1));
    }

    @Test
    void noTargetCrossesAnExampleBoundaryAndPaddingIsIgnored() {
        TrainingData td = training(true, 1, 3);
        for (int s = 0; s < td.sequencesPerEpoch(); s++) {
            MicroBatch m = td.microBatch(new DataPosition(0, indexOf(td.order(0), s)));
            int at = 0;
            for (int e : td.examplesOf(s)) {
                at += data.length(e);
                assertThat(m.targets()[at - 1]).as("last token of example %d", e).isEqualTo(IGNORE_INDEX);
            }
            for (int t = at; t < SEQ; t++) {
                assertThat(m.tokens()[t]).isEqualTo(data.eosId());
                assertThat(m.targets()[t]).isEqualTo(IGNORE_INDEX);
            }
        }
    }

    @Test
    void targetCountsOverAnEpochAreEveryResponseTokenOnce() {
        long expected = 0;
        for (int e = 0; e < data.size(); e++) expected += Arrays.stream(data.labels(e)).skip(1).filter(l -> l != IGNORE_INDEX).count();
        for (boolean packing : new boolean[] {true, false}) {
            assertThat(epoch(training(packing, 3, 1), 0).stream().mapToLong(MicroBatch::targetTokens).sum()).isEqualTo(expected);
        }
    }

    @Test
    void shufflingIsDeterministicPerSeedAndEpoch() {
        TrainingData a = training(true, 2, 42), b = training(true, 2, 42), c = training(true, 2, 43);
        assertThat(a.order(0)).containsExactly(b.order(0));
        assertThat(a.order(5)).containsExactly(b.order(5));
        assertThat(a.order(1)).isNotEqualTo(a.order(0));
        for (int e = 0; e < 3; e++) {
            assertThat(a.order(e)).containsExactlyInAnyOrder(IntStream.range(0, a.sequencesPerEpoch()).toArray());
        }
        assertThat(training(false, 2, 42).order(0)).isNotEqualTo(training(false, 2, 43).order(0));
        assertThat(c.order(0)).isNotEqualTo(a.order(0));
        // The algorithm is ours (SplitMix64 + Fisher-Yates), so this holds on every JDK and machine.
        assertThat(TrainingData.permutation(10, 42, 0)).containsExactly(GOLDEN);
        TrainingData plain = TrainingData.of(data, new TrainingData.Options(2, false, false, 42));
        assertThat(plain.order(3)).containsExactly(IntStream.range(0, data.size()).toArray());
    }

    /** Permutation of 10 for seed 42, epoch 0, as first computed: a change here reshuffles every resumed run. */
    static final int[] GOLDEN = {9, 2, 3, 8, 0, 7, 1, 4, 6, 5};

    @Test
    void resumingFromASavedPositionContinuesTheUnbrokenStream() {
        TrainingData td = training(true, 3, 11);
        List<MicroBatch> unbroken = new ArrayList<>();
        DataPosition p = DataPosition.START;
        for (int i = 0; i < 3 * td.microBatchesPerEpoch(); i++) {
            MicroBatch m = td.microBatch(p);
            unbroken.add(m);
            p = m.next();
        }
        assertThat(p).isEqualTo(new DataPosition(3, 0));
        for (int k : new int[] {1, td.microBatchesPerEpoch() - 1, td.microBatchesPerEpoch(), td.microBatchesPerEpoch() + 2}) {
            DataPosition saved = unbroken.get(k - 1).next();
            TrainingData restarted = training(true, 3, 11); // a new process: same data, same options
            DataPosition q = new DataPosition(saved.epoch(), saved.sequence());
            for (int i = k; i < unbroken.size(); i++) {
                MicroBatch m = restarted.microBatch(q);
                assertThat(m.tokens()).as("micro-batch %d after resuming at %d", i, k).containsExactly(unbroken.get(i).tokens());
                assertThat(m.targets()).containsExactly(unbroken.get(i).targets());
                assertThat(m.position()).isEqualTo(unbroken.get(i).position());
                q = m.next();
            }
        }
        assertThatThrownBy(() -> td.microBatch(new DataPosition(0, td.sequencesPerEpoch() + 1))).hasMessageContaining("past the end");
    }

    @Test
    void stepsStayWithinAnEpoch() {
        TrainingData td = training(false, 2, 5); // 37 sequences: 19 micro-batches
        assertThat(td.microBatchesPerEpoch()).isEqualTo(19);
        assertThat(td.stepsPerEpoch(2, 4)).isEqualTo(5);
        List<Integer> sizes = new ArrayList<>();
        DataPosition p = DataPosition.START;
        while (p.epoch() == 0) {
            List<MicroBatch> step = td.step(p, 4);
            sizes.add(step.size());
            p = step.getLast().next();
        }
        assertThat(sizes).containsExactly(4, 4, 4, 4, 3);
        assertThat(p).isEqualTo(new DataPosition(1, 0));
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        throw new AssertionError(v + " not in the order");
    }
}
