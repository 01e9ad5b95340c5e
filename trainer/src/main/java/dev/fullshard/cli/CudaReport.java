package dev.fullshard.cli;

import dev.fullshard.bindings.CudaLibraries;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The CUDA part of {@code fullshard doctor}: the libraries, the versions (e.g. "13.0", or why they are
 * unknown), the GPUs, and why CUDA cannot be used (empty when it can). Never throws: a machine without CUDA
 * gets a report that says why.
 */
record CudaReport(List<CudaLibraries.Library> libraries, String runtimeVersion, String driverVersion, String cublasVersion,
                  String ncclVersion, List<CudaLibraries.Gpu> gpus, Optional<String> unavailable) {
    private static final String NOT_LOADED = "not loaded";
    private static final double GIB = 1 << 30;

    /** Asks the loaded libraries; reading each GPU's free memory creates a CUDA context on it. */
    static CudaReport probe() {
        CudaLibraries.Status s;
        try {
            s = CudaLibraries.status();
        } catch (RuntimeException e) {
            return new CudaReport(List.of(), NOT_LOADED, NOT_LOADED, NOT_LOADED, NOT_LOADED, List.of(),
                    Optional.of("libtorch could not be loaded: " + e.getMessage()));
        }
        String runtime = NOT_LOADED, driver = NOT_LOADED, cublas = NOT_LOADED, nccl = NOT_LOADED;
        List<CudaLibraries.Gpu> gpus = List.of();
        Optional<String> unavailable = s.unavailable();
        if (s.cudartLoaded()) {
            runtime = query(CudaLibraries::runtimeVersion);
            driver = query(CudaLibraries::driverVersion);
            try {
                gpus = CudaLibraries.gpus();
                if (gpus.isEmpty()) unavailable = unavailable.or(() -> Optional.of("no GPU is visible (CUDA_VISIBLE_DEVICES="
                        + System.getenv("CUDA_VISIBLE_DEVICES") + ")"));
            } catch (RuntimeException e) {
                unavailable = unavailable.or(() -> Optional.of("no usable GPU: " + e.getMessage()));
            }
        }
        if (s.cublasLoaded()) {
            cublas = gpus.isEmpty() ? "unknown (cuBLAS reports its version only with a GPU)" : query(CudaLibraries::cublasVersion);
        }
        if (s.ncclLoaded()) nccl = query(CudaLibraries::ncclVersion);
        return new CudaReport(s.libraries(), runtime, driver, cublas, nccl, gpus, unavailable);
    }

    private static String query(Supplier<String> q) {
        try {
            return q.get();
        } catch (RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** The report's lines: CUDA, one per GPU, cuBLAS, one per library, NCCL. */
    void print(PrintStream out) {
        out.println("CUDA:      " + unavailable.map(why -> "not available: " + why)
                .orElse("runtime " + runtimeVersion + ", driver " + driverVersion + ", " + gpus.size() + " GPU(s)"));
        for (CudaLibraries.Gpu g : gpus) {
            out.printf("  GPU %-4d %s, %.1f GiB (%.1f GiB free), compute capability %d.%d, %d SMs%n", g.index(), g.name(),
                    g.totalBytes() / GIB, g.freeBytes() / GIB, g.computeMajor(), g.computeMinor(), g.multiprocessors());
        }
        if (!gpus.isEmpty()) out.println("  cuBLAS   " + cublasVersion);
        for (CudaLibraries.Library l : libraries) {
            out.printf("  lib      %s: %s%n", l.name(), l.file().map(f -> f + " (" + l.how() + ")").orElse(l.how()));
        }
        out.println("NCCL:      " + ncclVersion);
    }
}
