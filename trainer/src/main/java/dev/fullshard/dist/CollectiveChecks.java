package dev.fullshard.dist;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

/**
 * The argument checks every {@link Communicator} makes before a collective, so that a bad call fails
 * where it is made, with the same message at any world size (a shape bug must not wait for a run on
 * several ranks to show). Each throws {@link IllegalArgumentException} naming the collective and the
 * tensors.
 */
final class CollectiveChecks {
    private CollectiveChecks() {
    }

    /** {@code t} is a contiguous tensor on {@code device}, so its elements are one block of memory the library can read. */
    static void contiguousOn(String collective, Tensor t, Device device) {
        if (!t.device().equals(device)) {
            throw new IllegalArgumentException(collective + ": " + t.describe() + " is not on " + device + ", the communicator's device");
        }
        if (!t.isContiguous()) throw new IllegalArgumentException(collective + ": " + t.describe() + " is not contiguous");
    }

    /** {@code t} is a contiguous tensor on {@code device} the collective may write (not a read-only memory map). */
    static void writableContiguousOn(String collective, Tensor t, Device device) {
        contiguousOn(collective, t, device);
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
    static boolean allGather(Tensor shard, Tensor full, int rank, int size, Device device) {
        contiguousOn("allGather", shard, device);
        writableContiguousOn("allGather", full, device);
        shardOfFull("allGather", shard, full, size);
        Span s = Span.of(shard), f = Span.of(full);
        if (s.bytes() > 0 && s.address() == f.address() + rank * s.bytes()) return true;
        noOverlap("allGather: shard and full share memory but shard is not full's slice at this rank", s, f, full, shard);
        return false;
    }

    /** Checks a reduce-scatter sum of {@code full} into {@code shard} over {@code size} ranks. */
    static void reduceScatterSum(Tensor full, Tensor shard, int size, Device device) {
        contiguousOn("reduceScatterSum", full, device);
        writableContiguousOn("reduceScatterSum", shard, device);
        shardOfFull("reduceScatterSum", shard, full, size);
        DType dtype = full.dtype();
        if (dtype != DType.F32 && dtype != DType.F64 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("reduceScatterSum: dtype " + dtype + " is not supported (float32, float64, bfloat16, float16): "
                    + describe(full, shard));
        }
        noOverlap("reduceScatterSum: shard and full share memory (full must stay unchanged)", Span.of(shard), Span.of(full), full, shard);
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

    /** A contiguous tensor's bytes, by address: host or device memory alike. */
    private record Span(long address, long bytes) {
        static Span of(Tensor t) {
            return new Span(t.dataPointer().address(), t.numel() * t.dtype().byteSize());
        }
    }

    private static void noOverlap(String problem, Span s, Span f, Tensor full, Tensor shard) {
        boolean overlap = s.bytes() > 0 && f.bytes() > 0
                && s.address() < f.address() + f.bytes() && f.address() < s.address() + s.bytes();
        if (overlap) throw new IllegalArgumentException(problem + ": " + describe(full, shard));
    }

    private static String describe(Tensor full, Tensor shard) {
        return "full " + full.describe() + ", shard " + shard.describe();
    }
}
