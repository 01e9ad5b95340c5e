package dev.fullshard.dist;

import dev.fullshard.bindings.CudaRuntime;
import dev.fullshard.bindings.Nccl;
import dev.fullshard.bindings.NativeLibrary;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The ranks' GPUs talking over NCCL, one GPU per rank.
 *
 * <p>Streams: every collective runs on this communicator's own CUDA stream. Before it, an event recorded on
 * libtorch's current stream makes it wait for the kernels that produce its input; {@link Pending#await()}
 * makes libtorch's stream wait for an event recorded after it. Neither waits on the host, so an all-gather
 * issued as a prefetch runs on the GPU while the kernels queued before its await compute, and memory that
 * the collective used is freed (in libtorch's stream order) only after it completed.
 *
 * <p>Failure: NCCL reports errors of running collectives asynchronously, and a peer that died leaves a
 * collective waiting forever. A watchdog thread polls {@code ncclCommGetAsyncError} and the oldest collective
 * still running; on an error, or when that collective has run longer than the timeout
 * ({@code FULLSHARD_NCCL_TIMEOUT}, seconds, default 600), it prints what failed, aborts the communicator and
 * ends the process with exit code 1, so the launcher stops (or restarts) the group instead of hanging.
 *
 * <p>The unique id NCCL needs is made by rank 0 and shared through the launcher's key-value server.
 *
 * <p>Groups ({@link #split}, {@code ncclCommSplit}, NCCL 2.18 or newer) enqueue on their parent's stream, so
 * the collectives of a parent and its groups complete in the one order they were issued; each has its own
 * watchdog.
 */
public final class NcclCommunicator implements Communicator {
    static final String UNIQUE_ID_KEY = "fullshard_nccl_unique_id";
    private static final long DEFAULT_TIMEOUT_SECONDS = 600;
    private static final int KVS_TIMEOUT_MILLIS = 600_000;

    private final int rank, size;
    private final Device device;
    private final MemorySegment comm, stream;
    /** False for a group made by {@link #split}: it runs on its parent's stream, which the parent destroys. */
    private final boolean ownsStream;
    private final long timeoutNanos;
    private final Watchdog watchdog;
    private boolean closed;

    private NcclCommunicator(int rank, int size, Device device, MemorySegment comm, MemorySegment stream, boolean ownsStream, long timeoutNanos) {
        this.rank = rank;
        this.size = size;
        this.device = device;
        this.comm = comm;
        this.stream = stream;
        this.ownsStream = ownsStream;
        this.timeoutNanos = timeoutNanos;
        this.watchdog = new Watchdog();
    }

    /**
     * Joins the ranks the environment announces ({@code WORLD_SIZE}, {@code RANK}; one rank without them) on
     * {@code device}, which must be this process's current CUDA device.
     */
    public static NcclCommunicator init(Map<String, String> env, Device device) {
        if (device.type() != Device.Type.CUDA) throw new IllegalArgumentException("NCCL needs a CUDA device, got " + device);
        int size = Math.max(1, Communicators.worldSize(env));
        int rank = rankOf(env, size);
        long timeout = timeoutSeconds(env);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocate(Nccl.UNIQUE_ID);
            if (size == 1) {
                Nccl.check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
            } else {
                try (PmiKvs kvs = PmiKvs.connect(env, KVS_TIMEOUT_MILLIS)) {
                    if (rank == 0) {
                        Nccl.check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
                        kvs.put(UNIQUE_ID_KEY, HexFormat.of().formatHex(id.toArray(JAVA_BYTE)));
                    }
                    kvs.barrier();
                    String hex = kvs.get(UNIQUE_ID_KEY);
                    byte[] bytes = HexFormat.of().parseHex(hex);
                    if (bytes.length != Nccl.UNIQUE_ID_BYTES) {
                        throw new IllegalStateException("NCCL unique id from the launcher has " + bytes.length + " bytes, expected " + Nccl.UNIQUE_ID_BYTES);
                    }
                    id.copyFrom(MemorySegment.ofArray(bytes));
                }
            }
            MemorySegment cell = arena.allocate(ADDRESS);
            Nccl.check(Nccl.ncclCommInitRank(cell, size, id, rank), "ncclCommInitRank(rank " + rank + " of " + size + ")");
            MemorySegment comm = cell.get(ADDRESS, 0);
            CudaRuntime.check(CudaRuntime.cudaStreamCreateWithFlags(cell, CudaRuntime.STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
            MemorySegment stream = cell.get(ADDRESS, 0);
            NcclCommunicator c = new NcclCommunicator(rank, size, device, comm, stream, true, timeout * 1_000_000_000L);
            c.watchdog.start();
            return c;
        }
    }

    private static int rankOf(Map<String, String> env, int size) {
        String v = env.getOrDefault("RANK", env.get("PMI_ID"));
        if (v == null) {
            if (size == 1) return 0;
            throw new IllegalArgumentException("WORLD_SIZE=" + size + " but no RANK: start the ranks with fullshard's launcher");
        }
        try {
            int r = Integer.parseInt(v.strip());
            if (r < 0 || r >= size) throw new NumberFormatException();
            return r;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("RANK=" + v + ": expected a whole number in [0, " + size + ")");
        }
    }

    static long timeoutSeconds(Map<String, String> env) {
        String v = env.get("FULLSHARD_NCCL_TIMEOUT");
        if (v == null || v.isBlank()) return DEFAULT_TIMEOUT_SECONDS;
        try {
            long s = Long.parseLong(v.strip());
            if (s < 1) throw new NumberFormatException();
            return s;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("FULLSHARD_NCCL_TIMEOUT=" + v + ": expected whole seconds ≥ 1");
        }
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }
    @Override public Device device() { return device; }

    // ================================================================ collectives

    @Override
    public Pending allReduceSumAsync(Tensor t) {
        CollectiveChecks.writableContiguousOn("allReduceSum", t, device);
        int type = ncclType("allReduceSum", t);
        MemorySegment p = t.dataPointer();
        return launch("allReduceSum " + t.describe(), s -> Nccl.ncclAllReduce(p, p, t.numel(), type, Nccl.SUM, comm, s));
    }

    @Override
    public Pending allGatherAsync(Tensor shard, Tensor full) {
        CollectiveChecks.allGather(shard, full, rank, size, device);   // in place or not, NCCL takes both
        int type = ncclType("allGather", shard);
        MemorySegment send = shard.dataPointer(), recv = full.dataPointer();
        return launch("allGather " + full.describe(), s -> Nccl.ncclAllGather(send, recv, shard.numel(), type, comm, s));
    }

    @Override
    public Pending reduceScatterSumAsync(Tensor full, Tensor shard) {
        CollectiveChecks.reduceScatterSum(full, shard, size, device);
        int type = ncclType("reduceScatterSum", full);
        MemorySegment send = full.dataPointer(), recv = shard.dataPointer();
        return launch("reduceScatterSum " + full.describe(), s -> Nccl.ncclReduceScatter(send, recv, shard.numel(), type, Nccl.SUM, comm, s));
    }

    @Override
    public void allReduceSum(double[] values) {
        onDeviceCopy(MemorySegment.ofArray(values), DType.F64, values.length, this::allReduceSum);
    }

    @Override
    public void allReduceSum(long[] values) {
        onDeviceCopy(MemorySegment.ofArray(values), DType.I64, values.length, this::allReduceSum);
    }

    @Override
    public void broadcast(Tensor t, int root) {
        CollectiveChecks.root(root, size);
        CollectiveChecks.writableContiguousOn("broadcast", t, device);
        int type = ncclType("broadcast", t);
        MemorySegment p = t.dataPointer();
        launch("broadcast " + t.describe(), s -> Nccl.ncclBroadcast(p, p, t.numel(), type, root, comm, s)).await();
    }

    @Override
    public void broadcast(double[] values, int root) {
        onDeviceCopy(MemorySegment.ofArray(values), DType.F64, values.length, t -> broadcast(t, root));
    }

    /**
     * Runs {@code collective} on a copy, on this rank's GPU, of a Java array of {@code n} elements of
     * {@code dtype} (NCCL cannot read the Java heap), then copies the result back into the array.
     */
    private void onDeviceCopy(MemorySegment array, DType dtype, int n, Consumer<Tensor> collective) {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor host = Tensor.empty(dtype, Device.CPU, n);
            host.dataSegment().copyFrom(array);
            Tensor t = host.to(device);
            collective.accept(t);
            array.copyFrom(t.to(Device.CPU).dataSegment());
        }
    }

    /** An all-reduce of one element, read back on the host: returns once every rank has joined it. */
    @Override
    public void barrier() {
        allReduceSum(new long[1]);
    }

    @Override
    public NcclCommunicator split(int color, int key) {
        if (closed) throw new IllegalStateException("split: the NCCL communicator is closed");
        if (color < 0) throw new IllegalArgumentException("split: color must be ≥ 0, got " + color);
        SplitMember place = SplitMember.agree(this, color, key);
        // The split must not overtake collectives still queued on the stream: NCCL's own calls are not stream-ordered.
        CudaRuntime.check(CudaRuntime.cudaStreamSynchronize(stream), "cudaStreamSynchronize (before ncclCommSplit)");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cell = arena.allocate(ADDRESS);
            Nccl.check(Nccl.ncclCommSplit(comm, color, key, cell, MemorySegment.NULL),
                    "ncclCommSplit(color " + color + ", key " + key + ", rank " + rank + " of " + size + ")");
            NcclCommunicator group = new NcclCommunicator(place.rank(), place.size(), device, cell.get(ADDRESS, 0), stream, false, timeoutNanos);
            group.watchdog.start();
            return group;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        // Let queued collectives finish first (the watchdog still guards this wait), then stop watching.
        CudaRuntime.check(CudaRuntime.cudaStreamSynchronize(stream), "cudaStreamSynchronize (closing NCCL)");
        watchdog.stop();
        watchdog.releaseAll();
        Nccl.check(Nccl.ncclCommDestroy(comm), "ncclCommDestroy");
        if (ownsStream) CudaRuntime.check(CudaRuntime.cudaStreamDestroy(stream), "cudaStreamDestroy");
    }

    // ================================================================ internals

    private interface Enqueue {
        int on(MemorySegment stream);
    }

    /** Orders {@code op} after libtorch's queued work, enqueues it on the NCCL stream and returns its completion. */
    private Pending launch(String what, Enqueue op) {
        if (closed) throw new IllegalStateException(what + ": the NCCL communicator is closed");
        MemorySegment torchStream = Cuda.currentStream(device);
        MemorySegment ready = Cuda.newEvent();
        try {
            CudaRuntime.check(CudaRuntime.cudaEventRecord(ready, torchStream), "cudaEventRecord");
            CudaRuntime.check(CudaRuntime.cudaStreamWaitEvent(stream, ready, 0), "cudaStreamWaitEvent");
        } finally {
            Cuda.destroyEvent(ready);                      // the wait above already captured it
        }
        int rc = op.on(stream);
        if (rc != Nccl.SUCCESS) {
            throw new NcclFailure(what + " failed on rank " + rank + ": " + ncclText(rc) + detail());
        }
        // Two completion events: the caller's, released by await(), and the watchdog's, released once it fired.
        MemorySegment done = Cuda.newEvent(), watched = Cuda.newEvent();
        CudaRuntime.check(CudaRuntime.cudaEventRecord(done, stream), "cudaEventRecord");
        CudaRuntime.check(CudaRuntime.cudaEventRecord(watched, stream), "cudaEventRecord");
        watchdog.track(what, watched);
        return new Pending() {
            private boolean awaited;

            @Override
            public void await() {
                if (awaited) return;
                awaited = true;
                try {
                    CudaRuntime.check(CudaRuntime.cudaStreamWaitEvent(Cuda.currentStream(device), done, 0), "cudaStreamWaitEvent");
                } finally {
                    Cuda.destroyEvent(done);               // the wait above already captured it
                }
            }
        };
    }

    private static String ncclText(int rc) {
        return "error " + rc + ": " + NativeLibrary.cString(Nccl.ncclGetErrorString(rc));
    }

    private String detail() {
        String last = NativeLibrary.cString(Nccl.ncclGetLastError(comm));
        return last == null || last.isBlank() ? "" : " (" + last + ")";
    }

    private static int ncclType(String collective, Tensor t) {
        DType d = t.dtype();
        return switch (d) {
            case F32 -> Nccl.FLOAT32;
            case F64 -> Nccl.FLOAT64;
            case BF16 -> Nccl.BFLOAT16;
            case F16 -> Nccl.FLOAT16;
            case I64 -> Nccl.INT64;
            case I32 -> Nccl.INT32;
            case U8, BOOL, I8 -> Nccl.UINT8;
            default -> throw new IllegalArgumentException(collective + ": dtype " + d + " has no NCCL type: " + t.describe());
        };
    }

    /** An NCCL call that failed when it was issued. */
    public static final class NcclFailure extends IllegalStateException {
        NcclFailure(String message) {
            super(message);
        }
    }

    /**
     * Owns an event recorded after every collective in flight (FIFO: one stream completes in order) and
     * watches them from its own thread; see the class comment.
     */
    private final class Watchdog implements Runnable {
        private record InFlight(String what, MemorySegment done, long since) {
        }

        private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
        private volatile boolean running;
        private Thread thread;

        void start() {
            running = true;
            thread = Thread.ofPlatform().daemon().name("fullshard-nccl-watchdog").start(this);
        }

        synchronized void track(String what, MemorySegment done) {
            inFlight.addLast(new InFlight(what, done, System.nanoTime()));
        }

        void stop() {
            running = false;
            if (thread != null) thread.interrupt();
            try {
                if (thread != null) thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized void releaseAll() {
            while (!inFlight.isEmpty()) Cuda.destroyEvent(inFlight.removeFirst().done());
        }

        @Override
        public void run() {
            Cuda.setDevice(device);                        // CUDA's current device is per thread
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment result = arena.allocate(JAVA_INT);
                while (running) {
                    String problem = check(result);
                    if (problem != null) fail(problem);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }

        /** Retires completed collectives; returns what went wrong, or null. */
        private synchronized String check(MemorySegment result) {
            int rc = Nccl.ncclCommGetAsyncError(comm, result);
            int async = result.get(JAVA_INT, 0);
            if (rc != Nccl.SUCCESS) return "ncclCommGetAsyncError failed: " + ncclText(rc);
            if (async != Nccl.SUCCESS && async != Nccl.IN_PROGRESS) {
                return "NCCL reported an error: " + ncclText(async) + detail()
                        + (inFlight.isEmpty() ? "" : " during " + inFlight.peekFirst().what());
            }
            while (!inFlight.isEmpty()) {
                InFlight oldest = inFlight.peekFirst();
                int q = CudaRuntime.cudaEventQuery(oldest.done());
                if (q == CudaRuntime.SUCCESS) {
                    Cuda.destroyEvent(inFlight.removeFirst().done());
                } else if (q == CudaRuntime.ERROR_NOT_READY) {
                    long age = System.nanoTime() - oldest.since();
                    if (age > timeoutNanos) {
                        return oldest.what() + " has not completed after " + age / 1_000_000_000L + " s (FULLSHARD_NCCL_TIMEOUT="
                                + timeoutNanos / 1_000_000_000L + "); a rank may have died or stopped issuing collectives";
                    }
                    return null;
                } else {
                    return "CUDA error while " + oldest.what() + " ran: " + "error " + q + ": " + NativeLibrary.cString(CudaRuntime.cudaGetErrorString(q));
                }
            }
            return null;
        }

        private void fail(String problem) {
            System.err.println("[rank " + rank + "] NCCL: " + problem + "; aborting the communicator and exiting "
                    + "(the launcher stops or restarts the group)");
            System.err.flush();
            Nccl.ncclCommAbort(comm);
            Runtime.getRuntime().halt(1);
        }
    }
}
