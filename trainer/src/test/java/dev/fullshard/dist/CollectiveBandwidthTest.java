package dev.fullshard.dist;

import dev.fullshard.dist.CollectiveBandwidth.Op;
import dev.fullshard.dist.CollectiveBandwidth.Row;
import dev.fullshard.tensor.NoLeakedTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The measurement's arithmetic and its result check; timings are only printed, never asserted. */
@ExtendWith(NoLeakedTensors.class)
class CollectiveBandwidthTest {
    @Test
    void busFactorsAreNcclTestsFormulas() {
        // nccl-tests doc/PERFORMANCE.md: all_reduce 2(n-1)/n, all_gather and reduce_scatter (n-1)/n, written out for n = 1, 2, 4, 8.
        int[] n = {1, 2, 4, 8};
        double[] allReduce = {0, 1, 1.5, 1.75}, gatherOrScatter = {0, 0.5, 0.75, 0.875};
        for (int i = 0; i < n.length; i++) {
            assertThat(Op.ALL_REDUCE.busFactor(n[i])).as("all_reduce at %d", n[i]).isEqualTo(allReduce[i]);
            assertThat(Op.ALL_GATHER.busFactor(n[i])).as("all_gather at %d", n[i]).isEqualTo(gatherOrScatter[i]);
            assertThat(Op.REDUCE_SCATTER.busFactor(n[i])).as("reduce_scatter at %d", n[i]).isEqualTo(gatherOrScatter[i]);
        }
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void everyOpIsRightAndCountsWholeChunksWhenTheSizeDoesNotDivide(int ranks) throws Exception {
        Map<String, Row> rows = new ConcurrentHashMap<>();
        ThreadRanks.run(ranks, comm -> {
            for (Op op : Op.values()) rows.put(op + "@" + comm.rank(), CollectiveBandwidth.measure(comm, op, 1024, 1, 2));
        });
        for (Op op : Op.values()) {
            Row row = rows.get(op + "@0");
            assertThat(row.wrongRanks()).as("%s", op).isEmpty();
            assertThat(row.problem()).isNull();
            // 256 float32 elements; the gathered and scattered buffers hold whole chunks of 256 / ranks.
            long count = op == Op.ALL_REDUCE ? 256 : 256 / ranks * ranks;
            assertThat(row.count()).as("%s", op).isEqualTo(count);
            assertThat(row.bytes()).isEqualTo(4 * count);
            assertThat(row.busBandwidth()).isCloseTo(row.algBandwidth() * op.busFactor(ranks), within(1e-6 * row.algBandwidth()));
            assertThat(row.algBandwidth()).isCloseTo(row.bytes() / row.seconds(), within(1e-6 * row.algBandwidth()));
            // every rank reports the same slowest time
            assertThat(rows.get(op + "@1").seconds()).isEqualTo(row.seconds());
        }
    }

    @ParameterizedTest
    @EnumSource(Op.class)
    void aWrongElementIsCaughtAndNamed(Op op) {
        Row row = CollectiveBandwidth.measure(new CorruptLastElement(LocalCommunicator.INSTANCE, 0), op, 4096, 0, 1);
        assertThat(row.checked()).isFalse();
        assertThat(row.wrongRanks()).containsExactly(0);
        assertThat(row.problem()).isEqualTo(op.label() + " of 4K on rank 0: 1 of 1024 elements wrong; the first, element 1023, is -7.0, expected 1.0");
    }

    @Test
    void everyRankLearnsWhichRankWasWrong() throws Exception {
        Map<Integer, Row> rows = new ConcurrentHashMap<>();
        ThreadRanks.run(2, comm -> rows.put(comm.rank(),
                CollectiveBandwidth.measure(new CorruptLastElement(comm, 1), Op.ALL_GATHER, 1024, 1, 2)));
        assertThat(rows.get(0).wrongRanks()).containsExactly(1);
        assertThat(rows.get(1).wrongRanks()).containsExactly(1);
        assertThat(rows.get(0).problem()).isNull();
        // chunk 1 (elements 128..255) holds rank 1's 2.0
        assertThat(rows.get(1).problem()).isEqualTo("all_gather of 1K on rank 1: 1 of 256 elements wrong; the first, element 255, is -7.0, expected 2.0");
    }

    @Test
    void theSizesFitTheFreeMemory() throws Exception {
        long fits = CollectiveBandwidth.largestFitting(LocalCommunicator.INSTANCE, 1L << 60, 1);
        assertThat(Long.bitCount(fits)).isEqualTo(1);
        assertThat(fits).isLessThan(1L << 50);
        assertThat(CollectiveBandwidth.largestFitting(LocalCommunicator.INSTANCE, 1024, 1)).isEqualTo(1024);
    }

    @Test
    void sizesAreLabelledInPowerOfTwoUnits() {
        assertThat(List.of(1024L, 1L << 20, 256L << 20, 1L << 30, 1020L, 1536L).stream().map(CollectiveBandwidth::bytesLabel))
                .containsExactly("1K", "1M", "256M", "1G", "1020", "1536");
    }
}
