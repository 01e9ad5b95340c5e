package dev.fullshard.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Optional;
import java.util.function.Supplier;

/** A loaded shared library (or a {@link #missing} one): finds its symbols and makes downcall handles for them. */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle RAISE;

    static {
        try {
            RAISE = MethodHandles.lookup().findStatic(NativeLibrary.class, "raise", MethodType.methodType(Object.class, Supplier.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final SymbolLookup lookup;
    /** Null for a loaded library; for a missing one, what its downcalls throw. */
    private final Supplier<? extends RuntimeException> missing;

    NativeLibrary(String name, SymbolLookup lookup) {
        this(name, lookup, null);
    }

    private NativeLibrary(String name, SymbolLookup lookup, Supplier<? extends RuntimeException> missing) {
        this.name = name;
        this.lookup = lookup;
        this.missing = missing;
    }

    /** A library already loaded into the process (or on the loader's path), by soname; never unloaded. */
    static NativeLibrary of(String soname) {
        return new NativeLibrary(soname, SymbolLookup.libraryLookup(soname, Arena.global()));
    }

    /**
     * A library that is not there: it finds no symbol, and each downcall handle made from it throws
     * {@code failure}'s exception when invoked. Classes binding an optional library (CUDA) resolve their
     * handles through it, so that on a machine without the library the first call fails with that
     * exception instead of an error from a class initialiser.
     */
    static NativeLibrary missing(String name, Supplier<? extends RuntimeException> failure) {
        return new NativeLibrary(name, symbol -> Optional.empty(), failure);
    }

    static NativeLibrary libc() {
        return new NativeLibrary("libc", LINKER.defaultLookup());
    }

    public String name() {
        return name;
    }

    public Optional<MemorySegment> find(String symbol) {
        return lookup.find(symbol);
    }

    /** False for a {@link #missing} library. */
    boolean isLoaded() {
        return missing == null;
    }

    MethodHandle downcall(String symbol, FunctionDescriptor descriptor) {
        if (missing != null) {
            MethodType type = descriptor.toMethodType();
            MethodHandle raise = RAISE.bindTo(missing).asType(MethodType.methodType(type.returnType()));
            return MethodHandles.dropArguments(raise, 0, type.parameterList());
        }
        MemorySegment address = find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(
                "symbol " + symbol + " not found in " + name));
        return LINKER.downcallHandle(address, descriptor);
    }

    /** The NUL-terminated text a C function returned (a zero-length segment); "" for NULL. */
    public static String cString(MemorySegment text) {
        return text.equals(MemorySegment.NULL) ? "" : text.reinterpret(Integer.MAX_VALUE).getString(0);
    }

    private static Object raise(Supplier<? extends RuntimeException> failure) {
        throw failure.get();
    }

    /** Downcalls declare Throwable; only errors and runtime exceptions can actually come out of them. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }
}
