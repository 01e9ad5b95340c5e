package dev.fullshard.dist;

import dev.fullshard.bindings.Mpi;
import dev.fullshard.bindings.MpiLibrary;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Ops;
import dev.fullshard.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code MPI_COMM_WORLD} of MPICH, through FFM. Collectives run in place on the tensors' own memory
 * ({@link Tensor#dataSegment()}); bf16/f16 tensors are reduced as float32 (MPICH 4.0.2 has no bf16 type
 * and aborts on f16 reductions). Use it from one thread (MPI is initialised with MPI_THREAD_FUNNELED).
 * Counts above 2³¹−1 elements are split into several calls.
 */
public final class MpiCommunicator implements Communicator {
    private static final long MAX_COUNT = Integer.MAX_VALUE;

    private final int rank;
    private final int size;
    private boolean closed;

    private MpiCommunicator(int rank, int size) {
        this.rank = rank;
        this.size = size;
    }

    /**
     * Initialises MPI (unless something already did) and returns the world. {@code expectedSize} is the
     * size the environment announced (0: don't check). Throws a clear error when MPICH is missing.
     */
    public static MpiCommunicator init(int expectedSize) {
        MpiLibrary.require(Math.max(expectedSize, 2));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flag = arena.allocate(JAVA_INT);
            Mpi.check(Mpi.MPI_Initialized(flag), "MPI_Initialized");
            if (flag.get(JAVA_INT, 0) == 0) {
                MemorySegment provided = arena.allocate(JAVA_INT);
                Mpi.check(Mpi.MPI_Init_thread(MemorySegment.NULL, MemorySegment.NULL, Mpi.MPI_THREAD_FUNNELED, provided), "MPI_Init_thread");
            }
            MemorySegment out = arena.allocate(JAVA_INT);
            Mpi.check(Mpi.MPI_Comm_rank(Mpi.MPI_COMM_WORLD, out), "MPI_Comm_rank");
            int rank = out.get(JAVA_INT, 0);
            Mpi.check(Mpi.MPI_Comm_size(Mpi.MPI_COMM_WORLD, out), "MPI_Comm_size");
            int size = out.get(JAVA_INT, 0);
            if (expectedSize > 0 && size != expectedSize) {
                throw new IllegalStateException("the environment says world size " + expectedSize + " but MPI_COMM_WORLD has " + size
                        + " ranks (was the process started by mpiexec or the fullshard launcher?)");
            }
            return new MpiCommunicator(rank, size);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void allReduceSum(Tensor t) {
        checkOpen();
        checkCpuContiguous(t, "allReduceSum");
        switch (t.dtype()) {
            case F32 -> allReduceInPlace(t.dataSegment(), t.numel(), Mpi.MPI_FLOAT, 4);
            case F64 -> allReduceInPlace(t.dataSegment(), t.numel(), Mpi.MPI_DOUBLE, 8);
            case I64 -> allReduceInPlace(t.dataSegment(), t.numel(), Mpi.MPI_LONG_LONG, 8);
            case BF16, F16 -> {
                try (Tensor f32 = t.to(DType.F32)) {
                    allReduceInPlace(f32.dataSegment(), f32.numel(), Mpi.MPI_FLOAT, 4);
                    Ops.copyInto(t, f32);
                }
            }
            default -> throw new IllegalArgumentException("allReduceSum: dtype " + t.dtype() + " is not supported (f32, f64, i64, bf16, f16)");
        }
    }

    @Override
    public void allReduceSum(double[] values) {
        checkOpen();
        if (values.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocateFrom(JAVA_DOUBLE, values);
            allReduceInPlace(buf, values.length, Mpi.MPI_DOUBLE, 8);
            MemorySegment.copy(buf, JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    @Override
    public void allReduceSum(long[] values) {
        checkOpen();
        if (values.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocateFrom(JAVA_LONG, values);
            allReduceInPlace(buf, values.length, Mpi.MPI_LONG_LONG, 8);
            MemorySegment.copy(buf, JAVA_LONG, 0, values, 0, values.length);
        }
    }

    @Override
    public void broadcast(Tensor t, int root) {
        checkOpen();
        checkRoot(root);
        checkCpuContiguous(t, "broadcast");
        MemorySegment data = t.dataSegment();
        long bytes = data.byteSize();
        for (long off = 0; off < bytes; off += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, bytes - off);
            Mpi.check(Mpi.MPI_Bcast(data.asSlice(off, n), n, Mpi.MPI_BYTE, root, Mpi.MPI_COMM_WORLD), "MPI_Bcast");
        }
    }

    @Override
    public void broadcast(double[] values, int root) {
        checkOpen();
        checkRoot(root);
        if (values.length == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocateFrom(JAVA_DOUBLE, values);
            Mpi.check(Mpi.MPI_Bcast(buf, values.length, Mpi.MPI_DOUBLE, root, Mpi.MPI_COMM_WORLD), "MPI_Bcast");
            MemorySegment.copy(buf, JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    @Override
    public void barrier() {
        checkOpen();
        Mpi.check(Mpi.MPI_Barrier(Mpi.MPI_COMM_WORLD), "MPI_Barrier");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flag = arena.allocate(JAVA_INT);
            Mpi.check(Mpi.MPI_Finalized(flag), "MPI_Finalized");
            if (flag.get(JAVA_INT, 0) == 0) Mpi.check(Mpi.MPI_Finalize(), "MPI_Finalize");
        }
    }

    /** Ends every rank of the job (a rank that cannot go on must not leave the others blocked in a collective). */
    public void abort(int code) {
        Mpi.MPI_Abort(Mpi.MPI_COMM_WORLD, code);
    }

    private static void allReduceInPlace(MemorySegment data, long count, int datatype, int elementBytes) {
        for (long done = 0; done < count; done += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, count - done);
            Mpi.check(Mpi.MPI_Allreduce(Mpi.MPI_IN_PLACE, data.asSlice(done * elementBytes, (long) n * elementBytes), n, datatype,
                    Mpi.MPI_SUM, Mpi.MPI_COMM_WORLD), "MPI_Allreduce");
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the MPI communicator is closed (MPI_Finalize was called)");
    }

    private void checkRoot(int root) {
        if (root < 0 || root >= size) throw new IllegalArgumentException("root " + root + " out of range for world size " + size);
    }

    private static void checkCpuContiguous(Tensor t, String op) {
        if (t.device().type() != Device.Type.CPU) throw new IllegalArgumentException(op + ": " + t.describe() + " is not on the CPU");
        if (!t.isContiguous()) throw new IllegalArgumentException(op + ": " + t.describe() + " is not contiguous");
    }
}
