package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into the OpenBLAS the loaded libtorch uses, one per function of {@code native-headers/openblas.h};
 * {@link #isLoaded()} is false for libtorch builds without it (calls then throw).
 */
@SuppressWarnings("unused")
public final class OpenBlas {
    private static final NativeLibrary LIB = TorchLibrary.openBlas();

    private OpenBlas() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return LIB;
    }

    /** Whether the loaded libtorch runs its float matrix products on this OpenBLAS. */
    public static boolean isLoaded() {
        return LIB.find("openblas_set_num_threads").isPresent();
    }

    public static final FunctionDescriptor openblas_set_num_threads$DESC = FunctionDescriptor.ofVoid(JAVA_INT);
    private static final class openblas_set_num_threads$MH { static final MethodHandle HANDLE = LIB.downcall("openblas_set_num_threads", openblas_set_num_threads$DESC); }

    public static void openblas_set_num_threads(int num_threads) {
        try { openblas_set_num_threads$MH.HANDLE.invokeExact(num_threads); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor openblas_get_num_threads$DESC = FunctionDescriptor.of(JAVA_INT);
    private static final class openblas_get_num_threads$MH { static final MethodHandle HANDLE = LIB.downcall("openblas_get_num_threads", openblas_get_num_threads$DESC); }

    public static int openblas_get_num_threads() {
        try { return (int) openblas_get_num_threads$MH.HANDLE.invokeExact(); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
