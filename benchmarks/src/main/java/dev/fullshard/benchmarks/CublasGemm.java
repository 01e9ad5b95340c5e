package dev.fullshard.benchmarks;

import dev.fullshard.bindings.Cublas;
import dev.fullshard.bindings.CudaException;
import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.bindings.CudaRuntime;
import dev.fullshard.bindings.CudaUnavailableException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * cuBLAS matrix-product throughput on the current GPU with nothing in between, the ceiling for
 * fullshard's matmuls: C (m×n) = A (m×k)·B (k×n), column-major, A, B and C in the given dtype,
 * float32 accumulation, on a non-blocking stream. Three warm-up GEMMs, then {@code ITERATIONS} timed
 * with CUDA events; prints one line, the mean per GEMM:
 *
 * <pre>cublas_gemm m=8192 n=8192 k=8192 dtype=bf16 ms=1.500 tflops=733.0</pre>
 *
 * with tflops = 2·m·n·k / seconds / 1e12. The inputs are the byte 0x3c repeated (about 0.011 in bf16
 * and float32, 1.06 in fp16): any finite values time the same.
 *
 * <pre>java ... CublasGemm M N K bf16|f16|f32 ITERATIONS</pre>
 *
 * Exits 2 with the reason when the arguments are wrong or CUDA is not available, 1 when a CUDA call fails.
 */
public final class CublasGemm {
    private static final int WARMUP = 3;

    private CublasGemm() {
    }

    public static void main(String[] args) {
        int m, n, k, iterations, type, elementBytes;
        try {
            m = Integer.parseInt(args[0]);
            n = Integer.parseInt(args[1]);
            k = Integer.parseInt(args[2]);
            iterations = Integer.parseInt(args[4]);
            switch (args[3]) {
                case "bf16" -> { type = Cublas.R_16BF; elementBytes = 2; }
                case "f16" -> { type = Cublas.R_16F; elementBytes = 2; }
                case "f32" -> { type = Cublas.R_32F; elementBytes = 4; }
                default -> throw new IllegalArgumentException("dtype " + args[3]);
            }
        } catch (RuntimeException e) {
            System.err.println("usage: CublasGemm M N K bf16|f16|f32 ITERATIONS (" + e.getMessage() + ")");
            System.exit(2);
            return;
        }
        try {
            CudaLibraries.require();
            double ms = meanMillis(m, n, k, type, elementBytes, iterations);
            System.out.printf(Locale.ROOT, "cublas_gemm m=%d n=%d k=%d dtype=%s ms=%.3f tflops=%.1f%n", m, n, k, args[3], ms,
                    2.0 * m * n * k / (ms / 1e3) / 1e12);
        } catch (CudaUnavailableException e) {
            System.err.println("cublas_gemm: " + e.getMessage());
            System.exit(2);
        } catch (CudaException e) {
            System.err.println("cublas_gemm: " + e.getMessage());
            System.exit(1);
        }
    }

    private static double meanMillis(int m, int n, int k, int type, int elementBytes, int iterations) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = deviceBuffer(arena, (long) m * k * elementBytes);
            MemorySegment b = deviceBuffer(arena, (long) k * n * elementBytes);
            MemorySegment c = deviceBuffer(arena, (long) m * n * elementBytes);
            // The memsets ran on the legacy default stream, which the non-blocking stream below does not wait for.
            CudaRuntime.check(CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
            MemorySegment handleOut = arena.allocate(ADDRESS), streamOut = arena.allocate(ADDRESS);
            MemorySegment startOut = arena.allocate(ADDRESS), endOut = arena.allocate(ADDRESS), elapsed = arena.allocate(JAVA_FLOAT);
            Cublas.check(Cublas.cublasCreate_v2(handleOut), "cublasCreate_v2");
            CudaRuntime.check(CudaRuntime.cudaStreamCreateWithFlags(streamOut, CudaRuntime.STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
            CudaRuntime.check(CudaRuntime.cudaEventCreateWithFlags(startOut, 0), "cudaEventCreateWithFlags");
            CudaRuntime.check(CudaRuntime.cudaEventCreateWithFlags(endOut, 0), "cudaEventCreateWithFlags");
            MemorySegment handle = handleOut.get(ADDRESS, 0), stream = streamOut.get(ADDRESS, 0);
            MemorySegment start = startOut.get(ADDRESS, 0), end = endOut.get(ADDRESS, 0);
            // COMPUTE_32F takes alpha and beta as host float32 values, whatever the matrices' dtype
            MemorySegment alpha = arena.allocateFrom(JAVA_FLOAT, 1f), beta = arena.allocateFrom(JAVA_FLOAT, 0f);
            try {
                Cublas.check(Cublas.cublasSetStream_v2(handle, stream), "cublasSetStream_v2");
                for (int i = -WARMUP; i < iterations; i++) {
                    if (i == 0) CudaRuntime.check(CudaRuntime.cudaEventRecord(start, stream), "cudaEventRecord");
                    Cublas.check(Cublas.cublasGemmEx(handle, Cublas.OP_N, Cublas.OP_N, m, n, k, alpha, a, type, m, b, type, k, beta,
                            c, type, m, Cublas.COMPUTE_32F, Cublas.GEMM_DEFAULT), "cublasGemmEx");
                }
                CudaRuntime.check(CudaRuntime.cudaEventRecord(end, stream), "cudaEventRecord");
                CudaRuntime.check(CudaRuntime.cudaEventSynchronize(end), "cudaEventSynchronize");
                CudaRuntime.check(CudaRuntime.cudaEventElapsedTime(elapsed, start, end), "cudaEventElapsedTime");
                return elapsed.get(JAVA_FLOAT, 0) / iterations;
            } finally {
                CudaRuntime.cudaEventDestroy(start);
                CudaRuntime.cudaEventDestroy(end);
                CudaRuntime.cudaStreamDestroy(stream);
                Cublas.cublasDestroy_v2(handle);
                for (MemorySegment p : new MemorySegment[]{a, b, c}) CudaRuntime.cudaFree(p);
            }
        }
    }

    /** {@code bytes} of device memory filled with 0x3c; the caller frees it. */
    private static MemorySegment deviceBuffer(Arena arena, long bytes) {
        MemorySegment out = arena.allocate(ADDRESS);
        CudaRuntime.check(CudaRuntime.cudaMalloc(out, bytes), "cudaMalloc(" + bytes + " bytes)");
        MemorySegment p = out.get(ADDRESS, 0);
        CudaRuntime.check(CudaRuntime.cudaMemset(p, 0x3c, bytes), "cudaMemset");
        return p;
    }
}
