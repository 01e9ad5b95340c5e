package dev.fullshard.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** A loaded shared library: finds its symbols and makes downcall handles for them. */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String name;
    private final SymbolLookup lookup;

    NativeLibrary(String name, SymbolLookup lookup) {
        this.name = name;
        this.lookup = lookup;
    }

    /** A library already loaded into the process (or on the loader's path), by soname; never unloaded. */
    static NativeLibrary of(String soname) {
        return new NativeLibrary(soname, SymbolLookup.libraryLookup(soname, Arena.global()));
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

    MethodHandle downcall(String symbol, FunctionDescriptor descriptor) {
        MemorySegment address = find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(
                "symbol " + symbol + " not found in " + name));
        return LINKER.downcallHandle(address, descriptor);
    }

    /** Downcalls declare Throwable; only errors and runtime exceptions can actually come out of them. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("unexpected checked exception from a downcall", t);
    }
}
