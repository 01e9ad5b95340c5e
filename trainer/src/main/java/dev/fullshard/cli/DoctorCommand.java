package dev.fullshard.cli;

import dev.fullshard.bindings.CpuFlags;
import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.bindings.TorchLoadException;
import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code fullshard doctor}: what this machine offers fullshard, and a self-test on the CPU and, when
 * CUDA is available, on {@code cuda:0}. Exits non-zero when libtorch cannot be loaded or a self-test fails.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report Java, libtorch, threads, CUDA (GPUs, cuBLAS), NCCL and MPI, and run a matmul self-test on the CPU and the first GPU.")
public final class DoctorCommand implements Callable<Integer> {
    private static final List<Path> SYSTEM_LIB_DIRS = List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/lib64"),
            Path.of("/usr/lib"), Path.of("/usr/local/lib"));

    @Override
    public Integer call() {
        Runtime.Version java = Runtime.version();
        System.out.printf("Java:      %s (%s) at %s%n", java, System.getProperty("java.vendor"), System.getProperty("java.home"));
        TorchLibrary.Loaded torch;
        try {
            torch = TorchLibrary.load();
        } catch (TorchLoadException | UnsatisfiedLinkError e) {
            System.out.println("libtorch:  NOT LOADED: " + e.getMessage());
            return 1;
        }
        long abi = TorchStable.aoti_torch_abi_version();
        System.out.printf("libtorch:  %s%n", torch.version());
        System.out.printf("  from     %s (%s)%n", torch.directory(), torch.source().name().toLowerCase());
        System.out.printf("  ABI      %d.%d.%d (0x%016X)%n", abi >>> 56, (abi >>> 48) & 0xFF, (abi >>> 40) & 0xFF, abi);
        System.out.printf("  loaded   %s%n", torch.libraries().stream().map(p -> p.getFileName().toString()).toList());
        for (String note : torch.notes()) System.out.println("  note     " + note);
        System.out.printf("Threads:   %d intra-op (%s)%n", intraOpThreads(), torch.threadEnvironment());
        System.out.println("CPU:       " + (CpuFlags.nativeBf16() ? "bfloat16 in hardware (AVX-512 BF16 or AMX)"
                : "bfloat16 emulated (no AVX-512 BF16 or AMX): on this CPU train with mixed_precision: fp32, 10 to 50 times faster "
                + "than bf16 (docs/benchmarks.md)"));
        CudaReport cuda = CudaReport.probe();
        cuda.print(System.out);
        System.out.println("MPI:       " + findLibrary("libmpich.so.12", "libmpi.so.12")
                .map(p -> "found " + p)
                .orElse("not available: no MPICH (libmpich.so.12 / libmpi.so.12); install it with `apt-get install mpich`"));
        boolean ok = selfTest(Device.CPU);
        if (cuda.unavailable().isEmpty()) ok &= selfTest(Device.cuda(0));
        return ok ? 0 : 1;
    }

    static int intraOpThreads() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
            return TorchStable.torch_get_num_threads(out) == 0 ? out.get(java.lang.foreign.ValueLayout.JAVA_INT, 0) : -1;
        }
    }

    /** A 64×64 float32 matmul through libtorch on {@code device} against a Java double-precision product. */
    private static boolean selfTest(Device device) {
        int n = 64;
        try (TensorScope ignored = TensorScope.open()) {
            Tensor a = Tensor.randn(1, DType.F32, device, n, n), b = Tensor.randn(2, DType.F32, device, n, n);
            float[] x = a.toFloatArray(), y = b.toFloatArray(), z = Matmul.mm(a, b).toFloatArray();
            double maxError = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double expected = 0;
                    for (int k = 0; k < n; k++) expected += (double) x[i * n + k] * y[k * n + j];
                    maxError = Math.max(maxError, Math.abs(expected - z[i * n + j]));
                }
            }
            boolean ok = maxError < 1e-3;
            System.out.printf("Self-test: %dx%d float32 matmul on %s, max |error| vs Java float64 = %.2e: %s%n", n, n, device, maxError,
                    ok ? "ok" : "FAILED");
            return ok;
        } catch (RuntimeException e) {
            System.out.println("Self-test: " + device + " FAILED: " + e.getMessage());
            return false;
        }
    }

    /** The installed file of the first of {@code names}, from the system library folders or ldconfig, without loading it. */
    private static Optional<Path> findLibrary(String... names) {
        for (String name : names) {
            for (Path dir : SYSTEM_LIB_DIRS) {
                Path p = dir.resolve(name);
                if (Files.isRegularFile(p)) return Optional.of(p);
            }
            Optional<Path> viaLdconfig = ldconfigLookup(name);
            if (viaLdconfig.isPresent()) return viaLdconfig;
        }
        return Optional.empty();
    }

    private static Optional<Path> ldconfigLookup(String name) {
        for (String ldconfig : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig")) {
            if (!Files.isExecutable(Path.of(ldconfig))) continue;
            try {
                Process p = new ProcessBuilder(ldconfig, "-p").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                p.waitFor();
                for (String line : out.split("\n")) {
                    String l = line.strip();
                    if (l.startsWith(name + " ") && l.contains("=> ")) return Optional.of(Path.of(l.substring(l.indexOf("=> ") + 3)));
                }
            } catch (IOException e) {
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
        return Optional.empty();
    }
}
