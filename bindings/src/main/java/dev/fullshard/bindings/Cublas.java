package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into cuBLAS, one per function of {@code native-headers/cublas.h}, in the same order, and
 * the enum values fullshard uses. The library comes from {@link CudaLibraries} (libtorch's own copy);
 * handles are resolved on each function's first call, so reading the descriptors loads nothing and a
 * call on a machine without CUDA throws {@link CudaUnavailableException}.
 */
@SuppressWarnings("unused")
public final class Cublas {
    public static final int STATUS_SUCCESS = 0;
    public static final int OP_N = 0, OP_T = 1;
    /** cudaDataType_t values for A, B and C of cublasGemmEx. */
    public static final int R_32F = 0, R_16F = 2, R_16BF = 14;
    /** Accumulate in float32; alpha and beta are then float32 values. */
    public static final int COMPUTE_32F = 68;
    public static final int GEMM_DEFAULT = -1;

    private Cublas() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return CudaLibraries.cublas();
    }

    /** Throws {@link CudaException} with cuBLAS's name and text for {@code status} when it is not success. */
    public static void check(int status, String what) {
        if (status != STATUS_SUCCESS) {
            throw new CudaException(status, what + " failed: status " + status + " "
                    + NativeLibrary.cString(cublasGetStatusName(status)) + ": "
                    + NativeLibrary.cString(cublasGetStatusString(status)));
        }
    }

    public static final FunctionDescriptor cublasGetStatusName$DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
    private static final class cublasGetStatusName$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasGetStatusName", cublasGetStatusName$DESC); }

    public static MemorySegment cublasGetStatusName(int status) {
        try { return (MemorySegment) cublasGetStatusName$MH.HANDLE.invokeExact(status); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasGetStatusString$DESC = FunctionDescriptor.of(ADDRESS, JAVA_INT);
    private static final class cublasGetStatusString$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasGetStatusString", cublasGetStatusString$DESC); }

    public static MemorySegment cublasGetStatusString(int status) {
        try { return (MemorySegment) cublasGetStatusString$MH.HANDLE.invokeExact(status); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasCreate_v2$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cublasCreate_v2$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasCreate_v2", cublasCreate_v2$DESC); }

    public static int cublasCreate_v2(MemorySegment handle) {
        try { return (int) cublasCreate_v2$MH.HANDLE.invokeExact(handle); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasDestroy_v2$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class cublasDestroy_v2$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasDestroy_v2", cublasDestroy_v2$DESC); }

    public static int cublasDestroy_v2(MemorySegment handle) {
        try { return (int) cublasDestroy_v2$MH.HANDLE.invokeExact(handle); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasGetVersion_v2$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final class cublasGetVersion_v2$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasGetVersion_v2", cublasGetVersion_v2$DESC); }

    public static int cublasGetVersion_v2(MemorySegment handle, MemorySegment version) {
        try { return (int) cublasGetVersion_v2$MH.HANDLE.invokeExact(handle, version); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasSetStream_v2$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
    private static final class cublasSetStream_v2$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasSetStream_v2", cublasSetStream_v2$DESC); }

    public static int cublasSetStream_v2(MemorySegment handle, MemorySegment streamId) {
        try { return (int) cublasSetStream_v2$MH.HANDLE.invokeExact(handle, streamId); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor cublasGemmEx$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final class cublasGemmEx$MH { static final MethodHandle HANDLE = CudaLibraries.cublas().downcall("cublasGemmEx", cublasGemmEx$DESC); }

    public static int cublasGemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int Atype, int lda, MemorySegment B, int Btype, int ldb, MemorySegment beta, MemorySegment C, int Ctype, int ldc, int computeType, int algo) {
        try { return (int) cublasGemmEx$MH.HANDLE.invokeExact(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
