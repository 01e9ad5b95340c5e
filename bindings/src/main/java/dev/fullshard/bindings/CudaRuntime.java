package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into the CUDA runtime, one per function of {@code native-headers/cuda_runtime.h}, in the
 * same order, and the constants fullshard uses. The library comes from {@link CudaLibraries} (libtorch's
 * own copy). Each handle is resolved on the function's first call, in a holder class: loading this
 * class and reading its descriptors loads nothing, and on a machine without CUDA a call throws
 * {@link CudaUnavailableException}.
 */
@SuppressWarnings("unused")
public final class CudaRuntime {
    public static final int SUCCESS = 0;
    /** cudaEventQuery's answer while the work before the event is still running. */
    public static final int ERROR_NOT_READY = 600;
    /** cudaStreamCreateWithFlags: the stream does not synchronise with the legacy null stream. */
    public static final int STREAM_NON_BLOCKING = 1;
    /** cudaEventCreateWithFlags: an event for ordering only, cheaper than a timing one. */
    public static final int EVENT_DISABLE_TIMING = 2;
    public static final int MEMCPY_HOST_TO_DEVICE = 1, MEMCPY_DEVICE_TO_HOST = 2;
    /** cudaMemcpy infers the direction from the pointers (unified addressing). */
    public static final int MEMCPY_DEFAULT = 4;
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    /**
     * Bytes to allocate for cudaGetDeviceProperties: more than any CUDA version's struct cudaDeviceProp
     * (whose size changes between versions); only its first field, {@code char name[256]}, is read.
     */
    public static final long DEVICE_PROP_BYTES = 8192;

    private CudaRuntime() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return CudaLibraries.cudart();
    }

    /** Throws {@link CudaException} with the runtime's name and text for {@code rc} when it is not cudaSuccess. */
    public static void check(int rc, String what) {
        if (rc != SUCCESS) {
            throw new CudaException(rc, what + " failed: error " + rc + " " + NativeLibrary.cString(cudaGetErrorName(rc))
                    + ": " + NativeLibrary.cString(cudaGetErrorString(rc)));
        }
    }

    public static final FunctionDescriptor cudaGetErrorString$DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
    private static final class cudaGetErrorString$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetErrorString", cudaGetErrorString$DESC); }

    public static MemorySegment cudaGetErrorString(int error) {
        try { return (MemorySegment) cudaGetErrorString$MH.HANDLE.invokeExact(error); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaGetErrorName$DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
    private static final class cudaGetErrorName$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetErrorName", cudaGetErrorName$DESC); }

    public static MemorySegment cudaGetErrorName(int error) {
        try { return (MemorySegment) cudaGetErrorName$MH.HANDLE.invokeExact(error); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaGetLastError$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final class cudaGetLastError$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetLastError", cudaGetLastError$DESC); }

    public static int cudaGetLastError() {
        try { return (int) cudaGetLastError$MH.HANDLE.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaRuntimeGetVersion$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaRuntimeGetVersion$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaRuntimeGetVersion", cudaRuntimeGetVersion$DESC); }

    public static int cudaRuntimeGetVersion(MemorySegment runtimeVersion) {
        try { return (int) cudaRuntimeGetVersion$MH.HANDLE.invokeExact(runtimeVersion); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaDriverGetVersion$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaDriverGetVersion$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaDriverGetVersion", cudaDriverGetVersion$DESC); }

    public static int cudaDriverGetVersion(MemorySegment driverVersion) {
        try { return (int) cudaDriverGetVersion$MH.HANDLE.invokeExact(driverVersion); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaGetDeviceCount$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaGetDeviceCount$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetDeviceCount", cudaGetDeviceCount$DESC); }

    public static int cudaGetDeviceCount(MemorySegment count) {
        try { return (int) cudaGetDeviceCount$MH.HANDLE.invokeExact(count); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaSetDevice$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final class cudaSetDevice$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaSetDevice", cudaSetDevice$DESC); }

    public static int cudaSetDevice(int device) {
        try { return (int) cudaSetDevice$MH.HANDLE.invokeExact(device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaGetDevice$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaGetDevice$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetDevice", cudaGetDevice$DESC); }

    public static int cudaGetDevice(MemorySegment device) {
        try { return (int) cudaGetDevice$MH.HANDLE.invokeExact(device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaGetDeviceProperties$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final class cudaGetDeviceProperties$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaGetDeviceProperties", cudaGetDeviceProperties$DESC); }

    public static int cudaGetDeviceProperties(MemorySegment prop, int device) {
        try { return (int) cudaGetDeviceProperties$MH.HANDLE.invokeExact(prop, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaDeviceGetAttribute$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    private static final class cudaDeviceGetAttribute$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaDeviceGetAttribute", cudaDeviceGetAttribute$DESC); }

    public static int cudaDeviceGetAttribute(MemorySegment value, int attr, int device) {
        try { return (int) cudaDeviceGetAttribute$MH.HANDLE.invokeExact(value, attr, device); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaDeviceSynchronize$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final class cudaDeviceSynchronize$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaDeviceSynchronize", cudaDeviceSynchronize$DESC); }

    public static int cudaDeviceSynchronize() {
        try { return (int) cudaDeviceSynchronize$MH.HANDLE.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaMemGetInfo$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final class cudaMemGetInfo$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaMemGetInfo", cudaMemGetInfo$DESC); }

    public static int cudaMemGetInfo(MemorySegment free, MemorySegment total) {
        try { return (int) cudaMemGetInfo$MH.HANDLE.invokeExact(free, total); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaMalloc$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
    private static final class cudaMalloc$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaMalloc", cudaMalloc$DESC); }

    public static int cudaMalloc(MemorySegment devPtr, long size) {
        try { return (int) cudaMalloc$MH.HANDLE.invokeExact(devPtr, size); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaFree$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaFree$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaFree", cudaFree$DESC); }

    public static int cudaFree(MemorySegment devPtr) {
        try { return (int) cudaFree$MH.HANDLE.invokeExact(devPtr); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaMemset$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG);
    private static final class cudaMemset$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaMemset", cudaMemset$DESC); }

    public static int cudaMemset(MemorySegment devPtr, int value, long count) {
        try { return (int) cudaMemset$MH.HANDLE.invokeExact(devPtr, value, count); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaMemcpy$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final class cudaMemcpy$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaMemcpy", cudaMemcpy$DESC); }

    public static int cudaMemcpy(MemorySegment dst, MemorySegment src, long count, int kind) {
        try { return (int) cudaMemcpy$MH.HANDLE.invokeExact(dst, src, count, kind); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaStreamCreateWithFlags$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final class cudaStreamCreateWithFlags$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaStreamCreateWithFlags", cudaStreamCreateWithFlags$DESC); }

    public static int cudaStreamCreateWithFlags(MemorySegment pStream, int flags) {
        try { return (int) cudaStreamCreateWithFlags$MH.HANDLE.invokeExact(pStream, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaStreamDestroy$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaStreamDestroy$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaStreamDestroy", cudaStreamDestroy$DESC); }

    public static int cudaStreamDestroy(MemorySegment stream) {
        try { return (int) cudaStreamDestroy$MH.HANDLE.invokeExact(stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaStreamSynchronize$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaStreamSynchronize$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaStreamSynchronize", cudaStreamSynchronize$DESC); }

    public static int cudaStreamSynchronize(MemorySegment stream) {
        try { return (int) cudaStreamSynchronize$MH.HANDLE.invokeExact(stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaStreamWaitEvent$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final class cudaStreamWaitEvent$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaStreamWaitEvent", cudaStreamWaitEvent$DESC); }

    public static int cudaStreamWaitEvent(MemorySegment stream, MemorySegment event, int flags) {
        try { return (int) cudaStreamWaitEvent$MH.HANDLE.invokeExact(stream, event, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventCreateWithFlags$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final class cudaEventCreateWithFlags$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventCreateWithFlags", cudaEventCreateWithFlags$DESC); }

    public static int cudaEventCreateWithFlags(MemorySegment event, int flags) {
        try { return (int) cudaEventCreateWithFlags$MH.HANDLE.invokeExact(event, flags); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventRecord$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final class cudaEventRecord$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventRecord", cudaEventRecord$DESC); }

    public static int cudaEventRecord(MemorySegment event, MemorySegment stream) {
        try { return (int) cudaEventRecord$MH.HANDLE.invokeExact(event, stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventQuery$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaEventQuery$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventQuery", cudaEventQuery$DESC); }

    public static int cudaEventQuery(MemorySegment event) {
        try { return (int) cudaEventQuery$MH.HANDLE.invokeExact(event); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventSynchronize$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaEventSynchronize$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventSynchronize", cudaEventSynchronize$DESC); }

    public static int cudaEventSynchronize(MemorySegment event) {
        try { return (int) cudaEventSynchronize$MH.HANDLE.invokeExact(event); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventElapsedTime$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final class cudaEventElapsedTime$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventElapsedTime", cudaEventElapsedTime$DESC); }

    public static int cudaEventElapsedTime(MemorySegment ms, MemorySegment start, MemorySegment end) {
        try { return (int) cudaEventElapsedTime$MH.HANDLE.invokeExact(ms, start, end); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cudaEventDestroy$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cudaEventDestroy$MH { static final MethodHandle HANDLE = CudaLibraries.cudart().downcall("cudaEventDestroy", cudaEventDestroy$DESC); }

    public static int cudaEventDestroy(MemorySegment event) {
        try { return (int) cudaEventDestroy$MH.HANDLE.invokeExact(event); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
