package dev.fullshard.bindings;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Finds and loads the CUDA libraries the bindings call ({@link TorchCuda}: libtorch_cuda.so,
 * {@link CudaRuntime}: libcudart, {@link Cublas}: libcublas, {@link Nccl}: libnccl), once per process.
 *
 * <p>They must be the very copies libtorch uses: a second CUDA runtime or NCCL in the process would
 * keep its own state (streams, communicators, the current device) that libtorch never sees. So libtorch
 * is loaded first, and without its libtorch_cuda.so (a CPU-only build) no CUDA library is loaded at all.
 * Otherwise libcudart ({@code .so.13}, else {@code .so.12}), libcublas (the same) and {@code libnccl.so.2}
 * each come from the first of:
 * <ol>
 *   <li>the folders in {@code FULLSHARD_CUDA_LIB} or the system property {@code fullshard.cuda.lib}
 *       (colon-separated) — an override: libtorch keeps whatever copies it already loaded;</li>
 *   <li>the process: libtorch_cuda.so pulls in its own copies through its RPATH, found by soname;</li>
 *   <li>NVIDIA's pip wheels beside the loaded libtorch, {@code site-packages/nvidia/}{@code *}{@code /lib};</li>
 *   <li>the system loader path, then {@code /usr/local/cuda/lib64}.</li>
 * </ol>
 * The binding classes resolve their symbols here on their first call, so reading their descriptors
 * loads nothing; a call into a library that is missing throws {@link CudaUnavailableException}.
 */
public final class CudaLibraries {
    /** Where each library was loaded from. */
    public record Loaded(Path torchCuda, Path cudart, Path cublas, Path nccl) {
    }

    /** One library as searched: the file when found, and how it was found or where fullshard looked. */
    public record Library(String name, Optional<Path> file, String how) {
    }

    /** One visible GPU; memory in bytes. */
    public record Gpu(int index, String name, long totalBytes, long freeBytes, int computeMajor, int computeMinor,
                      int multiprocessors) {
    }

    /**
     * What the search found: each library as searched, which of the CUDA runtime, cuBLAS and NCCL are loaded,
     * and why CUDA cannot be used (empty when the libraries are there; a GPU is another matter).
     */
    public record Status(List<Library> libraries, boolean cudartLoaded, boolean cublasLoaded, boolean ncclLoaded,
                         Optional<String> unavailable) {
    }

    static final String TORCH_CUDA = "libtorch_cuda.so";
    static final List<String> CUDART = List.of("libcudart.so.13", "libcudart.so.12");
    static final List<String> CUBLAS = List.of("libcublas.so.13", "libcublas.so.12");
    static final List<String> NCCL = List.of("libnccl.so.2");
    private static final Path SYSTEM_CUDA = Path.of("/usr/local/cuda/lib64");

    /** Each library's report line and the handle its binding resolves symbols in (a missing one throws when called). */
    private record Search(List<Library> libraries, NativeLibrary torchCuda, NativeLibrary cudart, NativeLibrary cublas,
                          NativeLibrary nccl, Optional<Loaded> loaded, Optional<String> unavailable) {
    }

    private record Found(Path file, String how, NativeLibrary library) {
    }

    private static Search search;
    private static Boolean available;

    private CudaLibraries() {
    }

    /**
     * The loaded libraries; throws {@link CudaUnavailableException} naming what is missing and where
     * fullshard looked ({@link TorchLoadException} when libtorch itself cannot be loaded).
     */
    public static Loaded require() {
        Search s = search();
        return s.loaded().orElseThrow(() -> new CudaUnavailableException("CUDA is not available: " + s.unavailable().orElseThrow()));
    }

    /** True when libtorch is a CUDA build, every library loaded and at least one GPU is visible; never throws. */
    public static synchronized boolean available() {
        if (available == null) {
            try {
                if (search().loaded().isEmpty()) return available = false;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment count = arena.allocate(JAVA_INT);
                    available = CudaRuntime.cudaGetDeviceCount(count) == 0 && count.get(JAVA_INT, 0) > 0;
                }
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }
        return available;
    }

    /** What the search found; throws {@link TorchLoadException} when libtorch itself cannot be loaded. */
    public static Status status() {
        Search s = search();
        return new Status(s.libraries(), s.cudart().isLoaded(), s.cublas().isLoaded(), s.nccl().isLoaded(), s.unavailable());
    }

    static NativeLibrary torchCuda() {
        return bound(Search::torchCuda);
    }

    static NativeLibrary cudart() {
        return bound(Search::cudart);
    }

    static NativeLibrary cublas() {
        return bound(Search::cublas);
    }

    static NativeLibrary nccl() {
        return bound(Search::nccl);
    }

    /** Never throws: a binding's handles are made in a class initialiser, where an exception would become an Error. */
    private static NativeLibrary bound(Function<Search, NativeLibrary> which) {
        try {
            return which.apply(search());
        } catch (RuntimeException e) {
            return NativeLibrary.missing("CUDA", () -> new CudaUnavailableException(
                    "CUDA is not available: libtorch could not be loaded: " + e.getMessage()));
        }
    }

    // ------------------------------------------------------------------ the search

    private static synchronized Search search() {
        if (search != null) return search;
        TorchLibrary.Loaded torch = TorchLibrary.load();
        Optional<Path> torchCuda = torch.libraries().stream().filter(p -> p.getFileName().toString().equals(TORCH_CUDA)).findFirst();
        if (torchCuda.isEmpty()) {
            String why = withoutTorchCuda(torch);
            NativeLibrary none = NativeLibrary.missing("CUDA", () -> new CudaUnavailableException("CUDA is not available: " + why));
            return search = new Search(List.of(new Library(TORCH_CUDA, Optional.empty(), "not loaded by libtorch")),
                    none, none, none, none, Optional.empty(), Optional.of(why));
        }
        // Loading by path an object that is already loaded returns it: this is libtorch's own copy.
        NativeLibrary torchCudaLib = new NativeLibrary(TORCH_CUDA, SymbolLookup.libraryLookup(torchCuda.get(), Arena.global()));
        List<Path> explicit = explicitFolders();
        List<Library> libraries = new ArrayList<>(List.of(new Library(TORCH_CUDA, torchCuda, "loaded by libtorch")));
        List<Optional<Found>> found = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (List<String> sonames : List.of(CUDART, CUBLAS, NCCL)) {
            List<String> looked = new ArrayList<>();
            Optional<Found> f = find(sonames, explicit, torch.directory(), looked);
            if (f.isPresent()) {
                libraries.add(new Library(f.get().library().name(), Optional.of(f.get().file()), f.get().how()));
            } else {
                String name = String.join(" or ", sonames);
                libraries.add(new Library(name, Optional.empty(), "not found; looked in " + String.join(", ", looked)));
                missing.add(name + " (looked in " + String.join(", ", looked) + ")");
            }
            found.add(f);
        }
        Optional<String> why = missing.isEmpty() ? Optional.empty() : Optional.of(TORCH_CUDA + " is loaded, but not found: "
                + String.join("; ", missing) + "; set FULLSHARD_CUDA_LIB to the folder that holds it");
        Function<Optional<Found>, NativeLibrary> bind = f -> f.map(Found::library).orElseGet(() -> NativeLibrary.missing("CUDA",
                () -> new CudaUnavailableException("CUDA is not available: " + why.orElseThrow())));
        Optional<Loaded> loaded = why.isPresent() ? Optional.empty() : Optional.of(new Loaded(torchCuda.get(),
                found.get(0).orElseThrow().file(), found.get(1).orElseThrow().file(), found.get(2).orElseThrow().file()));
        return search = new Search(List.copyOf(libraries), torchCudaLib, bind.apply(found.get(0)), bind.apply(found.get(1)),
                bind.apply(found.get(2)), loaded, why);
    }

    private static String withoutTorchCuda(TorchLibrary.Loaded torch) {
        Path file = torch.directory().resolve(TORCH_CUDA);
        if (Files.isRegularFile(file)) {
            String notes = String.join("; ", torch.notes().stream().filter(n -> n.startsWith("CUDA libraries not loaded")).toList());
            return file + " did not load" + (notes.isEmpty() ? "" : " (" + notes + ")") + "; `ldd " + file + "` shows what it misses";
        }
        return "the loaded libtorch (" + torch.directory() + ", " + torch.version() + ") is a CPU-only build (no " + TORCH_CUDA
                + "); install a CUDA build of PyTorch 2.10+ or point --torch-lib/FULLSHARD_TORCH_LIB at one";
    }

    /** The first of {@code sonames} in the places of the class comment, in order; the places tried go to {@code looked}. */
    private static Optional<Found> find(List<String> sonames, List<Path> explicit, Path torchLib, List<String> looked) {
        Optional<Found> f = fromFolders(sonames, explicit, "from FULLSHARD_CUDA_LIB", looked);
        if (f.isEmpty()) f = alreadyLoaded(sonames, looked);
        if (f.isEmpty()) f = fromFolders(sonames, wheelFolders(torchLib), "from PyTorch's NVIDIA wheels", looked);
        if (f.isEmpty()) f = fromLoaderPath(sonames, looked);
        if (f.isEmpty()) f = fromFolders(sonames, List.of(SYSTEM_CUDA), "from the CUDA toolkit", looked);
        return f;
    }

    private static Optional<Found> fromFolders(List<String> sonames, List<Path> folders, String how, List<String> looked) {
        folders.forEach(dir -> looked.add(dir.toString()));
        Optional<Path> file = firstFile(folders, sonames);
        if (file.isEmpty()) return Optional.empty();
        try {
            return Optional.of(new Found(file.get(), how, new NativeLibrary(file.get().getFileName().toString(),
                    SymbolLookup.libraryLookup(file.get(), Arena.global()))));
        } catch (IllegalArgumentException e) {
            looked.add(file.get() + " (could not load it: " + e.getMessage() + ")");
            return Optional.empty();
        }
    }

    private static Optional<Found> alreadyLoaded(List<String> sonames, List<String> looked) {
        looked.add("the libraries already loaded");
        List<Path> mapped = mappedFiles();
        for (String soname : sonames) {
            Optional<Path> file = mappedFile(mapped, soname);
            if (file.isPresent()) {
                return Optional.of(new Found(file.get(), "already in the process (libtorch's copy)",
                        new NativeLibrary(soname, SymbolLookup.libraryLookup(file.get(), Arena.global()))));
            }
        }
        return Optional.empty();
    }

    private static Optional<Found> fromLoaderPath(List<String> sonames, List<String> looked) {
        looked.add("the system loader path");
        for (String soname : sonames) {
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(soname, Arena.global());
                return Optional.of(new Found(mappedFile(mappedFiles(), soname).orElse(Path.of(soname)), "from the system loader path",
                        new NativeLibrary(soname, lookup)));
            } catch (IllegalArgumentException e) {
                // not on the loader path: try the next soname
            }
        }
        return Optional.empty();
    }

    private static List<Path> explicitFolders() {
        String value = TorchLibrary.setting("FULLSHARD_CUDA_LIB", "fullshard.cuda.lib");
        if (value == null) return List.of();
        return Stream.of(value.split(":")).filter(s -> !s.isBlank()).map(Path::of).toList();
    }

    /** {@code site-packages/nvidia/}{@code *}{@code /lib} beside {@code torchLib} (= {@code site-packages/torch/lib}), sorted. */
    static List<Path> wheelFolders(Path torchLib) {
        Path torch = torchLib.toAbsolutePath().getParent();
        if (torch == null || torch.getParent() == null) return List.of();
        Path nvidia = torch.getParent().resolve("nvidia");
        if (!Files.isDirectory(nvidia)) return List.of();
        try (Stream<Path> packages = Files.list(nvidia)) {
            return packages.map(p -> p.resolve("lib")).filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The first existing {@code folder/soname}, trying every folder for a soname before the next soname (newest first). */
    static Optional<Path> firstFile(List<Path> folders, List<String> sonames) {
        for (String soname : sonames) {
            for (Path dir : folders) {
                Path file = dir.resolve(soname);
                if (Files.isRegularFile(file)) return Optional.of(file);
            }
        }
        return Optional.empty();
    }

    /** The mapped file that is {@code soname} or a versioned file behind it ({@code libcudart.so.13.0.96}). */
    static Optional<Path> mappedFile(List<Path> mapped, String soname) {
        return mapped.stream().filter(p -> {
            String name = p.getFileName().toString();
            return name.equals(soname) || name.startsWith(soname + ".");
        }).findFirst();
    }

    /** The files mapped into this process, from /proc/self/maps. */
    private static List<Path> mappedFiles() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.indexOf('/') >= 0).map(l -> Path.of(l.substring(l.indexOf('/')).strip())).distinct().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    // ------------------------------------------------------------------ versions and GPUs, for diagnostics

    /**
     * The CUDA runtime's version, e.g. "13.0". This and the queries below throw {@link CudaUnavailableException}
     * when their library is not loaded, and a {@code CudaException} when the library cannot answer.
     */
    public static String runtimeVersion() {
        return cudaVersion(CudaRuntime::cudaRuntimeGetVersion, "cudaRuntimeGetVersion");
    }

    /** The newest CUDA version the driver supports, e.g. "13.0"; "none" without a driver. */
    public static String driverVersion() {
        return cudaVersion(CudaRuntime::cudaDriverGetVersion, "cudaDriverGetVersion");
    }

    /** CUDA encodes versions as 1000*major + 10*minor. */
    private static String cudaVersion(ToIntFunction<MemorySegment> call, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            CudaRuntime.check(call.applyAsInt(v), what);
            int version = v.get(JAVA_INT, 0);
            return version == 0 ? "none" : version / 1000 + "." + version % 1000 / 10;
        }
    }

    /** NCCL's version, e.g. "2.27.3". */
    public static String ncclVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            Nccl.check(Nccl.ncclGetVersion(v), "ncclGetVersion");
            int code = v.get(JAVA_INT, 0);   // 10000*major + 100*minor + patch
            return code / 10000 + "." + code % 10000 / 100 + "." + code % 100;
        }
    }

    /** cuBLAS's version, e.g. "13.0.0"; cuBLAS tells it only through a handle, which needs a GPU (the current one). */
    public static String cublasVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ADDRESS), v = arena.allocate(JAVA_INT);
            Cublas.check(Cublas.cublasCreate_v2(handle), "cublasCreate_v2");
            try {
                Cublas.check(Cublas.cublasGetVersion_v2(handle.get(ADDRESS, 0), v), "cublasGetVersion_v2");
            } finally {
                Cublas.cublasDestroy_v2(handle.get(ADDRESS, 0));
            }
            int code = v.get(JAVA_INT, 0);
            return code / 10000 + "." + code % 10000 / 100 + "." + code % 100;
        }
    }

    /**
     * The visible GPUs. Reading each one's free memory creates a CUDA context on it, so this is for diagnostics,
     * not for a training process.
     */
    public static List<Gpu> gpus() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT), current = arena.allocate(JAVA_INT), value = arena.allocate(JAVA_INT);
            MemorySegment free = arena.allocate(JAVA_LONG), total = arena.allocate(JAVA_LONG);
            MemorySegment prop = arena.allocate(CudaRuntime.DEVICE_PROP_BYTES);
            CudaRuntime.check(CudaRuntime.cudaGetDeviceCount(count), "cudaGetDeviceCount");
            CudaRuntime.check(CudaRuntime.cudaGetDevice(current), "cudaGetDevice");
            List<Gpu> gpus = new ArrayList<>();
            try {
                for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                    CudaRuntime.check(CudaRuntime.cudaSetDevice(i), "cudaSetDevice");
                    CudaRuntime.check(CudaRuntime.cudaGetDeviceProperties(prop, i), "cudaGetDeviceProperties");
                    CudaRuntime.check(CudaRuntime.cudaMemGetInfo(free, total), "cudaMemGetInfo");
                    gpus.add(new Gpu(i, prop.getString(0), total.get(JAVA_LONG, 0), free.get(JAVA_LONG, 0),
                            attribute(value, CudaRuntime.ATTR_COMPUTE_CAPABILITY_MAJOR, i),
                            attribute(value, CudaRuntime.ATTR_COMPUTE_CAPABILITY_MINOR, i),
                            attribute(value, CudaRuntime.ATTR_MULTIPROCESSOR_COUNT, i)));
                }
            } finally {
                CudaRuntime.cudaSetDevice(current.get(JAVA_INT, 0));
            }
            return gpus;
        }
    }

    private static int attribute(MemorySegment value, int attr, int device) {
        CudaRuntime.check(CudaRuntime.cudaDeviceGetAttribute(value, attr, device), "cudaDeviceGetAttribute(" + attr + ")");
        return value.get(JAVA_INT, 0);
    }
}
