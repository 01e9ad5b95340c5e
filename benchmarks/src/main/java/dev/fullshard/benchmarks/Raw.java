package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.bindings.TorchStable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What the "raw" benchmarks use instead of the tensor layer: libtorch handles made directly with
 * {@code aoti_torch_empty_strided}, return-code checks, and the thread set-up check every fork runs.
 */
final class Raw {
    /** {@code torch_call_dispatcher}'s version argument: TORCH_ABI_VERSION of 2.10.0. */
    static final long SCHEMA_VERSION = (2L << 56) | (10L << 48);

    private Raw() {
    }

    /**
     * Loads libtorch in this (forked) JVM and checks that {@code -Dfullshard.threads=N} from the
     * benchmark's {@code @Fork} became OMP/OpenBLAS's environment and libtorch's intra-op pool size.
     */
    static void load() {
        String threads = System.getProperty("fullshard.threads");
        if (threads == null) {
            throw new IllegalStateException("run the benchmarks forked (-f 1): the thread count comes from @Fork's -Dfullshard.threads");
        }
        TorchLibrary.Loaded loaded = TorchLibrary.load();
        String expected = "OMP_NUM_THREADS=" + threads + " OPENBLAS_NUM_THREADS=" + threads;
        // The loader may append its spin settings (GOMP_SPINCOUNT, OPENBLAS_THREAD_TIMEOUT) after the counts.
        if (!(loaded.threadEnvironment() + " ").startsWith(expected + " ")) {
            throw new IllegalStateException("thread environment is '" + loaded.threadEnvironment() + "', wanted '" + expected
                    + "': unset OMP_NUM_THREADS and OPENBLAS_NUM_THREADS (benchmarks/run does)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check(TorchStable.torch_get_num_threads(out), "torch_get_num_threads");
            if (out.get(JAVA_INT, 0) != Integer.parseInt(threads)) {
                throw new IllegalStateException("libtorch uses " + out.get(JAVA_INT, 0) + " intra-op threads, wanted " + threads);
            }
        }
        System.out.println("# fullshard: " + loaded.version() + " (" + loaded.source() + "), " + expected
                + ", torch_get_num_threads=" + threads);
    }

    static void check(int rc, String function) {
        if (rc != 0) throw new IllegalStateException(function + " failed with code " + rc);
    }

    /** A new contiguous CPU float32 tensor holding {@code data}; the caller deletes the handle. */
    static MemorySegment tensor(float[] data, long... shape) {
        long[] strides = new long[shape.length];
        long n = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = n;
            n *= shape[i];
        }
        if (n != data.length) throw new IllegalArgumentException("shape does not match the data");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(TorchStable.aoti_torch_empty_strided(shape.length, arena.allocateFrom(JAVA_LONG, shape),
                    arena.allocateFrom(JAVA_LONG, strides), TorchStable.aoti_torch_dtype_float32(),
                    TorchStable.aoti_torch_device_type_cpu(), 0, out), "aoti_torch_empty_strided");
            MemorySegment handle = MemorySegment.ofAddress(out.get(JAVA_LONG, 0));
            check(TorchStable.aoti_torch_get_data_ptr(handle, out), "aoti_torch_get_data_ptr");
            MemorySegment.copy(MemorySegment.ofArray(data), 0, out.get(ADDRESS, 0).reinterpret(4L * n), 0, 4L * n);
            return handle;
        }
    }

    /** The elements of a contiguous float32 tensor (for the set-up sanity checks). */
    static float[] read(MemorySegment handle, int n) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(TorchStable.aoti_torch_get_data_ptr(handle, out), "aoti_torch_get_data_ptr");
            return out.get(ADDRESS, 0).reinterpret(4L * n).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    static void delete(MemorySegment handle) {
        check(TorchStable.aoti_torch_delete_tensor_object(handle), "aoti_torch_delete_tensor_object");
    }

    /** Deletes the tensor whose handle an out-parameter or dispatcher slot holds. */
    static void deleteAt(MemorySegment cell) {
        delete(MemorySegment.ofAddress(cell.get(JAVA_LONG, 0)));
    }

    static float[] gaussian(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float) random.nextGaussian();
        return data;
    }

    /**
     * A two-tensor ATen operator called through {@code torch_call_dispatcher} with no wrapper. The
     * dispatcher consumes the handles on its stack, so each call puts a fresh handle in each slot; the
     * result comes back in slot 0. Owns (and deletes on close) its two operand handles.
     */
    static final class DispatcherCall implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final String name;
        private final MemorySegment opName;
        private final MemorySegment overload;
        private final MemorySegment stack;
        private final MemorySegment slot0;
        private final MemorySegment slot1;
        private final MemorySegment a;
        private final MemorySegment b;

        DispatcherCall(String op, String overload, MemorySegment a, MemorySegment b) {
            this.name = op + (overload.isEmpty() ? "" : "." + overload);
            this.opName = arena.allocateFrom(op);
            this.overload = arena.allocateFrom(overload);
            this.stack = arena.allocate(JAVA_LONG, 8);
            this.slot0 = stack.asSlice(0, 8);
            this.slot1 = stack.asSlice(8, 8);
            this.a = a;
            this.b = b;
        }

        /** Runs the operator and returns the result handle, which the caller deletes. */
        MemorySegment call() {
            check(TorchStable.aoti_torch_new_tensor_handle(a, slot0), "aoti_torch_new_tensor_handle");
            check(TorchStable.aoti_torch_new_tensor_handle(b, slot1), "aoti_torch_new_tensor_handle");
            check(TorchStable.torch_call_dispatcher(opName, overload, stack, SCHEMA_VERSION), "torch_call_dispatcher(" + name + ")");
            return MemorySegment.ofAddress(stack.get(JAVA_LONG, 0));
        }

        @Override
        public void close() {
            delete(a);
            delete(b);
            arena.close();
        }
    }
}
