package dev.fullshard.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Finds libtorch, sets the thread-count environment, and loads the libraries in dependency order.
 *
 * <p>Where libtorch comes from, first match wins:
 * <ol>
 *   <li>an explicit directory: {@link #useDirectory}, the CLI's {@code --torch-lib}, the environment
 *       variable {@code FULLSHARD_TORCH_LIB} or the system property {@code fullshard.torch.lib}
 *       (the value {@code bundled} skips straight to 3);</li>
 *   <li>an installed PyTorch 2.10 or newer, its {@code torch/lib} (see {@link PyTorchInstalls});</li>
 *   <li>the CPU build carried by the {@code org.bytedeco:pytorch} and {@code openblas} jars on the
 *       class path, extracted once into {@code <cache>/natives/<versions>} where the cache is
 *       {@code FULLSHARD_CACHE_DIR}, {@code $XDG_CACHE_HOME/fullshard} or {@code ~/.cache/fullshard}.</li>
 * </ol>
 *
 * <p>Threads: libtorch's OpenMP pool and the bundled OpenBLAS pool size themselves from the environment
 * when they load, and the C ABI has no setter. Before loading, unless the user set them,
 * {@code OMP_NUM_THREADS} becomes {@code FULLSHARD_NUM_THREADS} (default: the number of available
 * processors) and {@code OPENBLAS_NUM_THREADS} becomes the same value. With OpenBLAS in the libtorch
 * folder (the bundled build) on a CPU without native bfloat16, {@code GOMP_SPINCOUNT} becomes 0 unless it or
 * {@code OMP_WAIT_POLICY} is set: OpenMP's idle threads then sleep at once rather than spin against
 * OpenBLAS's threads. With OpenBLAS, {@code OPENBLAS_THREAD_TIMEOUT} becomes 16 unless set: OpenBLAS's idle
 * threads then poll for 2^16 cycles, not 2^28, before they sleep.
 */
public final class TorchLibrary {
    /** Where the loaded libtorch came from. */
    public enum Source { EXPLICIT, PYTORCH, BUNDLED }

    /** What was loaded, from where, and why other places were not used. */
    public record Loaded(Source source, Path directory, String version, List<Path> libraries,
                         List<String> notes, String threadEnvironment) {
    }

    static final String BUNDLED = "bundled";
    private static final String OPENBLAS = "libopenblas.so.0";
    private static final String COMPLETE_MARKER = ".complete";
    /** Dependencies first: the loader then satisfies each later DT_NEEDED by soname from what is loaded. */
    private static final List<String> LOAD_ORDER = List.of(
            "libquadmath.so.0", "libgfortran.so.5", OPENBLAS, "libgomp.so.1", "libc10.so", "libtorch_cpu.so");
    /** Present only in CUDA builds of PyTorch; libtorch_cuda.so registers the CUDA kernels when it loads. */
    private static final List<String> OPTIONAL_CUDA = List.of("libc10_cuda.so", "libtorch_cuda.so", "libtorch.so");
    private static final String TORCH_RESOURCES = "org/bytedeco/pytorch/linux-x86_64/";
    private static final String OPENBLAS_RESOURCES = "org/bytedeco/openblas/linux-x86_64/";
    private static final List<String> BUNDLED_FILES = List.of(
            OPENBLAS_RESOURCES + "libquadmath.so.0", OPENBLAS_RESOURCES + "libgfortran.so.5",
            OPENBLAS_RESOURCES + "libopenblas.so.0", TORCH_RESOURCES + "libgomp.so.1",
            TORCH_RESOURCES + "libc10.so", TORCH_RESOURCES + "libtorch_cpu.so");

    private static String requestedDirectory;
    private static Loaded loaded;
    private static NativeLibrary library;
    private static SymbolLookup openBlas;

    private TorchLibrary() {
    }

    /** Asks for libtorch from {@code dir} (or "bundled"); must be called before anything loads it. */
    public static synchronized void useDirectory(String dir) {
        if (loaded != null) {
            throw new IllegalStateException("libtorch is already loaded from " + loaded.directory()
                    + "; choose the directory before the first tensor operation");
        }
        requestedDirectory = dir;
    }

    /** Loads libtorch once per process and says what was loaded. */
    public static synchronized Loaded load() {
        if (loaded == null) {
            List<String> notes = new ArrayList<>();
            NativeStderr.install();
            Located where = locate(notes);
            String threads = applyThreadEnvironment(where.dir());
            List<Path> libs = new ArrayList<>();
            SymbolLookup torch = loadFrom(where.dir(), libs, notes);
            if (torch == null) {
                throw new TorchLoadException("no libtorch_cpu.so in " + where.dir() + " any more (was it removed while fullshard started?)");
            }
            if (torch.find("torch_call_dispatcher").isEmpty()) {
                throw new TorchLoadException("libtorch in " + where.dir() + " has no torch_call_dispatcher: "
                        + "fullshard needs libtorch 2.10 or newer");
            }
            library = new NativeLibrary("libtorch_cpu.so", torch);
            loaded = new Loaded(where.source(), where.dir(), where.version(), List.copyOf(libs), List.copyOf(notes), threads);
        }
        return loaded;
    }

    /** The loaded libtorch, or empty when nothing has loaded it yet. */
    public static synchronized Optional<Loaded> loadedIfAny() {
        return Optional.ofNullable(loaded);
    }

    static NativeLibrary library() {
        load();
        return library;
    }

    /** The OpenBLAS loaded with libtorch (the bundled build), or a library whose calls fail (other builds). */
    static NativeLibrary openBlas() {
        load();
        return openBlas != null ? new NativeLibrary(OPENBLAS, openBlas)
                : NativeLibrary.missing(OPENBLAS, () -> new IllegalStateException("the loaded libtorch (" + loaded.directory() + ") uses no OpenBLAS"));
    }

    private record Located(Source source, Path dir, String version) {
    }

    private static Located locate(List<String> notes) {
        String requested = requestedDirectory != null ? requestedDirectory : setting("FULLSHARD_TORCH_LIB", "fullshard.torch.lib");
        if (requested != null && !requested.isBlank() && !requested.equals(BUNDLED)) {
            Path dir = Path.of(requested).toAbsolutePath();
            if (!Files.isRegularFile(dir.resolve("libtorch_cpu.so"))) {
                throw new TorchLoadException("the libtorch directory " + dir + " (from --torch-lib, FULLSHARD_TORCH_LIB or "
                        + "fullshard.torch.lib) has no libtorch_cpu.so; give the folder that holds it, e.g. .../site-packages/torch/lib");
            }
            return new Located(Source.EXPLICIT, dir, "unknown (explicit directory)");
        }
        if (requested == null || requested.isBlank()) {
            Optional<PyTorchInstalls.Install> install = PyTorchInstalls.findUsable(notes);
            if (install.isPresent()) {
                return new Located(Source.PYTORCH, install.get().lib(), "PyTorch " + install.get().version());
            }
            notes.add("no usable PyTorch installation found; using the bundled CPU build");
        }
        Properties versions = bundledVersions();
        return new Located(Source.BUNDLED, extractBundled(versions),
                "bundled CPU build org.bytedeco:pytorch:" + versions.getProperty("pytorch"));
    }

    private static SymbolLookup loadFrom(Path dir, List<Path> loadedLibs, List<String> notes) {
        SymbolLookup torch = null;
        for (String name : LOAD_ORDER) {
            Path lib = dir.resolve(name);
            if (!Files.isRegularFile(lib)) continue;
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(lib, Arena.global());
                loadedLibs.add(lib);
                if (name.equals("libtorch_cpu.so")) torch = lookup;
                if (name.equals(OPENBLAS)) openBlas = lookup;
            } catch (IllegalArgumentException e) {
                throw new TorchLoadException("could not load " + lib + ": " + e.getMessage()
                        + " (a dependency may be missing; `ldd " + lib + "` shows which)", e);
            }
        }
        for (String name : OPTIONAL_CUDA) {
            Path lib = dir.resolve(name);
            if (!Files.isRegularFile(lib)) continue;
            try {
                SymbolLookup.libraryLookup(lib, Arena.global());
                loadedLibs.add(lib);
            } catch (IllegalArgumentException e) {
                notes.add("CUDA libraries not loaded: " + lib.getFileName() + " failed: " + e.getMessage());
                break;
            }
        }
        return torch;
    }

    private static String applyThreadEnvironment(Path torchDir) {
        String configured = setting("FULLSHARD_NUM_THREADS", "fullshard.threads");
        String threads = configured != null ? configured : Integer.toString(Runtime.getRuntime().availableProcessors());
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp == null) {
            Environment.set("OMP_NUM_THREADS", threads);
            omp = threads;
        }
        String openblas = System.getenv("OPENBLAS_NUM_THREADS");
        if (openblas == null) {
            Environment.set("OPENBLAS_NUM_THREADS", omp);
            openblas = omp;
        }
        String environment = "OMP_NUM_THREADS=" + omp + " OPENBLAS_NUM_THREADS=" + openblas;
        // With OpenBLAS (the bundled build), float32 matrix products run on OpenBLAS's own threads while
        // libgomp's threads, idle between libtorch's parallel regions, spin for up to 300,000 iterations before
        // they sleep: on few cores the two pools take the cores from each other. Measured on 2 AVX2 cores,
        // float32: 125m 36 → 137 tokens/s, tiny 1,137 → 2,048 with libgomp's threads sleeping at once; bfloat16
        // (oneDNN, on the OpenMP pool alone) unchanged. Where the CPU computes bfloat16 natively, bfloat16 is the
        // training path and lost from it, so the spinning stays there.
        boolean openBlas = Files.isRegularFile(torchDir.resolve(OPENBLAS));
        if (openBlas && !CpuFlags.nativeBf16()
                && System.getenv("GOMP_SPINCOUNT") == null && System.getenv("OMP_WAIT_POLICY") == null) {
            Environment.set("GOMP_SPINCOUNT", "0");
            environment += " GOMP_SPINCOUNT=0";
        }
        // The other way round: after each matrix product OpenBLAS's idle threads poll for new work for 2^28
        // cycles (about 0.1 s) before they sleep, and take a core from the OpenMP threads of whatever op comes
        // next. 2^16 cycles (tens of microseconds) still spans the gap between the products of one layer.
        // Measured on 2 AVX2 cores, 125m float32: the CPU flash-attention backward 361 → 187-230 ms and
        // log-softmax 66 → 26-39 ms per step; 2^4 and 2^13 made the products themselves slower (3.0 → 3.4 s).
        if (openBlas && System.getenv("OPENBLAS_THREAD_TIMEOUT") == null) {
            Environment.set("OPENBLAS_THREAD_TIMEOUT", "16");
            environment += " OPENBLAS_THREAD_TIMEOUT=16";
        }
        return environment;
    }

    static String setting(String envName, String propertyName) {
        String value = System.getProperty(propertyName);
        return value != null ? value : System.getenv(envName);
    }

    /** fullshard's cache folder: FULLSHARD_CACHE_DIR, else $XDG_CACHE_HOME/fullshard, else ~/.cache/fullshard. */
    public static Path cacheRoot() {
        String dir = setting("FULLSHARD_CACHE_DIR", "fullshard.cache.dir");
        if (dir != null) return Path.of(dir);
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("fullshard");
    }

    private static Properties bundledVersions() {
        Properties p = new Properties();
        try (InputStream in = TorchLibrary.class.getResourceAsStream("natives.properties")) {
            if (in == null) throw new TorchLoadException("natives.properties missing from the bindings jar");
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    /**
     * Extracts the bundled .so files once. Several ranks may start at the same moment: the first takes
     * a file lock and extracts into a temporary folder that it renames into place only when complete;
     * the others wait on the lock and then find the finished folder.
     */
    static Path extractBundled(Properties versions) {
        String key = "pytorch-" + versions.getProperty("pytorch") + "_openblas-" + versions.getProperty("openblas") + "-linux-x86_64";
        Path root = cacheRoot().resolve("natives");
        Path dir = root.resolve(key);
        if (Files.isRegularFile(dir.resolve(COMPLETE_MARKER))) return dir;
        ClassLoader loader = TorchLibrary.class.getClassLoader();
        if (loader.getResource(TORCH_RESOURCES + "libtorch_cpu.so") == null) {
            throw new TorchLoadException("no libtorch found: no --torch-lib/FULLSHARD_TORCH_LIB, no PyTorch 2.10+ installation, "
                    + "and the org.bytedeco:pytorch:linux-x86_64 jar is not on the class path");
        }
        try {
            Files.createDirectories(root);
            try (FileChannel channel = FileChannel.open(root.resolve(key + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                if (Files.isRegularFile(dir.resolve(COMPLETE_MARKER))) return dir;
                // Holding the lock, any temporary folder left is from an extraction that died.
                try (Stream<Path> stale = Files.list(root)) {
                    for (Path old : stale.filter(p -> p.getFileName().toString().startsWith(key + ".tmp-")).toList()) deleteTree(old);
                }
                Path tmp = Files.createTempDirectory(root, key + ".tmp-");
                for (String resource : BUNDLED_FILES) {
                    try (InputStream in = loader.getResourceAsStream(resource)) {
                        if (in == null) throw new TorchLoadException("bundled natives incomplete: " + resource + " is not on the class path");
                        Files.copy(in, tmp.resolve(resource.substring(resource.lastIndexOf('/') + 1)));
                    }
                }
                Files.writeString(tmp.resolve(COMPLETE_MARKER), key + "\n");
                // createTempDirectory makes it private to this user; the cache may be shared.
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
                if (Files.exists(dir)) deleteTree(dir);
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new TorchLoadException("could not extract the bundled libtorch into " + dir + ": " + e.getMessage()
                    + " (set FULLSHARD_CACHE_DIR to a writable folder)", e);
        }
        return dir;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
