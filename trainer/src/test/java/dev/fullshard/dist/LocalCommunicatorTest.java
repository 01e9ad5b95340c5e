package dev.fullshard.dist;

import dev.fullshard.dist.Communicator.Pending;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertAll;

/**
 * World size 1: all-gather and reduce-scatter copy, every collective is complete when it returns, and
 * bad arguments are refused as on several ranks (checked here for world size 2 too, without MPI).
 */
@ExtendWith(NoLeakedTensors.class)
class LocalCommunicatorTest {
    private final Communicator comm = LocalCommunicator.INSTANCE;

    private static Tensor zeros(DType dtype, long... shape) {
        return Tensor.zeros(dtype, Device.CPU, shape);
    }

    @Test
    void allGatherCopiesTheOneShardIntoFullBitForBitInAnyDtype() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor full = zeros(DType.F32, 4);
            Pending pending = comm.allGatherAsync(Tensor.of(new float[] {1, -2.5f, 3e-3f, 7}, 2, 2), full);
            assertThat(full.toFloatArray()).as("complete when issued").containsExactly(1, -2.5f, 3e-3f, 7);
            pending.await();
            pending.await();

            short[] bits = {0x3f80, (short) 0xc020, 0x7fc1}; // 1, -2.5, a NaN with a payload
            Tensor fullBf16 = zeros(DType.BF16, 1, 3);
            comm.allGather(Tensor.ofHalfBits(bits, DType.BF16, 3), fullBf16);
            assertThat(fullBf16.toHalfBits()).containsExactly(bits);

            long[] longs = {Long.MIN_VALUE, 0, 42, Long.MAX_VALUE};
            Tensor fullI64 = zeros(DType.I64, 4);
            comm.allGather(Tensor.of(longs, 4), fullI64);
            assertThat(fullI64.toLongArray()).containsExactly(longs);

            comm.allGather(full.view(2, 2), full); // in place: the shard is the whole of full
            assertThat(full.toFloatArray()).containsExactly(1, -2.5f, 3e-3f, 7);
        }
    }

    @Test
    void reduceScatterSumCopiesFullIntoTheShardAndLeavesFullUnchanged() {
        try (TensorScope ignored = TensorScope.open()) {
            float[] values = {0.1f, -3, 1e6f, 2.5e-7f};
            Tensor full = Tensor.of(values, 2, 2);
            Tensor shard = zeros(DType.F32, 4);
            comm.reduceScatterSumAsync(full, shard).await();
            assertThat(shard.toFloatArray()).containsExactly(values);
            assertThat(full.toFloatArray()).containsExactly(values);

            Tensor fullBf16 = Tensor.of(values, 4).to(DType.BF16);
            Tensor shardBf16 = zeros(DType.BF16, 4);
            comm.reduceScatterSum(fullBf16, shardBf16);
            assertThat(shardBf16.toHalfBits()).containsExactly(fullBf16.toHalfBits());

            Tensor shardF64 = zeros(DType.F64, 4);
            comm.reduceScatterSum(Tensor.of(new double[] {1e-300, 2, 3, 4}, 4), shardF64);
            assertThat(shardF64.toDoubleArray()).containsExactly(1e-300, 2, 3, 4);
        }
    }

    @Test
    void allReduceSumAsyncLeavesTheTensorAndIsComplete() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor t = Tensor.of(new float[] {1, 2, 3}, 3);
            comm.allReduceSumAsync(t).await();
            comm.allReduceSum(t);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3);
        }
    }

    @Test
    void badArgumentsAreRefusedAtOnceNamingTheCollectiveAndTheTensors() {
        try (TensorScope ignored = TensorScope.open(); Arena arena = Arena.ofConfined()) {
            Tensor shard = Tensor.of(new float[] {1, 2, 3}, 3);
            assertAll(
                    () -> refused(() -> comm.allGatherAsync(shard, zeros(DType.F32, 4)), "allGather", "full must hold", "[3] float32 cpu", "[4] float32 cpu"),
                    () -> refused(() -> comm.reduceScatterSumAsync(zeros(DType.F32, 2), shard), "reduceScatterSum", "[2] float32 cpu"),
                    () -> refused(() -> comm.allGatherAsync(shard, zeros(DType.BF16, 3)), "allGather", "differ in dtype", "[3] bfloat16 cpu"),
                    () -> refused(() -> comm.reduceScatterSumAsync(zeros(DType.F32, 3), zeros(DType.F64, 3)), "reduceScatterSum", "differ in dtype"),
                    () -> refused(() -> comm.allGatherAsync(Tensor.of(new float[6], 2, 3).transpose(0, 1), zeros(DType.F32, 6)),
                            "allGather", "not contiguous", "[3, 2] float32 cpu"),
                    () -> refused(() -> comm.reduceScatterSumAsync(zeros(DType.F32, 2, 3).transpose(0, 1), zeros(DType.F32, 6)),
                            "reduceScatterSum", "not contiguous"),
                    () -> refused(() -> comm.reduceScatterSumAsync(zeros(DType.I64, 3), zeros(DType.I64, 3)), "reduceScatterSum", "int64 is not supported"),
                    () -> {
                        Tensor full = zeros(DType.F32, 3);
                        refused(() -> comm.reduceScatterSumAsync(full, full.view(3)), "reduceScatterSum", "share memory");
                    },
                    () -> refused(() -> comm.allGatherAsync(shard, Tensor.wrap(arena.allocate(12, 4).asReadOnly(), DType.F32, 3)),
                            "allGather", "read-only"));
        }
    }

    @Test
    void worldSizeTwoArgumentsAreCheckedWithoutMpi() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor full = zeros(DType.F32, 2, 3);
            assertThat(CollectiveChecks.allGather(zeros(DType.F32, 3), full, 1, 2, Device.CPU)).as("separate shard").isFalse();
            assertThat(CollectiveChecks.allGather(full.narrow(0, 1, 1), full, 1, 2, Device.CPU)).as("rank 1's slice at rank 1: in place").isTrue();
            assertAll(
                    () -> refused(() -> CollectiveChecks.allGather(full.narrow(0, 0, 1), full, 1, 2, Device.CPU), "allGather", "not full's slice at this rank"),
                    () -> refused(() -> CollectiveChecks.allGather(zeros(DType.F32, 6), full, 0, 2, Device.CPU), "allGather", "2 × 6 = 12, it holds 6"),
                    () -> refused(() -> CollectiveChecks.reduceScatterSum(full, zeros(DType.F32, 2), 2, Device.CPU), "reduceScatterSum", "2 × 2 = 4, it holds 6"),
                    () -> refused(() -> CollectiveChecks.reduceScatterSum(full, full.narrow(0, 1, 1), 2, Device.CPU), "reduceScatterSum", "share memory"));
            CollectiveChecks.reduceScatterSum(full, zeros(DType.F32, 3), 2, Device.CPU);
        }
    }

    private static void refused(ThrowingCallable call, String... messageParts) {
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).message().contains(messageParts);
    }
}
