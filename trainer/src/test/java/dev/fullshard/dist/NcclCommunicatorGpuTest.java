package dev.fullshard.dist;

import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * NCCL with one rank on GPU 0 (skipped without a GPU; {@code scripts/gpu-check.sh} runs it on a GPU machine).
 * One GPU cannot show a sum over ranks, so these check what one rank can: results land where the contract
 * says, ordered after the kernels that produced the input and before the reads that follow the await, in
 * every dtype the trainer sends, and wrong arguments fail at the call.
 */
class NcclCommunicatorGpuTest {
    private static final Device GPU = Device.cuda(0);

    @BeforeAll
    static void needsAGpu() {
        assumeTrue(CudaLibraries.available(), "no CUDA GPU here");
        Cuda.setDevice(GPU);
    }

    @Test
    void collectivesOfOneRankRunOnTheGpuInStreamOrder() {
        long live = Tensor.liveCount();
        try (NcclCommunicator comm = NcclCommunicator.init(Map.of(), GPU); TensorScope ignored = TensorScope.open()) {
            assertThat(comm.rank()).isZero();
            assertThat(comm.size()).isEqualTo(1);
            assertThat(comm.device()).isEqualTo(GPU);
            // A large product queued just before: the collective must wait for it, and the read for the collective.
            Tensor x = Tensor.randn(1, DType.F32, GPU, 2048, 2048);
            Tensor y = Matmul.mm(x, x);
            float[] expected = y.toFloatArray();
            Tensor z = Matmul.mm(x, x);
            comm.allReduceSumAsync(z).await();
            assertThat(z.toFloatArray()).containsExactly(expected);

            for (DType d : new DType[]{DType.F32, DType.BF16, DType.F16, DType.F64}) {
                Tensor shard = Tensor.randn(2, DType.F32, GPU, 1000).to(d), full = Tensor.zeros(d, GPU, 1000);
                comm.allGather(shard, full);
                assertThat(full.toFloatArray()).as("allGather %s", d).containsExactly(shard.toFloatArray());
                Tensor back = Tensor.zeros(d, GPU, 1000);
                comm.reduceScatterSum(full, back);
                assertThat(back.toFloatArray()).as("reduceScatterSum %s", d).containsExactly(shard.toFloatArray());
            }
            Tensor inPlace = Tensor.randn(3, DType.BF16, GPU, 64);
            float[] before = inPlace.toFloatArray();
            comm.allGather(inPlace.narrow(0, 0, 64), inPlace);
            assertThat(inPlace.toFloatArray()).containsExactly(before);

            double[] values = {1.5, -2.25, 1e300};
            comm.allReduceSum(values);
            assertThat(values).containsExactly(1.5, -2.25, 1e300);
            long[] counts = {Long.MAX_VALUE - 1, 7};
            comm.allReduceSum(counts);
            assertThat(counts).containsExactly(Long.MAX_VALUE - 1, 7);
            comm.broadcast(values, 0);
            comm.barrier();

            assertThatThrownBy(() -> comm.allReduceSum(Tensor.zeros(DType.F32, Device.CPU, 4)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not on cuda:0");
            assertThatThrownBy(() -> comm.allGather(Tensor.zeros(DType.F32, GPU, 3), Tensor.zeros(DType.F32, GPU, 4)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("allGather");
        }
        assertThat(Tensor.liveCount()).as("tensor handles left open").isEqualTo(live);
    }

    @Test
    void aClosedCommunicatorRefusesWork() {
        NcclCommunicator comm = NcclCommunicator.init(Map.of(), GPU);
        comm.close();
        comm.close();
        try (TensorScope ignored = TensorScope.open()) {
            assertThatThrownBy(() -> comm.allReduceSum(Tensor.zeros(DType.F32, GPU, 4))).hasMessageContaining("closed");
        }
    }

    /** hybrid_shard's groups: a split of one rank is a group of one, whose collectives share the parent's stream order. */
    @Test
    void aSplitGroupRunsInTheParentsStreamOrder() {
        long live = Tensor.liveCount();
        try (NcclCommunicator comm = NcclCommunicator.init(Map.of(), GPU); TensorScope ignored = TensorScope.open()) {
            try (NcclCommunicator group = comm.split(0, 0)) {
                assertThat(List.of(group.rank(), group.size())).containsExactly(0, 1);
                Tensor x = Tensor.randn(4, DType.F32, GPU, 1024, 1024);
                float[] expected = Matmul.mm(x, x).toFloatArray();
                Tensor y = Matmul.mm(x, x);
                Communicator.Pending inGroup = group.allReduceSumAsync(y);
                Tensor full = Tensor.zeros(DType.F32, GPU, 1024 * 1024);
                Communicator.Pending inWorld = comm.allGatherAsync(y.reshape(-1), full);
                inGroup.await();
                inWorld.await();
                assertThat(full.toFloatArray()).containsExactly(expected);
            }
            assertThatThrownBy(() -> comm.split(-1, 0)).hasMessageContaining("color must be ≥ 0");
        }
        assertThat(Tensor.liveCount()).isEqualTo(live);
    }
}
