package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into the CUDA part of libtorch's C shim, one per function of {@code native-headers/torch_cuda.h},
 * in the same order. They live in libtorch_cuda.so (a CUDA build only), found through {@link CudaLibraries};
 * handles are resolved on each function's first call, so reading the descriptors loads nothing and a
 * call with a CPU-only libtorch throws {@link CudaUnavailableException}.
 */
@SuppressWarnings("unused")
public final class TorchCuda {
    private TorchCuda() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return CudaLibraries.torchCuda();
    }

    /** Throws {@link CudaException} with libtorch's message (captured from stderr) when {@code rc} is not 0. */
    public static void check(int rc, String what) {
        if (rc != 0) {
            String message = NativeStderr.lastError();
            throw new CudaException(rc, what + " failed" + (message.isEmpty() ? " (libtorch's message was not captured)" : ": " + message));
        }
    }

    public static final FunctionDescriptor aoti_torch_get_current_cuda_stream$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static final class aoti_torch_get_current_cuda_stream$MH { static final MethodHandle HANDLE = CudaLibraries.torchCuda().downcall("aoti_torch_get_current_cuda_stream", aoti_torch_get_current_cuda_stream$DESC); }

    public static int aoti_torch_get_current_cuda_stream(int device_index, MemorySegment ret_stream) {
        try { return (int) aoti_torch_get_current_cuda_stream$MH.HANDLE.invokeExact(device_index, ret_stream); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_create_cuda_guard$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    private static final class aoti_torch_create_cuda_guard$MH { static final MethodHandle HANDLE = CudaLibraries.torchCuda().downcall("aoti_torch_create_cuda_guard", aoti_torch_create_cuda_guard$DESC); }

    public static int aoti_torch_create_cuda_guard(int device_index, MemorySegment ret_guard) {
        try { return (int) aoti_torch_create_cuda_guard$MH.HANDLE.invokeExact(device_index, ret_guard); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_delete_cuda_guard$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final class aoti_torch_delete_cuda_guard$MH { static final MethodHandle HANDLE = CudaLibraries.torchCuda().downcall("aoti_torch_delete_cuda_guard", aoti_torch_delete_cuda_guard$DESC); }

    public static int aoti_torch_delete_cuda_guard(MemorySegment guard) {
        try { return (int) aoti_torch_delete_cuda_guard$MH.HANDLE.invokeExact(guard); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor aoti_torch_cuda_guard_set_index$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
    private static final class aoti_torch_cuda_guard_set_index$MH { static final MethodHandle HANDLE = CudaLibraries.torchCuda().downcall("aoti_torch_cuda_guard_set_index", aoti_torch_cuda_guard_set_index$DESC); }

    public static int aoti_torch_cuda_guard_set_index(MemorySegment guard, int device_index) {
        try { return (int) aoti_torch_cuda_guard_set_index$MH.HANDLE.invokeExact(guard, device_index); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
