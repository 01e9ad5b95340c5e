package dev.fullshard.bindings;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Downcalls into the C library, one per function of {@code native-headers/libc.h}.
 */
@SuppressWarnings("unused")
public final class LibC {
    private static final NativeLibrary LIB = NativeLibrary.libc();

    private LibC() {
    }

    /** The library these downcalls resolve their symbols in (for the header-consistency test). */
    static NativeLibrary library() {
        return LIB;
    }

    public static final FunctionDescriptor setenv$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle setenv$MH = LIB.downcall("setenv", setenv$DESC);

    public static int setenv(MemorySegment name, MemorySegment value, int overwrite) {
        try { return (int) setenv$MH.invokeExact(name, value, overwrite); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor dup$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final MethodHandle dup$MH = LIB.downcall("dup", dup$DESC);

    public static int dup(int fd) {
        try { return (int) dup$MH.invokeExact(fd); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor dup2$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle dup2$MH = LIB.downcall("dup2", dup2$DESC);

    public static int dup2(int fd, int target) {
        try { return (int) dup2$MH.invokeExact(fd, target); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor mkstemp$DESC = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final MethodHandle mkstemp$MH = LIB.downcall("mkstemp", mkstemp$DESC);

    public static int mkstemp(MemorySegment path_template) {
        try { return (int) mkstemp$MH.invokeExact(path_template); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }

    public static final FunctionDescriptor close$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    private static final MethodHandle close$MH = LIB.downcall("close", close$DESC);

    public static int close(int fd) {
        try { return (int) close$MH.invokeExact(fd); } catch (Throwable t) { throw NativeLibrary.rethrow(t); }
    }
}
