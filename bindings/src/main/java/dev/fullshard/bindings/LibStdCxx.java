package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into the C++ runtime, one per function of {@code native-headers/libstdcxx.h}.
 */
@SuppressWarnings("unused")
public final class LibStdCxx {
    private static final NativeLibrary LIB = NativeLibrary.of("libstdc++.so.6");

    private LibStdCxx() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return LIB;
    }

    public static final FunctionDescriptor _Znwm$DESC = FunctionDescriptor.of(ADDRESS, JAVA_LONG);
    private static final MethodHandle _Znwm$MH = LIB.downcall("_Znwm", _Znwm$DESC);

    public static MemorySegment _Znwm(long size) {
        try { return (MemorySegment) _Znwm$MH.invokeExact(size); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor _ZdlPv$DESC = FunctionDescriptor.ofVoid(ADDRESS);
    private static final MethodHandle _ZdlPv$MH = LIB.downcall("_ZdlPv", _ZdlPv$DESC);

    public static void _ZdlPv(MemorySegment ptr) {
        try { _ZdlPv$MH.invokeExact(ptr); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
