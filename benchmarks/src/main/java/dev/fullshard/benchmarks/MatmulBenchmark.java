package dev.fullshard.benchmarks;

import dev.fullshard.tensor.Matmul;
import dev.fullshard.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;


/**
 * A 1024×1024 float32 {@code aten::mm} on 2 threads, where the kernel dominates: {@code Matmul.mm} +
 * {@code close()} against the same {@code torch_call_dispatcher} call made raw. Both multiply the
 * same values.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=2"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 8, time = 3)
@State(Scope.Thread)
public class MatmulBenchmark {
    private static final int N = 1024;

    private Raw.DispatcherCall raw;
    private Tensor ta;
    private Tensor tb;

    @Setup
    public void setUp() {
        Raw.load();
        float[] x = Raw.gaussian(1, N * N);
        float[] y = Raw.gaussian(2, N * N);
        raw = new Raw.DispatcherCall("aten::mm", "", Raw.tensor(x, N, N), Raw.tensor(y, N, N));
        ta = Tensor.of(x, N, N);
        tb = Tensor.of(y, N, N);
        MemorySegment result = raw.call();
        float[] unwrapped = Raw.read(result, N * N);
        Raw.delete(result);
        float[] wrapped;
        try (Tensor product = Matmul.mm(ta, tb)) {
            wrapped = product.toFloatArray();
        }
        double expected = 0;
        for (int k = 0; k < N; k++) expected += (double) x[k] * y[k * N]; // element (0, 0)
        for (float[] got : new float[][]{unwrapped, wrapped}) {
            if (Math.abs(got[0] - expected) > 1e-3 * N) throw new IllegalStateException("mm[0,0] = " + got[0] + ", expected " + expected);
        }
    }

    @TearDown
    public void tearDown() {
        raw.close();
        ta.close();
        tb.close();
    }

    @Benchmark
    public void rawDispatcherMm() {
        Raw.delete(raw.call());
    }

    @Benchmark
    public void opsMm() {
        Matmul.mm(ta, tb).close();
    }
}
