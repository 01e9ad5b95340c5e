package dev.fullshard.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into MPICH, one per function of {@code native-headers/mpi.h}, and the MPICH ABI handle
 * constants fullshard uses. Loading this class loads the library through {@link MpiLibrary} (which sets
 * {@code UCX_ERROR_SIGNALS=} first); when MPICH is missing the class fails to initialise, so check
 * {@link MpiLibrary#isAvailable()} or call {@link MpiLibrary#require(int)} before touching it.
 */
@SuppressWarnings("unused")
public final class Mpi {
    private static final NativeLibrary LIB = MpiLibrary.get();

    public static final int MPI_SUCCESS = 0;
    public static final int MPI_COMM_WORLD = 0x44000000;
    public static final int MPI_FLOAT = 0x4c00040a;
    public static final int MPI_DOUBLE = 0x4c00080b;
    public static final int MPI_INT = 0x4c000405;
    public static final int MPI_LONG_LONG = 0x4c000809;
    public static final int MPI_BYTE = 0x4c00010d;
    public static final int MPI_UINT16_T = 0x4c00023c;
    public static final int MPI_SUM = 0x58000003;
    public static final int MPI_MAX = 0x58000001;
    public static final int MPI_REQUEST_NULL = 0x2c000000;
    public static final int MPI_THREAD_SINGLE = 0, MPI_THREAD_FUNNELED = 1, MPI_THREAD_SERIALIZED = 2, MPI_THREAD_MULTIPLE = 3;
    public static final int MPI_MAX_ERROR_STRING = 512;
    /** {@code MPI_IN_PLACE}: the address -1. */
    public static final MemorySegment MPI_IN_PLACE = MemorySegment.ofAddress(-1L);
    /** {@code MPI_STATUS_IGNORE}: the address 1. */
    public static final MemorySegment MPI_STATUS_IGNORE = MemorySegment.ofAddress(1L);

    private Mpi() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return LIB;
    }

    /** MPI_Error_string of a return code, for messages. */
    public static String errorString(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(MPI_MAX_ERROR_STRING);
            MemorySegment len = arena.allocate(JAVA_INT);
            if (MPI_Error_string(code, text, len) != MPI_SUCCESS) return "MPI error " + code;
            return text.getString(0);
        }
    }

    /** Throws with the MPI error text when {@code rc} is not MPI_SUCCESS. */
    public static void check(int rc, String call) {
        if (rc != MPI_SUCCESS) throw new IllegalStateException(call + " failed: " + errorString(rc) + " (code " + rc + ")");
    }

    public static final FunctionDescriptor MPI_Init_thread$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Init_thread$MH = LIB.downcall("MPI_Init_thread", MPI_Init_thread$DESC);

    public static int MPI_Init_thread(MemorySegment argc, MemorySegment argv, int required, MemorySegment provided) {
        try { return (int) MPI_Init_thread$MH.invokeExact(argc, argv, required, provided); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Initialized$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Initialized$MH = LIB.downcall("MPI_Initialized", MPI_Initialized$DESC);

    public static int MPI_Initialized(MemorySegment flag) {
        try { return (int) MPI_Initialized$MH.invokeExact(flag); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Finalized$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Finalized$MH = LIB.downcall("MPI_Finalized", MPI_Finalized$DESC);

    public static int MPI_Finalized(MemorySegment flag) {
        try { return (int) MPI_Finalized$MH.invokeExact(flag); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Comm_rank$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Comm_rank$MH = LIB.downcall("MPI_Comm_rank", MPI_Comm_rank$DESC);

    public static int MPI_Comm_rank(int comm, MemorySegment rank) {
        try { return (int) MPI_Comm_rank$MH.invokeExact(comm, rank); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Comm_size$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Comm_size$MH = LIB.downcall("MPI_Comm_size", MPI_Comm_size$DESC);

    public static int MPI_Comm_size(int comm, MemorySegment size) {
        try { return (int) MPI_Comm_size$MH.invokeExact(comm, size); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Comm_split$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Comm_split$MH = LIB.downcall("MPI_Comm_split", MPI_Comm_split$DESC);

    public static int MPI_Comm_split(int comm, int color, int key, MemorySegment newcomm) {
        try { return (int) MPI_Comm_split$MH.invokeExact(comm, color, key, newcomm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Comm_free$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Comm_free$MH = LIB.downcall("MPI_Comm_free", MPI_Comm_free$DESC);

    public static int MPI_Comm_free(MemorySegment comm) {
        try { return (int) MPI_Comm_free$MH.invokeExact(comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Bcast$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle MPI_Bcast$MH = LIB.downcall("MPI_Bcast", MPI_Bcast$DESC);

    public static int MPI_Bcast(MemorySegment buffer, int count, int datatype, int root, int comm) {
        try { return (int) MPI_Bcast$MH.invokeExact(buffer, count, datatype, root, comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Test$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final MethodHandle MPI_Test$MH = LIB.downcall("MPI_Test", MPI_Test$DESC);

    public static int MPI_Test(MemorySegment request, MemorySegment flag, MemorySegment status) {
        try { return (int) MPI_Test$MH.invokeExact(request, flag, status); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Ibarrier$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Ibarrier$MH = LIB.downcall("MPI_Ibarrier", MPI_Ibarrier$DESC);

    public static int MPI_Ibarrier(int comm, MemorySegment request) {
        try { return (int) MPI_Ibarrier$MH.invokeExact(comm, request); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Iallreduce$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Iallreduce$MH = LIB.downcall("MPI_Iallreduce", MPI_Iallreduce$DESC);

    public static int MPI_Iallreduce(MemorySegment sendbuf, MemorySegment recvbuf, int count, int datatype, int op, int comm, MemorySegment request) {
        try { return (int) MPI_Iallreduce$MH.invokeExact(sendbuf, recvbuf, count, datatype, op, comm, request); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Ireduce_scatter_block$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Ireduce_scatter_block$MH = LIB.downcall("MPI_Ireduce_scatter_block", MPI_Ireduce_scatter_block$DESC);

    public static int MPI_Ireduce_scatter_block(MemorySegment sendbuf, MemorySegment recvbuf, int recvcount, int datatype, int op, int comm, MemorySegment request) {
        try { return (int) MPI_Ireduce_scatter_block$MH.invokeExact(sendbuf, recvbuf, recvcount, datatype, op, comm, request); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Iallgather$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle MPI_Iallgather$MH = LIB.downcall("MPI_Iallgather", MPI_Iallgather$DESC);

    public static int MPI_Iallgather(MemorySegment sendbuf, int sendcount, int sendtype, MemorySegment recvbuf, int recvcount, int recvtype, int comm, MemorySegment request) {
        try { return (int) MPI_Iallgather$MH.invokeExact(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, request); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Abort$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle MPI_Abort$MH = LIB.downcall("MPI_Abort", MPI_Abort$DESC);

    public static int MPI_Abort(int comm, int errorcode) {
        try { return (int) MPI_Abort$MH.invokeExact(comm, errorcode); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Finalize$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final MethodHandle MPI_Finalize$MH = LIB.downcall("MPI_Finalize", MPI_Finalize$DESC);

    public static int MPI_Finalize() {
        try { return (int) MPI_Finalize$MH.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor MPI_Error_string$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle MPI_Error_string$MH = LIB.downcall("MPI_Error_string", MPI_Error_string$DESC);

    public static int MPI_Error_string(int errorcode, MemorySegment string, MemorySegment resultlen) {
        try { return (int) MPI_Error_string$MH.invokeExact(errorcode, string, resultlen); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
