package dev.fullshard.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and loads MPICH ({@code libmpich.so.12}, else {@code libmpi.so.12}) by soname from the system
 * library path, after putting {@code UCX_ERROR_SIGNALS=} (empty) into the C environment: UCX hooks
 * SIGSEGV/SIGBUS/SIGFPE/SIGILL when libucs loads (with libmpich), and without that variable the JVM's
 * first implicit exception would kill the process. A value already in the environment is kept.
 */
public final class MpiLibrary {
    /** The sonames tried, in order (MPICH's ABI; Open MPI's libmpi.so.40 is a different ABI and not used). */
    public static final List<String> SONAMES = List.of("libmpich.so.12", "libmpi.so.12");

    private static NativeLibrary loaded;
    private static String failure;

    private MpiLibrary() {
    }

    /** True when MPICH can be loaded (loads it on the first call). */
    public static synchronized boolean isAvailable() {
        tryLoad();
        return loaded != null;
    }

    /**
     * The loaded library; throws {@link IllegalStateException} naming {@code worldSize} and how to install
     * MPICH when it cannot be loaded.
     */
    public static synchronized NativeLibrary require(int worldSize) {
        tryLoad();
        if (loaded == null) {
            throw new IllegalStateException("world size " + worldSize + " > 1 needs MPI: install MPICH (`apt-get install mpich`); " + failure);
        }
        return loaded;
    }

    static synchronized NativeLibrary get() {
        tryLoad();
        if (loaded == null) throw new IllegalStateException("MPI is not available: install MPICH (`apt-get install mpich`); " + failure);
        return loaded;
    }

    private static void tryLoad() {
        if (loaded != null || failure != null) return;
        if (System.getenv("UCX_ERROR_SIGNALS") == null) Environment.set("UCX_ERROR_SIGNALS", "");
        List<String> problems = new ArrayList<>();
        for (String soname : SONAMES) {
            try {
                loaded = new NativeLibrary(soname, SymbolLookup.libraryLookup(soname, Arena.global()));
                return;
            } catch (IllegalArgumentException e) {
                problems.add(soname + ": " + e.getMessage());
            }
        }
        failure = "could not load " + String.join(", ", problems);
    }
}
