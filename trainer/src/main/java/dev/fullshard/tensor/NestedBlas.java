package dev.fullshard.tensor;

import dev.fullshard.bindings.OpenBlas;

import java.util.function.Supplier;

/**
 * Runs a libtorch kernel that calls BLAS from inside its own parallel loop with OpenBLAS on one thread.
 *
 * <p>The bundled build's OpenBLAS runs each call on a pool of its own threads, and knows nothing of libtorch's
 * OpenMP threads. The CPU flash-attention kernels split the heads and blocks over the OpenMP threads and
 * call BLAS in each, so every OpenMP thread starts OpenBLAS's pool: threads × threads runnable threads on
 * as many cores, spinning against each other. Measured on 2 cores, 125m, float32, 2 × 256 tokens: the
 * attention backward took 21 s per step instead of 0.3 s with OpenBLAS on one thread inside it. Matrix
 * products called from the top level keep all of OpenBLAS's threads. Other libtorch builds use MKL,
 * which runs single-threaded inside a parallel region by itself; for them this does nothing.
 */
final class NestedBlas {
    private static final boolean OPENBLAS = OpenBlas.isLoaded();

    private NestedBlas() {
    }

    static <T> T singleThreaded(Supplier<T> kernel) {
        if (!OPENBLAS) return kernel.get();
        int threads = OpenBlas.openblas_get_num_threads();
        if (threads == 1) return kernel.get();
        OpenBlas.openblas_set_num_threads(1);
        try {
            return kernel.get();
        } finally {
            OpenBlas.openblas_set_num_threads(threads);
        }
    }
}
