package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.Locale;

/**
 * The matrix-product ceiling of the loaded libtorch on this CPU: GFLOP/s of an n×n by n×n product in float32
 * and in bfloat16, the best of several calls after a warm-up, total and per core. Model throughput is
 * judged against it ({@code benchmarks/run model}).
 *
 * <pre>java ... GemmCeiling [N]</pre>
 */
public final class GemmCeiling {
    private GemmCeiling() {
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        TorchLibrary.Loaded torch = TorchLibrary.load();
        int cores = Runtime.getRuntime().availableProcessors();
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            try (TensorScope ignored = TensorScope.open()) {
                Tensor a = Tensor.randn(1, DType.F32, Device.CPU, n, n).to(dtype), b = Tensor.randn(2, DType.F32, Device.CPU, n, n).to(dtype);
                double best = Double.MAX_VALUE;
                long deadline = System.nanoTime() + 3_000_000_000L;
                for (int i = 0; i < 3 || (i < 50 && System.nanoTime() < deadline); i++) {
                    try (TensorScope call = TensorScope.open()) {
                        long start = System.nanoTime();
                        Matmul.mm(a, b);
                        if (i > 0) best = Math.min(best, (System.nanoTime() - start) / 1e9);
                    }
                }
                double gflops = 2.0 * n * n * n / best / 1e9;
                System.out.printf(Locale.ROOT, "%-8s %d^3 matrix product: %.1f GFLOP/s (%.1f per core, %d cores; %s)%n", dtype, n, gflops,
                        gflops / cores, cores, torch.threadEnvironment());
            }
        }
    }
}
