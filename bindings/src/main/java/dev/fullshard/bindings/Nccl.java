package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into NCCL, one per function of {@code native-headers/nccl.h}, in the same order, and the
 * enum values fullshard uses. The library comes from {@link CudaLibraries} (libtorch's own copy);
 * handles are resolved on each function's first call, so reading the descriptors loads nothing and a
 * call on a machine without CUDA throws {@link CudaUnavailableException}.
 */
@SuppressWarnings("unused")
public final class Nccl {
    public static final int SUCCESS = 0;
    /** A non-blocking communicator is still working: poll ncclCommGetAsyncError. */
    public static final int IN_PROGRESS = 7;
    public static final int INT8 = 0, UINT8 = 1, INT32 = 2, UINT32 = 3, INT64 = 4, UINT64 = 5;
    public static final int FLOAT16 = 6, FLOAT32 = 7, FLOAT64 = 8, BFLOAT16 = 9;
    public static final int SUM = 0;
    public static final int UNIQUE_ID_BYTES = 128;
    /**
     * {@code ncclUniqueId}, {@code struct { char internal[128]; }}: ncclCommInitRank takes it by value,
     * so its descriptor holds this struct layout (FFM then copies the 128 bytes onto the stack), not an address.
     */
    public static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE).withName("internal")).withName("ncclUniqueId");

    private Nccl() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return CudaLibraries.nccl();
    }

    /** Throws {@link NcclException} with NCCL's text for {@code rc} when it is not ncclSuccess. */
    public static void check(int rc, String what) {
        if (rc != SUCCESS) {
            throw new NcclException(rc, what + " failed: error " + rc + ": " + NativeLibrary.cString(ncclGetErrorString(rc)));
        }
    }

    public static final FunctionDescriptor ncclGetVersion$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class ncclGetVersion$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGetVersion", ncclGetVersion$DESC); }

    public static int ncclGetVersion(MemorySegment version) {
        try { return (int) ncclGetVersion$MH.HANDLE.invokeExact(version); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclGetUniqueId$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class ncclGetUniqueId$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGetUniqueId", ncclGetUniqueId$DESC); }

    public static int ncclGetUniqueId(MemorySegment uniqueId) {
        try { return (int) ncclGetUniqueId$MH.HANDLE.invokeExact(uniqueId); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommInitRank$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT);
    private static final class ncclCommInitRank$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommInitRank", ncclCommInitRank$DESC); }

    public static int ncclCommInitRank(MemorySegment comm, int nranks, MemorySegment commId, int rank) {
        try { return (int) ncclCommInitRank$MH.HANDLE.invokeExact(comm, nranks, commId, rank); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommSplit$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclCommSplit$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommSplit", ncclCommSplit$DESC); }

    public static int ncclCommSplit(MemorySegment comm, int color, int key, MemorySegment newcomm, MemorySegment config) {
        try { return (int) ncclCommSplit$MH.HANDLE.invokeExact(comm, color, key, newcomm, config); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommDestroy$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class ncclCommDestroy$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommDestroy", ncclCommDestroy$DESC); }

    public static int ncclCommDestroy(MemorySegment comm) {
        try { return (int) ncclCommDestroy$MH.HANDLE.invokeExact(comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommAbort$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class ncclCommAbort$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommAbort", ncclCommAbort$DESC); }

    public static int ncclCommAbort(MemorySegment comm) {
        try { return (int) ncclCommAbort$MH.HANDLE.invokeExact(comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommFinalize$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class ncclCommFinalize$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommFinalize", ncclCommFinalize$DESC); }

    public static int ncclCommFinalize(MemorySegment comm) {
        try { return (int) ncclCommFinalize$MH.HANDLE.invokeExact(comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclCommGetAsyncError$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclCommGetAsyncError$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclCommGetAsyncError", ncclCommGetAsyncError$DESC); }

    public static int ncclCommGetAsyncError(MemorySegment comm, MemorySegment asyncError) {
        try { return (int) ncclCommGetAsyncError$MH.HANDLE.invokeExact(comm, asyncError); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclGetErrorString$DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
    private static final class ncclGetErrorString$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGetErrorString", ncclGetErrorString$DESC); }

    public static MemorySegment ncclGetErrorString(int result) {
        try { return (MemorySegment) ncclGetErrorString$MH.HANDLE.invokeExact(result); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclGetLastError$DESC = FunctionDescriptor.of(ADDRESS, ADDRESS);
    private static final class ncclGetLastError$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGetLastError", ncclGetLastError$DESC); }

    public static MemorySegment ncclGetLastError(MemorySegment comm) {
        try { return (MemorySegment) ncclGetLastError$MH.HANDLE.invokeExact(comm); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclAllReduce$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclAllReduce$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclAllReduce", ncclAllReduce$DESC); }

    public static int ncclAllReduce(MemorySegment sendbuff, MemorySegment recvbuff, long count, int datatype, int op, MemorySegment comm, MemorySegment stream) {
        try { return (int) ncclAllReduce$MH.HANDLE.invokeExact(sendbuff, recvbuff, count, datatype, op, comm, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclBroadcast$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclBroadcast$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclBroadcast", ncclBroadcast$DESC); }

    public static int ncclBroadcast(MemorySegment sendbuff, MemorySegment recvbuff, long count, int datatype, int root, MemorySegment comm, MemorySegment stream) {
        try { return (int) ncclBroadcast$MH.HANDLE.invokeExact(sendbuff, recvbuff, count, datatype, root, comm, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclReduceScatter$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclReduceScatter$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclReduceScatter", ncclReduceScatter$DESC); }

    public static int ncclReduceScatter(MemorySegment sendbuff, MemorySegment recvbuff, long recvcount, int datatype, int op, MemorySegment comm, MemorySegment stream) {
        try { return (int) ncclReduceScatter$MH.HANDLE.invokeExact(sendbuff, recvbuff, recvcount, datatype, op, comm, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclAllGather$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
    private static final class ncclAllGather$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclAllGather", ncclAllGather$DESC); }

    public static int ncclAllGather(MemorySegment sendbuff, MemorySegment recvbuff, long sendcount, int datatype, MemorySegment comm, MemorySegment stream) {
        try { return (int) ncclAllGather$MH.HANDLE.invokeExact(sendbuff, recvbuff, sendcount, datatype, comm, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclGroupStart$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final class ncclGroupStart$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGroupStart", ncclGroupStart$DESC); }

    public static int ncclGroupStart() {
        try { return (int) ncclGroupStart$MH.HANDLE.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor ncclGroupEnd$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final class ncclGroupEnd$MH { static final MethodHandle HANDLE = CudaLibraries.nccl().downcall("ncclGroupEnd", ncclGroupEnd$DESC); }

    public static int ncclGroupEnd() {
        try { return (int) ncclGroupEnd$MH.HANDLE.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
