package dev.fullshard.dist;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The MPI communicator in real processes under {@code mpiexec -n N}, checked against values computed in Java. */
class MpiCommunicatorTest {
    @TempDir
    Path tmp;

    @Test
    void twoRanksAllReduceF32F64Bf16ArraysAndBroadcastExactly() throws Exception {
        DistMpiProcesses.Run run = DistMpiProcesses.run(2, tmp.resolve("allreduce.log"), 180, "allreduce");
        System.out.println(run.output());
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).as(run.output()).contains("RANK 0 OK of 2").contains("RANK 1 OK of 2");
    }

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 3})
    void allGatherReduceScatterAndAsyncCollectivesMatchJava(int ranks) throws Exception {
        DistMpiProcesses.Run run = DistMpiProcesses.run(ranks, tmp.resolve("collectives-" + ranks + ".log"), 240, "collectives");
        System.out.println(run.output());
        assertThat(run.exitCode()).as(run.output()).isZero();
        for (int r = 0; r < ranks; r++) assertThat(run.output()).as(run.output()).contains("RANK " + r + " OK of " + ranks);
    }

    @Test
    void theEnvironmentPicksTheCommunicator() {
        assertThat(Communicators.fromEnvironment(Map.of())).isSameAs(LocalCommunicator.INSTANCE);
        assertThat(Communicators.fromEnvironment(Map.of("WORLD_SIZE", "1"))).isSameAs(LocalCommunicator.INSTANCE);
        assertThat(Communicators.fromEnvironment(Map.of("PMI_SIZE", "1"))).isSameAs(LocalCommunicator.INSTANCE);
        assertThat(Communicators.worldSize(Map.of("WORLD_SIZE", "4", "PMI_SIZE", "2"))).isEqualTo(4);
        assertThat(Communicators.worldSize(Map.of("PMI_SIZE", "2"))).isEqualTo(2);
        assertThatThrownBy(() -> Communicators.worldSize(Map.of("WORLD_SIZE", "two"))).hasMessageContaining("WORLD_SIZE=two");
    }
}
