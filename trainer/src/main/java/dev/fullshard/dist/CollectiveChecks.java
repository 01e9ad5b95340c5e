package dev.fullshard.dist;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The argument checks every {@link Communicator} makes before a collective, so that a bad call fails
 * where it is made, with the same message at any world size (a shape bug must not wait for a run on
 * several ranks to show). Each throws {@link IllegalArgumentException} naming the collective and the
 * tensors.
 */
final class CollectiveChecks {
    private CollectiveChecks() {
    }

    /** {@code t} is a contiguous CPU tensor, so its elements are one block of memory MPI can read. */
    static void cpuContiguous(String collective, Tensor t) {
        if (t.device().type() != Device.Type.CPU) throw new IllegalArgumentException(collective + ": " + t.describe() + " is not on the CPU");
        if (!t.isContiguous()) throw new IllegalArgumentException(collective + ": " + t.describe() + " is not contiguous");
    }

    /** {@code t} is a contiguous CPU tensor the collective may write (not a read-only memory map). */
    static void writableCpuContiguous(String collective, Tensor t) {
        cpuContiguous(collective, t);
        if (t.isReadOnly()) throw new IllegalArgumentException(collective + ": " + t.describe() + " views read-only memory and cannot receive the result");
    }

    static void root(int root, int size) {
        if (root < 0 || root >= size) throw new IllegalArgumentException("root " + root + " out of range for world size " + size);
    }

    /**
     * Checks an all-gather of {@code shard} into {@code full} on rank {@code rank} of {@code size} and says
     * whether it is in place: {@code shard} is then {@code full}'s own slice at this rank (nothing to copy
     * in); otherwise the two must not overlap.
     */
    static boolean allGather(Tensor shard, Tensor full, int rank, int size) {
        cpuContiguous("allGather", shard);
        writableCpuContiguous("allGather", full);
        shardOfFull("allGather", shard, full, size);
        MemorySegment s = shard.dataSegment();
        MemorySegment f = full.dataSegment();
        if (s.byteSize() > 0 && s.address() == f.address() + rank * s.byteSize()) return true;
        noOverlap("allGather: shard and full share memory but shard is not full's slice at this rank", s, f, full, shard);
        return false;
    }

    /** Checks a reduce-scatter sum of {@code full} into {@code shard} over {@code size} ranks. */
    static void reduceScatterSum(Tensor full, Tensor shard, int size) {
        cpuContiguous("reduceScatterSum", full);
        writableCpuContiguous("reduceScatterSum", shard);
        shardOfFull("reduceScatterSum", shard, full, size);
        DType dtype = full.dtype();
        if (dtype != DType.F32 && dtype != DType.F64 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("reduceScatterSum: dtype " + dtype + " is not supported (float32, float64, bfloat16, float16): "
                    + describe(full, shard));
        }
        noOverlap("reduceScatterSum: shard and full share memory (full must stay unchanged)", shard.dataSegment(), full.dataSegment(), full, shard);
    }

    /** What an all-gather and a reduce-scatter share: {@code full} holds {@code size} shards of {@code shard}'s dtype. */
    private static void shardOfFull(String collective, Tensor shard, Tensor full, int size) {
        if (shard.dtype() != full.dtype()) {
            throw new IllegalArgumentException(collective + ": shard and full differ in dtype: " + describe(full, shard));
        }
        if (full.numel() != size * shard.numel()) {
            throw new IllegalArgumentException(collective + ": full must hold world size × shard elements = " + size + " × " + shard.numel()
                    + " = " + size * shard.numel() + ", it holds " + full.numel() + ": " + describe(full, shard));
        }
    }

    private static void noOverlap(String problem, MemorySegment s, MemorySegment f, Tensor full, Tensor shard) {
        boolean overlap = s.byteSize() > 0 && f.byteSize() > 0
                && s.address() < f.address() + f.byteSize() && f.address() < s.address() + s.byteSize();
        if (overlap) throw new IllegalArgumentException(problem + ": " + describe(full, shard));
    }

    private static String describe(Tensor full, Tensor shard) {
        return "full " + full.describe() + ", shard " + shard.describe();
    }
}
