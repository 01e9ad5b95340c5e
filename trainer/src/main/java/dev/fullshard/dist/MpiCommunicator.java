package dev.fullshard.dist;

import dev.fullshard.bindings.Mpi;
import dev.fullshard.bindings.MpiLibrary;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * An MPI communicator of MPICH, through FFM: {@code MPI_COMM_WORLD} ({@link #init}), or a group of its ranks
 * ({@link #split}).
 *
 * <p>Threads: every MPI call of the process (but {@link #abort}) runs on one daemon platform thread,
 * {@value #THREAD_NAME}. It initialises MPI with {@code MPI_THREAD_FUNNELED} (only the thread that
 * initialised MPI calls it) and then runs the collectives one at a time, in the order they were issued,
 * each started non-blocking and completed there ({@link #complete}). An {@code …Async} method checks its
 * arguments, queues the collective and returns, so the caller computes while it runs; a blocking method
 * queues and awaits. This is what makes
 * the overlap real: MPICH without an asynchronous progress thread advances a non-blocking collective
 * ({@code MPI_Iallgather}) only while some thread is inside MPI, so one started by the computing thread
 * would mostly wait for its {@code MPI_Wait}.
 *
 * <p>Memory: collectives run on the tensors' own memory ({@link Tensor#dataSegment()}), read on the
 * calling thread and handed to the MPI thread as plain segments; the MPI thread never touches a
 * {@link Tensor}. bf16/f16 sums go through float32 copies in this communicator's own memory (MPICH 4.0.2
 * has no bf16 type and aborts on f16 reductions), made by the {@code …Async} call and converted back by
 * {@code await()}, both on the caller's thread. Sums of more than 2³¹−1 elements are split into several
 * calls; an all-gather or reduce-scatter of more than 2³¹−1 elements per rank is refused.
 *
 * <p>Groups: a communicator made by {@link #split} runs its collectives on the world's MPI thread too, so the
 * collectives of all the process's communicators complete in the one order they were issued, the order
 * every rank issues them in. Closing a group frees it ({@code MPI_Comm_free}); closing the world finalises MPI.
 */
public final class MpiCommunicator implements Communicator {
    private static final long MAX_COUNT = Integer.MAX_VALUE;
    private static final String THREAD_NAME = "fullshard-mpi";
    /** How long closing the world waits for MPI_Finalize; see {@link #close}. */
    private static final long FINALIZE_TIMEOUT_SECONDS = 30;
    /** The longest sleep between two MPI_Test calls of a collective; see {@link #complete}. */
    private static final long MAX_TEST_PAUSE_NANOS = 100_000;

    private final int rank;
    private final int size;
    private final CommThread mpi;
    /** The MPI_Comm handle: MPI_COMM_WORLD, or a group's. */
    private final int handle;
    private volatile boolean closed;

    private MpiCommunicator(int rank, int size, CommThread mpi, int handle) {
        this.rank = rank;
        this.size = size;
        this.mpi = mpi;
        this.handle = handle;
    }

    private boolean isWorld() {
        return handle == Mpi.MPI_COMM_WORLD;
    }

    /**
     * Starts the MPI thread, initialises MPI on it and returns the world. {@code expectedSize} is the
     * size the environment announced (0: don't check). Throws a clear error when MPICH is missing, and
     * when MPI is already initialised in this process (one communicator per process: MPI can be
     * initialised once, and only its thread may call it).
     */
    public static MpiCommunicator init(int expectedSize) {
        MpiLibrary.require(Math.max(expectedSize, 2));
        CommThread mpi = new CommThread(THREAD_NAME);
        int[] world = new int[2];
        try {
            mpi.submit("MPI initialisation", () -> initialise(world)).await();
        } catch (RuntimeException e) {
            mpi.stop();
            throw e;
        }
        if (expectedSize > 0 && world[1] != expectedSize) {
            mpi.stop();
            throw new IllegalStateException("the environment says world size " + expectedSize + " but MPI_COMM_WORLD has " + world[1]
                    + " ranks (was the process started by mpiexec or the fullshard launcher?)");
        }
        return new MpiCommunicator(world[0], world[1], mpi, Mpi.MPI_COMM_WORLD);
    }

    /** On the MPI thread: MPI_Init_thread, then {@code world} ← {rank, size}. */
    private static void initialise(int[] world) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Mpi.check(Mpi.MPI_Initialized(out), "MPI_Initialized");
            if (out.get(JAVA_INT, 0) != 0) {
                throw new IllegalStateException("MPI is already initialised in this process; an MpiCommunicator initialises it itself, "
                        + "on its own thread, once per process");
            }
            Mpi.check(Mpi.MPI_Init_thread(MemorySegment.NULL, MemorySegment.NULL, Mpi.MPI_THREAD_FUNNELED, out), "MPI_Init_thread");
            Mpi.check(Mpi.MPI_Comm_rank(Mpi.MPI_COMM_WORLD, out), "MPI_Comm_rank");
            world[0] = out.get(JAVA_INT, 0);
            Mpi.check(Mpi.MPI_Comm_size(Mpi.MPI_COMM_WORLD, out), "MPI_Comm_size");
            world[1] = out.get(JAVA_INT, 0);
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
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Pending allReduceSumAsync(Tensor t) {
        checkOpen();
        CollectiveChecks.writableContiguousOn("allReduceSum", t, Device.CPU);
        long n = t.numel();
        return switch (t.dtype()) {
            case F32 -> allReduce(t.dataSegment(), n, Mpi.MPI_FLOAT, 4);
            case F64 -> allReduce(t.dataSegment(), n, Mpi.MPI_DOUBLE, 8);
            case I64 -> allReduce(t.dataSegment(), n, Mpi.MPI_LONG_LONG, 8);
            case BF16, F16 -> {
                Arena buffers = Arena.ofShared();
                MemorySegment f32 = f32Copy(t, buffers);
                yield mpi.submit("allReduceSum", () -> allReduceInPlace(f32, n, Mpi.MPI_FLOAT, 4), () -> copyFromF32(f32, t), buffers);
            }
            default -> throw new IllegalArgumentException("allReduceSum: dtype " + t.dtype() + " is not supported (float32, float64, int64, "
                    + "bfloat16, float16): " + t.describe());
        };
    }

    private Pending allReduce(MemorySegment data, long n, int datatype, int elementBytes) {
        return mpi.submit("allReduceSum", () -> allReduceInPlace(data, n, datatype, elementBytes));
    }

    @Override
    public void allReduceSum(double[] values) {
        allReduceSum(MemorySegment.ofArray(values), values.length, Mpi.MPI_DOUBLE);
    }

    @Override
    public void allReduceSum(long[] values) {
        allReduceSum(MemorySegment.ofArray(values), values.length, Mpi.MPI_LONG_LONG);
    }

    /** Sums a Java array of {@code n} 8-byte elements over the ranks, in place. */
    private void allReduceSum(MemorySegment array, int n, int datatype) {
        checkOpen();
        if (n == 0) return;
        onNativeCopy("allReduceSum", array, buf -> allReduceInPlace(buf, n, datatype, 8));
    }

    @Override
    public Pending allGatherAsync(Tensor shard, Tensor full) {
        checkOpen();
        boolean inPlace = CollectiveChecks.allGather(shard, full, rank, size, Device.CPU);
        int n = perRankCount("allGather", shard);
        // The bytes are copied unchanged; the datatype only sets the unit of the count.
        int datatype = switch (shard.dtype().byteSize()) {
            case 1 -> Mpi.MPI_BYTE;
            case 2 -> Mpi.MPI_UINT16_T;
            case 4 -> Mpi.MPI_FLOAT;
            case 8 -> Mpi.MPI_DOUBLE;
            default -> throw new IllegalArgumentException("allGather: no MPI datatype for " + shard.dtype() + "'s " + shard.dtype().byteSize()
                    + "-byte elements");
        };
        MemorySegment send = inPlace ? Mpi.MPI_IN_PLACE : shard.dataSegment();
        MemorySegment recv = full.dataSegment();
        return mpi.submit("allGather", () -> complete("MPI_Iallgather",
                request -> Mpi.MPI_Iallgather(send, n, datatype, recv, n, datatype, handle, request)));
    }

    @Override
    public Pending reduceScatterSumAsync(Tensor full, Tensor shard) {
        checkOpen();
        CollectiveChecks.reduceScatterSum(full, shard, size, Device.CPU);
        int n = perRankCount("reduceScatterSum", shard);
        return switch (full.dtype()) {
            case F32 -> reduceScatter(full.dataSegment(), shard.dataSegment(), n, Mpi.MPI_FLOAT, null, null);
            case F64 -> reduceScatter(full.dataSegment(), shard.dataSegment(), n, Mpi.MPI_DOUBLE, null, null);
            default -> { // bf16, f16: CollectiveChecks allows no other
                Arena buffers = Arena.ofShared();
                MemorySegment full32 = f32Copy(full, buffers);
                MemorySegment shard32 = buffers.allocate(4L * n, 64);
                yield reduceScatter(full32, shard32, n, Mpi.MPI_FLOAT, () -> copyFromF32(shard32, shard), buffers);
            }
        };
    }

    private Pending reduceScatter(MemorySegment full, MemorySegment shard, int n, int datatype, Runnable thenOnCaller, Arena buffers) {
        return mpi.submit("reduceScatterSum", () -> complete("MPI_Ireduce_scatter_block",
                request -> Mpi.MPI_Ireduce_scatter_block(full, shard, n, datatype, Mpi.MPI_SUM, handle, request)), thenOnCaller, buffers);
    }

    @Override
    public void broadcast(Tensor t, int root) {
        checkOpen();
        CollectiveChecks.root(root, size);
        CollectiveChecks.writableContiguousOn("broadcast", t, Device.CPU);
        MemorySegment data = t.dataSegment();
        mpi.submit("broadcast", () -> broadcastBytes(data, root)).await();
    }

    @Override
    public void broadcast(double[] values, int root) {
        checkOpen();
        CollectiveChecks.root(root, size);
        if (values.length == 0) return;
        onNativeCopy("broadcast", MemorySegment.ofArray(values), buf -> broadcastBytes(buf, root));
    }

    /**
     * Runs {@code call} on the MPI thread over a native copy of a Java array (MPI cannot take the Java heap)
     * and copies the result back. The copy is the MPI thread's own: a shared arena, which the caller's thread
     * could also use, costs a handshake with every thread when it closes.
     */
    private void onNativeCopy(String collective, MemorySegment array, Consumer<MemorySegment> call) {
        mpi.submit(collective, () -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(array.byteSize(), 8).copyFrom(array);
                call.accept(buf);
                array.copyFrom(buf);
            }
        }).await();
    }

    @Override
    public void barrier() {
        checkOpen();
        mpi.submit("barrier", () -> complete("MPI_Ibarrier", request -> Mpi.MPI_Ibarrier(handle, request))).await();
    }

    @Override
    public MpiCommunicator split(int color, int key) {
        checkOpen();
        if (color < 0) throw new IllegalArgumentException("split: color must be ≥ 0, got " + color);
        int[] group = new int[3];
        mpi.submit("split", () -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(JAVA_INT);
                Mpi.check(Mpi.MPI_Comm_split(handle, color, key, out), "MPI_Comm_split");
                group[0] = out.get(JAVA_INT, 0);
                Mpi.check(Mpi.MPI_Comm_rank(group[0], out), "MPI_Comm_rank");
                group[1] = out.get(JAVA_INT, 0);
                Mpi.check(Mpi.MPI_Comm_size(group[0], out), "MPI_Comm_size");
                group[2] = out.get(JAVA_INT, 0);
            }
        }).await();
        return new MpiCommunicator(group[1], group[2], mpi, group[0]);
    }

    /**
     * A group: frees it after the collectives already issued. The world: runs MPI_Finalize on the MPI thread
     * after the collectives already issued, then ends that thread; gives up waiting for MPI_Finalize after
     * {@value #FINALIZE_TIMEOUT_SECONDS} s, saying so. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (!isWorld()) {
            mpi.submit("close (MPI_Comm_free)", () -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment cell = arena.allocate(JAVA_INT);
                    cell.set(JAVA_INT, 0, handle);
                    Mpi.check(Mpi.MPI_Comm_free(cell), "MPI_Comm_free");
                }
            }).await();
            return;
        }
        CountDownLatch returned = new CountDownLatch(1);
        Pending finalized = mpi.submit("close (MPI_Finalize)", () -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment flag = arena.allocate(JAVA_INT);
                Mpi.check(Mpi.MPI_Finalized(flag), "MPI_Finalized");
                if (flag.get(JAVA_INT, 0) == 0) Mpi.check(Mpi.MPI_Finalize(), "MPI_Finalize");
            } finally {
                returned.countDown();
            }
        });
        mpi.stop();
        if (!returnedWithin(returned, FINALIZE_TIMEOUT_SECONDS)) {
            // UCX's TCP transport can spin forever in MPI_Finalize (openucx/ucx#8738, seen with UCX 1.13 when the
            // ranks' traffic goes over TCP). Everything the run writes is written by now, and the MPI thread is a
            // daemon: leaving it there lets the process exit instead of hanging the job.
            System.err.println("[rank " + rank + "] MPI_Finalize has not returned after " + FINALIZE_TIMEOUT_SECONDS
                    + " s; going on without it (a known hang of UCX's TCP transport at cleanup)");
            return;
        }
        finalized.await();
    }

    private static boolean returnedWithin(CountDownLatch latch, long seconds) {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return latch.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /**
     * Ends every rank of the job (a rank that cannot go on must not leave the others blocked in a
     * collective). Callable from any thread, and the one MPI call not made on the MPI thread: that thread
     * may be stuck for good in a collective a failed rank will never join, which is when abort is needed.
     * Breaking the FUNNELED promise is acceptable here because MPI_Abort does not return: it asks the
     * process manager to kill the job's processes and exits this one, so at worst a collective running
     * concurrently is cut short, and nothing of this process relies on MPI's state afterwards.
     */
    public void abort(int code) {
        Mpi.MPI_Abort(Mpi.MPI_COMM_WORLD, code);
    }

    private void allReduceInPlace(MemorySegment data, long count, int datatype, int elementBytes) {
        for (long done = 0; done < count; done += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, count - done);
            MemorySegment slice = data.asSlice(done * elementBytes, (long) n * elementBytes);
            complete("MPI_Iallreduce", request -> Mpi.MPI_Iallreduce(Mpi.MPI_IN_PLACE, slice, n, datatype, Mpi.MPI_SUM, handle, request));
        }
    }

    /**
     * On the MPI thread: starts a non-blocking collective ({@code start} gets the request's memory and returns
     * MPI's error code) and waits for it with MPI_Test, sleeping between tests. MPICH's blocking collectives
     * poll without pause while they wait; with prefetch the MPI thread waits most of each step for the other
     * ranks, and its polling took a third of the CPU from the computing thread on a core it shared (125m,
     * 2 ranks on 2 cores). A test costs about a microsecond and progresses the collective, so the sleeps
     * grow from 1 µs to {@value #MAX_TEST_PAUSE_NANOS} ns: a collective ends at most that much after its
     * data has arrived.
     */
    private static void complete(String call, ToIntFunction<MemorySegment> start) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = arena.allocate(JAVA_INT), done = arena.allocate(JAVA_INT);
            Mpi.check(start.applyAsInt(request), call);
            long pause = 1_000;
            while (true) {
                Mpi.check(Mpi.MPI_Test(request, done, Mpi.MPI_STATUS_IGNORE), "MPI_Test (" + call + ")");
                if (done.get(JAVA_INT, 0) != 0) return;
                LockSupport.parkNanos(pause);
                pause = Math.min(2 * pause, MAX_TEST_PAUSE_NANOS);
            }
        }
    }

    private void broadcastBytes(MemorySegment data, int root) {
        long bytes = data.byteSize();
        for (long off = 0; off < bytes; off += MAX_COUNT) {
            int n = (int) Math.min(MAX_COUNT, bytes - off);
            Mpi.check(Mpi.MPI_Bcast(data.asSlice(off, n), n, Mpi.MPI_BYTE, root, handle), "MPI_Bcast");
        }
    }

    /**
     * A float32 copy of {@code t} in {@code buffers} (a shared arena: the MPI thread uses the copy, and the
     * awaiting thread closes it when the copy is no longer needed).
     */
    private static MemorySegment f32Copy(Tensor t, Arena buffers) {
        try {
            MemorySegment f32 = buffers.allocate(4 * t.numel(), 64);
            try (Tensor view = Tensor.wrap(f32, DType.F32, t.shape())) {
                Copies.copyInto(view, t);
            }
            return f32;
        } catch (RuntimeException e) {
            buffers.close();
            throw e;
        }
    }

    /** {@code target} ← the float32 values in {@code f32}, rounded to {@code target}'s dtype. */
    private static void copyFromF32(MemorySegment f32, Tensor target) {
        try (Tensor view = Tensor.wrap(f32, DType.F32, target.shape())) {
            Copies.copyInto(target, view);
        }
    }

    /** The elements per rank as MPI's int count. */
    private static int perRankCount(String collective, Tensor shard) {
        long n = shard.numel();
        if (n > MAX_COUNT) {
            throw new IllegalArgumentException(collective + ": " + n + " elements per rank is more than MPI's int count allows (2^31-1): "
                    + shard.describe() + "; split it into smaller shards");
        }
        return (int) n;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("the MPI communicator is closed (MPI_Finalize was called)");
    }
}
